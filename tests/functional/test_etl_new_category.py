"""A category is added in one place, shoplake.business, and flows through a night into the report.

The night runs as the local stack runs it: each step through `shoplake_etl.night.run_step`, on the
session's local SparkSession, with the template's rulesets evaluated locally. Only the business's
categories change; the template, the ETL and the queries are left as they are.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pytest

from analytics.lake import Lake
from analytics.report import collect, render
from local_stack.template import load_template
from shoplake import business, lake_layout
from shoplake_etl.catalog import MemoryCatalog
from shoplake_etl.night import STEPS, NightServices, ShopDatabase, run_step
from shoplake_etl.steps import run_quality
from shoplake_etl.tables import ETL_DATABASE_ROLE

RUN_DATE = date(2026, 11, 23)  # in Seoul: 2026-11-22T15:00Z to 2026-11-23T15:00Z
RESOURCES = load_template()["Resources"]


def _sell(database: Any, category: str) -> None:
    """Jane's shirt is paid for; a product of `category` is listed and she buys two on the business day."""
    database.execute("UPDATE purchase SET status = 'paid', paid_at = ordered_at")
    (jane,) = database.execute("SELECT seller_id FROM product").fetchone()  # she sells the shirt, and buys
    product = database.execute(
        "INSERT INTO product (seller_id, name, category, price) VALUES (%s, 'Sea suit', %s, 45) RETURNING product_id",
        (jane, category),
    ).fetchone()[0]
    database.execute(
        "INSERT INTO purchase (order_id, customer_id, product_id, quantity, unit_price, status, ordered_at, paid_at,"
        " updated_at) VALUES (%s, %s, %s, 2, 45, 'paid', %s, %s, %s)",
        (uuid.uuid4(), jane, product, *["2026-11-23T11:00Z"] * 3),
    )


def _night(spark: Any, jdbc: str, lake: Path) -> dict[str, Any]:
    """Every step of the night for RUN_DATE, in order, as the state machine starts them; each step's result."""
    root = lake.as_uri() + "/"
    quality_job = RESOURCES["EtlQualityJob"]["Properties"]["DefaultArguments"]
    ruleset_names = re.sub(r"\$\{(\w+)\}", r"\1", quality_job["--rulesets"]["Fn::Sub"])  # logical ids as names
    catalog = MemoryCatalog()

    def evaluate(names: dict[str, str], run_id: str) -> dict[str, int]:
        texts = {table: str(RESOURCES[name]["Properties"]["Ruleset"]) for table, name in names.items()}
        return run_quality(spark, root, RUN_DATE, texts, run_id=run_id)

    services = NightServices(
        database=lambda: ShopDatabase(jdbc, {"user": ETL_DATABASE_ROLE, "driver": "org.postgresql.Driver"}, "pepper"),
        evaluate_rulesets=evaluate,
        catalog=lambda: catalog,
    )
    arguments = {"rulesets": ruleset_names, "run_id": "night-1"}
    results: dict[str, Any] = {step: run_step(spark, step, RUN_DATE, root, arguments, services) for step in STEPS}
    return results | {"published": sorted(catalog.partitions)}


def _category_results(lake: Path) -> tuple[dict[str, list[dict[str, Any]]], str]:
    answers = collect(Lake(pafs.LocalFileSystem(), str(lake)), RUN_DATE, RUN_DATE)
    return answers, render(answers, RUN_DATE, RUN_DATE, source=str(lake))


def test_a_category_added_to_the_business_is_published_and_reported(
    spark: Any, shop: tuple[Any, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN swimwear added to the shop's categories, in shoplake.business only, and a swimsuit sold that day
    monkeypatch.setattr(business, "CATEGORIES", (*business.CATEGORIES, "swimwear"))
    database, jdbc = shop
    _sell(database, "swimwear")
    # WHEN the night runs
    night = _night(spark, jdbc, tmp_path)
    # THEN no rule failed (the quality step raises if one does), every table of the day is published,
    # and the swimsuit kept its category
    assert night["clean"]["products_of_unknown_category"] == 0
    assert night["quality"] == {
        "sales_fact": 10,
        "review_fact": 5,
        "daily_product_stats": 6,
        "clickstream_hourly": 6,
        "product_dim": 4,
    }
    assert night["publish"]["sales_fact"] == 2
    assert {table for table, day in night["published"] if day == RUN_DATE} == set(lake_layout.CURATED_TABLES)
    assert night["publish"]["repaired"] == []  # nothing to reconcile before the day's first publish
    # AND the report's category results show it
    answers, html = _category_results(tmp_path)
    popular = {(r["level"], r["item"]): r["units"] for r in answers["q3_popular_products"]}
    assert (popular[("category", "swimwear")], popular[("category", "tops")]) == (2, 1)
    assert {r["category"]: r["units"] for r in answers["q4_sales_rate"]} == {"swimwear": 2, "tops": 1}
    assert "<td>swimwear (2), tops (1)</td>" in html  # the segment's top categories
    assert "<tr><td>swimwear</td><td class='n'>2</td><td class='n'>90.00</td>" in html  # sales rate per category


def test_a_product_whose_category_cannot_be_mapped_does_not_fail_the_night(
    spark: Any, shop: tuple[Any, str], tmp_path: Path
) -> None:
    # GIVEN a seller's category that is neither one of the shop's nor a spelling of one
    database, jdbc = shop
    _sell(database, "beachwear")
    # WHEN the night runs
    night = _night(spark, jdbc, tmp_path)
    # THEN the product is counted as of unknown category, and the day is checked and published all the same
    assert night["clean"]["products_of_unknown_category"] == 1
    assert night["publish"]["sales_fact"] == 2
    answers, _ = _category_results(tmp_path)
    assert {r["category"]: r["units"] for r in answers["q4_sales_rate"]} == {business.UNKNOWN_CATEGORY: 2, "tops": 1}
    assert json.dumps(answers["q4_sales_rate"], default=str).count("beachwear") == 0
