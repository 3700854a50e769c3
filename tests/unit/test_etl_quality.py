"""The curated tables' DQDL rulesets, as the night evaluates them: template.yaml's structural rules and the
rules composed from shoplake.business. Good data passes, each kind of breakage fails by name."""

from __future__ import annotations

import re
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import boto3
import pyarrow as pa
import pytest

from local_stack.template import load_template
from shoplake import business
from shoplake.quality.dqdl import evaluate, parse
from shoplake_etl import glue_services
from shoplake_etl.clickstream_hourly import hourly_traffic
from shoplake_etl.curate import daily_product_stats, sales_fact
from shoplake_etl.rulesets import category_rule, night_ruleset
from tests.unit.test_etl_curate import EVENT_SCHEMA, _frames, day_two_reviews

RESOURCES = load_template()["Resources"]
TABLES = {
    "SalesFactRuleset": "sales_fact",
    "ReviewFactRuleset": "review_fact",
    "DailyProductStatsRuleset": "daily_product_stats",
    "ClickstreamHourlyRuleset": "clickstream_hourly",
}


def _deployed(logical_id: str) -> str:
    return str(RESOURCES[logical_id]["Properties"]["Ruleset"])


def _ruleset(logical_id: str) -> str:
    """The ruleset the night evaluates: the deployed one with the rules composed from the business facts."""
    return night_ruleset(TABLES[logical_id], _deployed(logical_id))


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
        "ClickstreamHourlyRuleset": _arrow(hourly_traffic(_events(spark))),
    }


def _events(spark: Any) -> Any:
    """Two hours of the clickstream: a signed-in user, an anonymous session that only searched, a crawler."""
    h5, h6 = datetime(2026, 11, 24, 5, 10, tzinfo=UTC), datetime(2026, 11, 24, 6, 1, tzinfo=UTC)
    rows = [("e1", "s1", "u1", "page_view", h5, False), ("e2", "s2", None, "search", h6, False),
            ("e3", "bot", None, "page_view", h5, True)]  # fmt: skip
    return spark.createDataFrame(rows, EVENT_SCHEMA)


@pytest.mark.parametrize("ruleset", list(TABLES))
def test_good_curated_data_passes_every_rule(curated: dict[str, pa.Table], ruleset: str) -> None:
    evaluation = evaluate(curated[ruleset], _ruleset(ruleset))
    assert evaluation.failed == ()


def _set(table: pa.Table, column: str, row: int, value: object) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    return table.set_column(table.column_names.index(column), column, pa.array(values, type=table.column(column).type))


def _hours(table: pa.Table, count: int) -> pa.Table:
    """`count` distinct hours, each the first row's traffic: more hours than a day has, past 24."""
    first = table.slice(0, 1).to_pylist()[0]
    rows = [first | {"hour": first["hour"] + timedelta(hours=i)} for i in range(count)]
    return pa.Table.from_pylist(rows, schema=table.schema)


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
    ("ClickstreamHourlyRuleset", lambda t: _hours(t, 25), "RowCount <= 24"),
    ("ClickstreamHourlyRuleset", lambda t: _set(t, "hour", 1, t.column("hour")[0].as_py()), 'IsUnique "hour"'),
    ("ClickstreamHourlyRuleset", lambda t: _set(t, "visitors", 0, 0), 'ColumnValues "visitors" >= 1'),
    ("ClickstreamHourlyRuleset", lambda t: _set(t, "sessions", 1, None), 'ColumnValues "sessions" >= 1'),
    ("ClickstreamHourlyRuleset", lambda t: _set(t, "page_views", 0, -1), 'ColumnValues "page_views" >= 0'),
]  # fmt: skip


@pytest.mark.parametrize(("ruleset", "breakage", "rule"), BREAKAGES)
def test_each_breakage_fails_the_rule_that_guards_it(
    curated: dict[str, pa.Table], ruleset: str, breakage: Any, rule: str
) -> None:
    failed = [r.rule for r in evaluate(breakage(curated[ruleset]), _ruleset(ruleset)).failed]
    assert len(failed) == 1 and failed[0].startswith(rule), failed


BUSINESS_VALUES = {*business.CATEGORIES, *business.OrderStatus, *business.EventType}


@pytest.mark.parametrize(
    "logical_id", [k for k, v in RESOURCES.items() if v["Type"] == "AWS::Glue::DataQualityRuleset"]
)
def test_no_deployed_ruleset_lists_a_business_fact(logical_id: str) -> None:
    # A list of categories, statuses or event types in template.yaml would be a copy of shoplake.business
    # that a new value fails: such rules are composed when the night is checked (shoplake_etl.rulesets).
    for rule in parse(_deployed(logical_id)):
        assert not set(rule.columns) & {"category", "status", "event_type"}, rule.text
        assert not set(re.findall(r'"([^"]*)"', rule.expression)) & BUSINESS_VALUES, rule.text


