"""The QuickSight data sets' SQL: the facts, each product named as the report names it.

The dashboard (analytics/quicksight.yaml) reads `sales_fact` and `review_fact` as SPICE copies,
refreshed every morning after the nightly ETL. Each copy is custom SQL on Athena that names a
product as the newest published product dimension lists it (the newest day's `product_dim` on or before
Seoul's day at the refresh: the publish step registers a day's partition only once the day is whole), else as its
latest fact naming it, else by its id. The CTEs doing so are the report's own
(analytics/queries/shared/, `analytics.queries.shared_ctes`), so the report and the dashboard
cannot name products differently.

QuickSight's template takes the SQL inline: `python -m analytics.dashboard` prints the data sets'
`CustomSql` blocks to paste into analytics/quicksight.yaml, and a test holds the template to them.
The same SQL, without the database qualifier, runs on DuckDB locally (`data_set_query`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analytics.queries import Query, fill_business_facts, shared_ctes
from shoplake import lake_layout

# The day key of Seoul's day at the refresh: no later day is ever published, so the dimension on or before it
# (analytics/queries/shared/product_dim.sql) is the newest published one. Athena's session zone is UTC, and
# DuckDB's here too (analytics.queries.DUCKDB_SETTINGS), so the day is taken on Seoul's clock explicitly.
_SEOUL_NOW = "current_timestamp AT TIME ZONE '{business.TIME_ZONE}'"
TODAY_KEY = f"year({_SEOUL_NOW}) * 10000 + month({_SEOUL_NOW}) * 100 + day({_SEOUL_NOW})"

# In the template, the Glue database is the stack's parameter, which !Sub fills in.
TEMPLATE_DATABASE = "${DatabaseName}"


@dataclass(frozen=True)
class DataSet:
    """One SPICE data set: its physical table id in the template, the facts table it reads, its columns."""

    key: str
    table: str
    # (name, QuickSight type): the facts table's columns, product_name and category as named here.
    columns: tuple[tuple[str, str], ...]


DATA_SETS = (
    DataSet(
        "sales",
        "sales_fact",
        (
            ("business_date", "DATETIME"),
            ("age_group", "STRING"),
            ("gender", "STRING"),
            ("country", "STRING"),
            ("is_new_customer", "BOOLEAN"),
            ("product_id", "INTEGER"),
            ("product_name", "STRING"),  # a marketer reads "Linen shirt", not product 3
            ("category", "STRING"),
            ("quantity", "INTEGER"),
            ("revenue", "DECIMAL"),
        ),
    ),
    DataSet(
        "reviews",
        "review_fact",
        (
            ("business_date", "DATETIME"),
            ("product_id", "INTEGER"),
            ("product_name", "STRING"),
            ("category", "STRING"),
            ("rating", "INTEGER"),
            ("body", "STRING"),
        ),
    ),
)

# The columns the shared CTEs need of the facts (named_products.sql's argument).
_NAMING_COLUMNS = ("business_date", "product_id", "product_name", "category")


def _output(data_set: DataSet, column: str) -> str:
    facts = data_set.key
    if column == "product_id":  # text for the join with the dimension; the data set keeps the table's type
        return f"CAST({facts}.product_id AS bigint) AS product_id"
    if column == "product_name":  # its id only when nothing names it, as in the report
        return f"coalesce(named.product_name, {facts}.product_id) AS product_name"
    if column == "category":
        return f"coalesce(named.category, {facts}.category) AS category"
    return f"{facts}.{column}"


def _qualified(sql: str, database: str) -> str:
    """The SQL with each lake table it reads named in `database` (QuickSight's Athena source has no default)."""
    tables = "|".join(lake_layout.CURATED_TABLES)
    return re.sub(rf"\b(FROM|JOIN)\s+({tables})\b", rf'\1 "{database}".\2', sql)


def data_set_sql(data_set: DataSet, database: str | None = None) -> str:
    """The data set's Athena (Trino) SQL, each lake table named in `database` if given (the template's
    `${DatabaseName}`); without it, the SQL DuckDB runs locally on the same tables.

    One row per row of the facts table, with the data set's columns in order; no parameters.
    """
    facts = data_set.key
    names = [name for name, _ in data_set.columns]
    missing = sorted(set(_NAMING_COLUMNS) - set(names))
    if missing:
        raise ValueError(f"data set {facts}: names products from {missing}, which it does not read")
    read = ",\n    ".join(
        "CAST(product_id AS varchar) AS product_id" if name == "product_id" else name for name in names
    )
    selected = ",\n  ".join(_output(data_set, name) for name in names)
    sql = (
        f"WITH {shared_ctes('product_dim', TODAY_KEY)},\n"
        f"{facts} AS (\n  SELECT\n    {read}\n  FROM {data_set.table}\n),\n"
        f"{shared_ctes('named_products', facts)}\n"
        f"SELECT\n  {selected}\n"
        f"FROM {facts} LEFT JOIN named ON {facts}.product_id = named.product_id\n"
    )
    sql = fill_business_facts(sql, f"data set {facts}")
    return sql if database is None else _qualified(sql, database)


def data_set_query(data_set: DataSet) -> Query:
    """The data set's SQL as a Query with no parameters, for `analytics.lake.run_query` on a whole lake."""
    return Query(name=f"dashboard_{data_set.key}", sql=data_set_sql(data_set), parameters=())


def custom_sql_yaml(data_set: DataSet) -> str:
    """The data set's PhysicalTableMap entry as analytics/quicksight.yaml declares it (a test holds the two)."""
    sql = "".join(
        f"                {line}\n" if line else "\n" for line in data_set_sql(data_set, TEMPLATE_DATABASE).splitlines()
    )
    columns = "".join(f"              - {{Name: {name}, Type: {kind}}}\n" for name, kind in data_set.columns)
    return (
        f"        {data_set.key}:\n"
        "          CustomSql:\n"
        "            DataSourceArn: !GetAtt AthenaDataSource.Arn\n"
        f"            Name: {data_set.table} with products named\n"
        "            SqlQuery: !Sub |\n"
        f"{sql}"
        "            Columns:\n"
        f"{columns}"
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m analytics.dashboard`: the data sets' CustomSql, to paste into quicksight.yaml. Returns 0."""
    import argparse  # noqa: PLC0415 - only the command needs it
    import sys  # noqa: PLC0415

    argparse.ArgumentParser(
        prog="python -m analytics.dashboard",
        description="Print each QuickSight data set's PhysicalTableMap entry as analytics/quicksight.yaml declares "
        "it (make unit fails until the template's copy matches the SQL made from analytics/queries/shared/).",
    ).parse_args(argv)
    sys.stdout.write("\n".join(custom_sql_yaml(each) for each in DATA_SETS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
