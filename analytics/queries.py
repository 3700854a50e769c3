"""The marketing questions: one Athena (Trino) SQL file each under queries/, and the one step that runs them on DuckDB.

Each file's header declares its parameters in the order of its `?` placeholders, for example
`-- parameters: first_key, last_key`. Athena takes them as ExecutionParameters; locally
`parameter_values` computes them from a range of Seoul days.

A business fact is named, never spelt, inside a string literal: `'{business.TIME_ZONE}'`,
`'{business.EventType.PURCHASE}'`, `'{business.UNKNOWN_CATEGORY}'`. Loading a file fills each in
from `shoplake.business`, so `Query.sql` is the SQL that runs: on DuckDB here, and in Athena as
template.yaml's named query (which a test holds to it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from shoplake import business

QUERIES_DIR = Path(__file__).with_name("queries")
SHARED_DIR = QUERIES_DIR / "shared"

# What each parameter name means, given the first and last Seoul day of the range.
# `*_key` values are partition keys (year * 10000 + month * 100 + day), which Athena's partition
# projection prunes on; the clickstream is partitioned by UTC day, so a Seoul day starts on the
# UTC day before it (`first_utc_key`).
PARAMETERS = ("first_key", "last_key", "first_utc_key")

_HEADER = re.compile(r"^-- parameters: (?P<names>[a-z_, ]+)$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\?")
_SHARED = re.compile(r"\{shared\.(?P<name>[a-z_]+)\((?P<argument>[^(){}]*)\)\}")
_ARGUMENT = re.compile(r"^-- argument: (?P<name>[a-z_]+)\b", re.MULTILINE)
_BUSINESS_FACT = re.compile(r"\{business\.(?P<name>[A-Za-z_][A-Za-z0-9_.]*)\}")


class QueryError(ValueError):
    """A query file breaks the folder's conventions; the message names the file."""


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    parameters: tuple[str, ...]

    @property
    def title(self) -> str:
        """The first line of the header comment, up to its colon: 'Busiest hours and days'."""
        return self.sql.removeprefix("-- ").split(":", 1)[0]

    @property
    def description(self) -> str:
        """The header comment as one paragraph (Athena's named-query description holds at most 1024 characters)."""
        lines = [line.removeprefix("--").strip() for line in self.sql.splitlines() if line.startswith("--")]
        return " ".join(line for line in lines if not line.startswith("parameters:"))[:1024]