def _category_values(ruleset: str) -> tuple[str, ...]:
    (rule,) = [r for r in parse(ruleset) if r.columns == ("category",)]
    return tuple(re.findall(r'"([^"]*)"', rule.expression))


def test_a_day_without_clickstream_passes_the_hourly_ruleset(curated: dict[str, pa.Table]) -> None:
    # GIVEN a day Firehose wrote nothing for: the step stages an empty table (hours without people have no row)
    empty = curated["ClickstreamHourlyRuleset"].slice(0, 0)
    # WHEN its ruleset is evaluated, THEN every rule passes: a quiet day is no broken day
    assert evaluate(empty, _ruleset("ClickstreamHourlyRuleset")).failed == ()


def test_the_evaluated_sales_ruleset_holds_the_business_categories_and_unknown() -> None:
    ruleset = _ruleset("SalesFactRuleset")
    assert _category_values(ruleset) == (*business.CATEGORIES, business.UNKNOWN_CATEGORY)
    assert [r.text for r in parse(ruleset)][:-1] == [r.text for r in parse(_deployed("SalesFactRuleset"))]
    assert night_ruleset("review_fact", _deployed("ReviewFactRuleset")) == _deployed("ReviewFactRuleset")


def test_a_category_added_to_the_business_passes_the_evaluated_rule(
    curated: dict[str, pa.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a day's sales with a product of a category the shop did not have
    sales = _set(curated["SalesFactRuleset"], "category", 0, "swimwear")
    assert [r.rule for r in evaluate(sales, _ruleset("SalesFactRuleset")).failed] == [category_rule()]
    # WHEN the category is added to the business's, and only there
    monkeypatch.setattr(business, "CATEGORIES", (*business.CATEGORIES, "swimwear"))
    # THEN the ruleset the night evaluates lets it through, and still stops a category nobody added
    assert evaluate(sales, _ruleset("SalesFactRuleset")).failed == ()
    assert len(evaluate(_set(sales, "category", 1, "scarves"), _ruleset("SalesFactRuleset")).failed) == 1


def test_a_category_a_dqdl_string_cannot_hold_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(business, "CATEGORIES", (*business.CATEGORIES, 'say "hi"'))
    with pytest.raises(ValueError, match=r"category 'say \"hi\"'"):
        category_rule()


def test_glue_data_quality_evaluates_the_same_composed_ruleset(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN Glue's runtime and its catalog of deployed rulesets, as far as the quality step meets them
    evaluated: dict[str, str] = {}

    class EvaluateDataQuality:
        def process_rows(self, frame: Any, ruleset: str, publishing_options: dict[str, Any]) -> dict[str, Any]:
            evaluated[frame] = ruleset
            rows = [{"Rule": r.text, "Outcome": "Passed"} for r in parse(ruleset)]
            return {"ruleOutcomes": SimpleNamespace(toDF=lambda: SimpleNamespace(collect=lambda: rows))}

    dynamic_frame = SimpleNamespace(fromDF=lambda frame, context, table: table)
    monkeypatch.setitem(sys.modules, "awsglue.dynamicframe", SimpleNamespace(DynamicFrame=dynamic_frame))
    monkeypatch.setitem(sys.modules, "awsgluedq.transforms", SimpleNamespace(EvaluateDataQuality=EvaluateDataQuality))
    deployed = {f"shoplake-dev-{table}": _deployed(logical) for logical, table in TABLES.items()}
    glue = SimpleNamespace(get_data_quality_ruleset=lambda Name: {"Ruleset": deployed[Name]})  # noqa: N803
    monkeypatch.setattr(boto3, "client", lambda service: glue)
    spark = SimpleNamespace(read=SimpleNamespace(parquet=lambda path: path))
    # WHEN the quality step evaluates the night's rulesets in Glue
    names = {table: f"shoplake-dev-{table}" for table in TABLES.values()}
    passed = glue_services._evaluate_with_glue_data_quality(
        spark, None, "s3://lake/", date(2026, 11, 24), names, "night-1"
    )
    # THEN Glue Data Quality was given the very rulesets the local evaluation uses
    assert evaluated == {table: _ruleset(logical) for logical, table in TABLES.items()}
    assert passed["sales_fact"] == len(parse(_ruleset("SalesFactRuleset")))
