"""The night's data-quality rulesets: the deployed structural rules, plus the rules that name business facts.

template.yaml deploys each curated table's structural rules (completeness, uniqueness, ranges) as a
Glue Data Quality ruleset. A rule that lists a business fact, such as the categories a sale may
carry, cannot live there: it would be a copy of `shoplake.business` that a new category breaks, and
the night would fail. So it is composed here, from `shoplake.business` as it is when the night is
checked, and added to the deployed text by `night_ruleset`, which both evaluators use: Glue Data
Quality in AWS (`shoplake_etl.glue_services`) and `shoplake.quality.dqdl` in the tests and the local
stack (`shoplake_etl.steps.run_quality`). Standard library only, like `shoplake.business`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from shoplake import business

# A DQDL string literal holds no quote or backslash here: a category is a plain word.
_PLAIN = re.compile(r"^[^\"\\]+$")


def category_rule() -> str:
    """`ColumnValues "category" in ["tops", ..., "unknown"]`: `business.CATEGORIES` and `UNKNOWN_CATEGORY`.

    Read at each call, so the rule is the business's categories when the night is checked. Raises
    ValueError for a category that a DQDL string cannot hold as it is (a `"` or a backslash).
    """
    values = (*business.CATEGORIES, business.UNKNOWN_CATEGORY)
    for value in values:
        if not _PLAIN.match(value):
            raise ValueError(f"category {value!r}: a DQDL string cannot hold it as it is")
    listed = ", ".join(f'"{value}"' for value in values)
    return f'ColumnValues "category" in [{listed}]'


# Curated table -> the rules composed from business facts that its deployed ruleset leaves out.
BUSINESS_RULES: dict[str, tuple[Callable[[], str], ...]] = {
    "sales_fact": (category_rule,),
}


def night_ruleset(table: str, deployed: str) -> str:
    """The DQDL ruleset the night evaluates on `table`: `deployed` (template.yaml's `Rules = [...]`)
    with the table's `BUSINESS_RULES` appended, composed now. Unchanged for a table without any.

    Raises ValueError if `deployed` is not a `Rules = [ ... ]` ruleset.
    """
    composed = [rule() for rule in BUSINESS_RULES.get(table, ())]
    if not composed:
        return deployed
    body = deployed.rstrip()
    if not (body.lstrip().startswith("Rules") and body.endswith("]")):
        raise ValueError(f"{table}: the deployed ruleset is not `Rules = [ ... ]`")
    head = body[:-1].rstrip()
    separator = "" if head.endswith("[") else ","
    return head + separator + ",".join(f"\n  {rule}" for rule in composed) + "\n]"
