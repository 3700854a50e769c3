"""The query folder's conventions and the one step that turns Athena's SQL into DuckDB's."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from analytics.queries import (
    DUCKDB_SETTINGS,
    QUERIES_DIR,
    QueryError,
    all_queries,
    athena_to_duckdb,
    load_query,
    parameter_values,
    query,
    shared_ctes,
)
from shoplake import business

QUESTIONS = ("busiest_hours", "offline_channels", "popular_products", "sales_rate", "review_ratings")


def test_every_question_of_the_issue_has_its_query() -> None:
    names = [q.name for q in all_queries()]
    assert all(any(name.endswith(question) for name in names) for question in QUESTIONS)


@pytest.mark.parametrize("name", [q.name for q in all_queries()])
def test_every_query_filters_each_table_on_its_partition_columns(name: str) -> None:
    sql = query(name).sql
    tables = sql.count("FROM clickstream_events") + sum(
        sql.count(f"FROM {t}") for t in ("survey_offline_ads", "sales_fact", "review_fact", "daily_product_stats")
    )
    assert sql.count("WHERE year * 10000 + month * 100 + day BETWEEN ? AND ?") == tables


@pytest.mark.parametrize("name", ["q3_popular_products", "q4_sales_rate", "q5_review_ratings", "q5_low_rated_comments"])
def test_every_query_naming_products_reads_the_product_dimension_of_one_day_up_to_the_last(name: str) -> None:
    # GIVEN a query that names products
    named = query(name)
    # THEN it reads product_dim on one partition: the newest (published) on or before the range's last day, its
    # first parameter
    assert named.sql.count("FROM product_dim") == 2
    assert "FROM product_dim\n  WHERE year * 10000 + month * 100 + day = (" in named.sql
    assert "FROM product_dim\n    WHERE year * 10000 + month * 100 + day <= ?\n" in named.sql
    assert named.parameters[0] == "last_key"


@pytest.mark.parametrize("name", ["q3_popular_products", "q4_sales_rate", "q5_review_ratings", "q5_low_rated_comments"])
def test_the_ctes_naming_products_are_written_once_and_included(name: str) -> None:
    # GIVEN a query file that names products
    text = (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")
    # THEN it includes the shared CTEs rather than spelling them
    assert text.count("{shared.product_dim(?)}") == 1 and text.count("{shared.named_products(") == 1
    assert "FROM product_dim" not in text and "max_by(product_name" not in text and "dim FULL OUTER JOIN" not in text
    # AND the query that runs holds them, filled in
    facts = text.split("{shared.named_products(", 1)[1].split(")", 1)[0]
    assert shared_ctes("product_dim", "?") in query(name).sql
    assert shared_ctes("named_products", facts) in query(name).sql


def test_a_shared_fragment_is_filled_in_with_its_argument_and_loses_its_header(tmp_path: Path) -> None:
    # GIVEN a query naming the products of its own facts CTE
    path = tmp_path / "named.sql"
    path.write_text(
        "-- Named: products\n-- parameters: last_key\n"
        "WITH {shared.product_dim(?)},\nfacts AS (SELECT * FROM sales_fact),\n{shared.named_products( facts )}\n"
        "SELECT * FROM named",
        "utf-8",
    )
    # WHEN it is loaded
    sql = load_query(path).sql
    # THEN the fragments' CTEs stand where they were named, for these facts, without the fragments' headers
    assert "facts_named AS (" in sql and "FROM facts\n" in sql and "JOIN facts_named ON" in sql
    assert "{" not in sql and "argument:" not in sql
    assert sql.startswith("-- Named: products\n-- parameters: last_key\nWITH dim AS (\n")


def test_a_query_including_a_fragment_that_does_not_exist_is_refused_by_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.sql"
    path.write_text("-- Missing: a fragment\n-- parameters: last_key\nWITH {shared.no_such(x)} SELECT ?", "utf-8")
    with pytest.raises(QueryError, match=r"missing\.sql: no shared fragment no_such"):
        load_query(path)


def test_parameters_are_the_days_partition_keys_in_placeholder_order() -> None:
    busiest = query("q1_busiest_hours")
    assert busiest.parameters == ("first_utc_key", "last_key", "first_key", "last_key")
    assert parameter_values(busiest, date(2026, 12, 1), date(2026, 12, 7)) == [20261130, 20261207, 20261201, 20261207]


def test_a_query_whose_placeholders_and_parameters_disagree_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.sql"
    path.write_text("-- Broken: one placeholder, two names\n-- parameters: first_key, last_key\nSELECT ?", "utf-8")
    with pytest.raises(QueryError, match=r"broken\.sql: 1 placeholders but 2 parameters"):
        load_query(path)


def test_question_marks_in_comments_and_strings_are_not_placeholders(tmp_path: Path) -> None:
    path = tmp_path / "fine.sql"
    path.write_text("-- Fine: why? because\n-- parameters: first_key\nSELECT '?', '--' || 'x?' WHERE 1 = ?", "utf-8")
    assert load_query(path).parameters == ("first_key",)


def test_the_translation_renames_only_what_duckdb_spells_differently() -> None:
    sql = "SELECT day_of_week(t) AS day_of_week, 'day_of_week(' AS s -- day_of_week(x)\nFROM x"
    assert athena_to_duckdb(sql) == "SELECT isodow(t) AS day_of_week, 'day_of_week(' AS s -- day_of_week(x)\nFROM x"


def test_translated_functions_mean_the_same_in_duckdb() -> None:
    # GIVEN DuckDB set up as the local runner sets it up (UTC session, integer division as Trino's)
    connection = duckdb.connect()
    for setting, value in DUCKDB_SETTINGS.items():
        connection.execute(f"SET {setting} = '{value}'")
    # WHEN Trino's ISO day of the week and an integer division run through the translation
    sql = athena_to_duckdb(
        "SELECT day_of_week(DATE '2026-11-23'), day_of_week(DATE '2026-11-29'), 7 / 2, "
        "hour(TIMESTAMPTZ '2026-11-22 15:30:00+00' AT TIME ZONE 'Asia/Seoul')"
    )
    # THEN Monday is 1 and Sunday 7, 7 / 2 is 3, and 15:30 UTC is 00:30 in Seoul, as in Athena
    assert connection.execute(sql).fetchone() == (1, 7, 3, 0)


@pytest.mark.parametrize("path", sorted(QUERIES_DIR.glob("*.sql")), ids=lambda path: path.stem)
def test_query_files_name_the_business_facts_rather_than_spell_them(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    literals = re.findall(r"'((?:[^']|'')*)'", "\n".join(line.split("--")[0] for line in text.splitlines()))
    # No event type is spelt out; a zone spelt out is a visitor's own (WHEN 'KR' THEN ... ELSE ...), never the shop's
    assert not set(literals) & set(business.EventType)
    shop_zones = re.findall(r"(?<!THEN event_time )(?<!ELSE event_time )AT TIME ZONE '([^']*)'", text)
    assert set(shop_zones) <= {"{business.TIME_ZONE}"}


def test_a_query_file_gets_the_business_facts_it_names(tmp_path: Path) -> None:
    # GIVEN a query naming the business time zone, an event type and the unknown category
    path = tmp_path / "facts.sql"
    path.write_text(
        "-- Facts: named, not spelt\n-- parameters: first_key\n"
        "SELECT now() AT TIME ZONE '{business.TIME_ZONE}', '{business.EventType.ADD_TO_CART}', "
        "'{business.UNKNOWN_CATEGORY}' WHERE 1 = ?",
        "utf-8",
    )
    # WHEN it is loaded THEN its SQL holds their values, as Athena and DuckDB need them
    assert load_query(path).sql.endswith(
        f"SELECT now() AT TIME ZONE '{business.TIME_ZONE.key}', 'add_to_cart', 'unknown' WHERE 1 = ?"
    )


@pytest.mark.parametrize(
    ("named", "message"),
    [
        ("{business.NO_SUCH_FACT}", "business.NO_SUCH_FACT is not a business fact"),
        ("{business.CATEGORIES}", "business.CATEGORIES is not text a query can hold"),
        ("{business._PRIVATE}", "business._PRIVATE is not a business fact"),
    ],
)
def test_a_query_naming_what_is_no_business_text_is_refused_by_file(tmp_path: Path, named: str, message: str) -> None:
    path = tmp_path / "wrong.sql"
    path.write_text(f"-- Wrong: no such fact\n-- parameters: first_key\nSELECT '{named}' WHERE 1 = ?", "utf-8")
    with pytest.raises(QueryError, match=rf"wrong\.sql: {re.escape(message)}"):
        load_query(path)
