"""The curated tables' DQDL rulesets from template.yaml: good data passes, each kind of breakage fails by name."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from local_stack.template import load_template
from shoplake.quality.dqdl import evaluate, parse
from shoplake.surveys.forms import all_forms
from shoplake_etl.clean import STANDARD_CATEGORIES
from shoplake_etl.curate import daily_product_stats, sales_fact
from tests.unit.test_etl_curate import _frames, day_two_reviews

RESOURCES = load_template()["Resources"]


def _ruleset(logical_id: str) -> str:
    return str(RESOURCES[logical_id]["Properties"]["Ruleset"])


def _arrow(frame: Any) -> pa.Table:
    # Through Python rows: Spark 3.5's toPandas still imports distutils, gone in Python 3.12.
    return pa.Table.from_pylist([row.asDict() for row in frame.collect()])


@pytest.fixture(scope="module")
def curated(spark: Any) -> dict[str, pa.Table]:
    purchases, products, customers = _frames(spark)
    sales = sales_fact(purchases, products, customers)
    reviews = day_two_reviews(spark, products, customers)
    return {
        "SalesFactRuleset": _arrow(sales),
        "ReviewFactRuleset": _arrow(reviews),
        "DailyProductStatsRuleset": _arrow(daily_product_stats(sales, reviews)),
    }


@pytest.mark.parametrize("ruleset", ["SalesFactRuleset", "ReviewFactRuleset", "DailyProductStatsRuleset"])
def test_good_curated_data_passes_every_rule(curated: dict[str, pa.Table], ruleset: str) -> None:
    evaluation = evaluate(curated[ruleset], _ruleset(ruleset))
    assert evaluation.failed == ()


def _set(table: pa.Table, column: str, row: int, value: object) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    return table.set_column(table.column_names.index(column), column, pa.array(values, type=table.column(column).type))


BREAKAGES = [
    ("SalesFactRuleset", lambda t: t.slice(0, 0), "RowCount > 0"),
    ("SalesFactRuleset", lambda t: _set(t, "purchase_id", 1, t.column("purchase_id")[0].as_py()),
     'IsUnique "purchase_id"'),
    ("SalesFactRuleset", lambda t: _set(t, "customer_key", 0, None), 'IsComplete "customer_key"'),
    ("SalesFactRuleset", lambda t: _set(t, "quantity", 0, 0), 'ColumnValues "quantity" >= 1'),
    ("SalesFactRuleset", lambda t: _set(t, "revenue", 0, Decimal("-1.00")), 'ColumnValues "revenue" >= 0'),
    ("SalesFactRuleset", lambda t: _set(t, "category", 0, "scarves"), 'ColumnValues "category" in'),
    ("ReviewFactRuleset", lambda t: _set(t, "rating", 0, 6), 'ColumnValues "rating" <= 5'),
    ("ReviewFactRuleset", lambda t: _set(t, "review_id", 1, t.column("review_id")[0].as_py()), 'IsUnique "review_id"'),
    ("DailyProductStatsRuleset", lambda t: _set(t, "units", 0, -2), 'ColumnValues "units" >= 0'),
    ("DailyProductStatsRuleset", lambda t: _set(t, "business_date", 0, None), 'IsComplete "business_date"'),
]  # fmt: skip


@pytest.mark.parametrize(("ruleset", "breakage", "rule"), BREAKAGES)
def test_each_breakage_fails_the_rule_that_guards_it(
    curated: dict[str, pa.Table], ruleset: str, breakage: Any, rule: str
) -> None:
    failed = [r.rule for r in evaluate(breakage(curated[ruleset]), _ruleset(ruleset)).failed]
    assert len(failed) == 1 and failed[0].startswith(rule), failed


def test_categories_are_one_list_for_shop_surveys_and_rules() -> None:
    (rule,) = [r for r in parse(_ruleset("SalesFactRuleset")) if r.columns == ("category",)]
    assert tuple(re.findall(r'"([^"]*)"', rule.expression)) == (*STANDARD_CATEGORIES, "unknown")
    survey = next(f for f in all_forms() if f.form == "offline_ads")
    assert survey.column("preferred_categories").allowed == STANDARD_CATEGORIES