def day_key(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def parameter_values(query: Query, first_day: date, last_day: date) -> list[int]:
    """The values of the query's `?` placeholders, in order, for the Seoul days first_day..last_day."""
    values = {
        "first_key": day_key(first_day),
        "last_key": day_key(last_day),
        "first_utc_key": day_key(first_day - timedelta(days=1)),
    }
    return [values[name] for name in query.parameters]


def _business_fact(source: str, name: str) -> str:
    """The text of `shoplake.business.<name>` (a zone's IANA key, an enumeration's value), quoted for a SQL literal."""
    fact: object = business
    for part in name.split("."):
        if part.startswith("_") or not hasattr(fact, part):
            raise QueryError(f"{source}: business.{name} is not a business fact")
        fact = getattr(fact, part)
    if isinstance(fact, ZoneInfo):
        text = fact.key
    elif isinstance(fact, Enum):
        text = str(fact.value)
    elif isinstance(fact, str):
        text = fact
    else:
        raise QueryError(f"{source}: business.{name} is not text a query can hold")
    return text.replace("'", "''")


def shared_ctes(name: str, argument: str) -> str:
    """The CTEs of queries/shared/<name>.sql, its argument filled in, without its header: text for a WITH list.

    `argument` is SQL text, put verbatim wherever the fragment names its declared argument. Raises
    QueryError when there is no such fragment or it declares no argument.
    """
    path = SHARED_DIR / f"{name}.sql"
    if not path.is_file():
        raise QueryError(f"no shared fragment {name}: {SHARED_DIR} has no {path.name}")
    text = path.read_text(encoding="utf-8")
    declared = _ARGUMENT.search(text)
    if declared is None:
        raise QueryError(f"{path.name}: its header declares no '-- argument:'")
    lines = text.splitlines()
    header = next((n for n, line in enumerate(lines) if not line.startswith("--")), len(lines))
    return "\n".join(lines[header:]).strip().replace("{" + declared["name"] + "}", argument)


def _include_shared(path: Path, sql: str) -> str:
    """The query text with each `{shared.<name>(<argument>)}` replaced by that fragment's CTEs."""

    def include(found: re.Match[str]) -> str:
        try:
            return shared_ctes(found["name"], found["argument"].strip())
        except QueryError as error:
            raise QueryError(f"{path.name}: {error}") from None

    return _SHARED.sub(include, sql)


def fill_business_facts(sql: str, source: str) -> str:
    """The SQL with each `{business.<name>}` replaced by that fact's text; QueryError, naming `source`, for
    a name that is no business fact or no text."""
    return _BUSINESS_FACT.sub(lambda fact: _business_fact(source, fact["name"]), sql)


def load_query(path: Path) -> Query:
    sql = fill_business_facts(_include_shared(path, path.read_text(encoding="utf-8")), path.name)
    header = _HEADER.search(sql)
    if not sql.startswith("-- ") or header is None:
        raise QueryError(f"{path.name}: starts with a comment saying what it answers, and a '-- parameters:' line")
    names = tuple(name.strip() for name in header["names"].split(","))
    unknown = sorted(set(names) - set(PARAMETERS))
    if unknown:
        raise QueryError(f"{path.name}: unknown parameters {unknown}; known are {list(PARAMETERS)}")
    placeholders = len(_PLACEHOLDER.findall(_code(sql)))
    if placeholders != len(names):
        raise QueryError(f"{path.name}: {placeholders} placeholders but {len(names)} parameters declared")
    return Query(name=path.stem, sql=sql, parameters=names)


@cache
def all_queries(directory: Path = QUERIES_DIR) -> tuple[Query, ...]:
    return tuple(load_query(path) for path in sorted(directory.glob("*.sql")))


def query(name: str) -> Query:
    for each in all_queries():
        if each.name == name:
            return each
    raise KeyError(name)


# Splits SQL into code (even pieces) and string literals or comments (odd pieces), in one pass,
# so that '--' inside a string and a quote inside a comment are both read right.
_LITERAL_OR_COMMENT = re.compile(r"('(?:[^']|'')*'|--[^\n]*)")


def _code(sql: str) -> str:
    """The SQL without its comments and string literals, where a '?' is a placeholder."""
    return " ".join(_LITERAL_OR_COMMENT.split(sql)[::2])


# ---------------------------------------------------------------- Athena -> DuckDB
#
# The files are written in the part of Trino's SQL that DuckDB reads the same way, with two
# exceptions, handled here and nowhere else:
# 1. day_of_week(x): Trino's ISO day of the week (Monday 1 .. Sunday 7) is DuckDB's isodow(x);
#    DuckDB's own dayofweek counts from Sunday 0.
# 2. a / b on integers: Trino divides integers to an integer, DuckDB to a double unless
#    `integer_division` is set (DUCKDB_SETTINGS). The queries cast before dividing anyway.
# Both read the lake's UTC timestamps the same way: Athena's session zone is UTC, and so is
# DuckDB's here (DUCKDB_SETTINGS), so `x AT TIME ZONE 'Asia/Seoul'` is Korea's wall clock in both.
_FUNCTION_RENAMES = {"day_of_week": "isodow"}
DUCKDB_SETTINGS = {"TimeZone": "UTC", "integer_division": "true"}


def athena_to_duckdb(sql: str) -> str:
    """The same query in DuckDB's dialect: function renames outside comments and string literals."""
    pieces = _LITERAL_OR_COMMENT.split(sql)
    for index in range(0, len(pieces), 2):
        for athena, duckdb in _FUNCTION_RENAMES.items():
            pieces[index] = re.sub(rf"\b{athena}\s*\(", f"{duckdb}(", pieces[index], flags=re.IGNORECASE)
    return "".join(pieces)


def logical_id(query: Query) -> str:
    """q1_busiest_hours -> BusiestHoursQuery, the named query's logical id in template.yaml."""
    words = query.name.split("_")[1:]
    return "".join(word.capitalize() for word in words) + "Query"


def named_query_yaml(query: Query) -> str:
    """The query as template.yaml declares it: its SQL copied verbatim (a test holds the two together)."""
    summary = query.description.split(". ", 1)[0].replace('"', "'") + "."
    sql = "".join(f"        {line}\n" if line else "\n" for line in query.sql.splitlines())
    return (
        f"  {logical_id(query)}:\n"
        "    Type: AWS::Athena::NamedQuery\n"
        "    Properties:\n"
        f"      Name: {query.name}\n"
        f'      Description: "{summary}"\n'
        "      Database: !Ref LakeDatabase\n"
        "      WorkGroup: !Ref AnalyticsWorkGroup\n"
        "      QueryString: |\n"
        f"{sql}"
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m analytics.queries`: the named queries, to paste into template.yaml. Returns 0."""
    import argparse  # noqa: PLC0415 - only the command needs it
    import sys  # noqa: PLC0415

    argparse.ArgumentParser(
        prog="python -m analytics.queries",
        description="Print every query of analytics/queries/ as template.yaml's AWS::Athena::NamedQuery "
        "(make test fails until the template's copy matches its file).",
    ).parse_args(argv)
    sys.stdout.write("\n".join(named_query_yaml(each) for each in all_queries()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
