"""Review 17, a stranger's attack on the nightly ETL: faults found, each shown by a test that fails today.

Each test here was `xfail(strict=True)` until fixed: it states what issue 17 promises and fails because the code
does not keep the promise yet. Fixing a fault makes its test pass, and strict xfail then fails the run,
so whoever fixes it removes the mark. Least privilege (template.yaml's Glue job roles), the products in
the marketing report, and the analytics reading only what the day manifests name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from analytics import report
from analytics.lake import Lake, lake_tables, run_query
from analytics.queries import query
from local_stack.template import ROOT, load_template
from shoplake import curated, lake_layout
from shoplake_etl.publication import DayManifest, LakeFiles, ManifestError, published_days, version_key
from tests.analytics_lake import D23, D24, write_clickstream, write_lake

RESOURCES: dict[str, Any] = load_template()["Resources"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_statements(job: str) -> list[dict[str, Any]]:
    """Every statement of the job's role, its own policies and the template's managed ones (Fn::If: both branches)."""
    role = RESOURCES[RESOURCES[job]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"]
    documents = [policy["PolicyDocument"] for policy in role.get("Policies", [])]
    documents += [RESOURCES[arn["Ref"]]["Properties"]["PolicyDocument"] for arn in role.get("ManagedPolicyArns", [])]
    statements = []
    for document in documents:
        for node in document["Statement"]:
            branches = node["Fn::If"][1:] if isinstance(node, dict) and "Fn::If" in node else [node]
            statements += [b for b in branches if isinstance(b, dict) and b != {"Ref": "AWS::NoValue"}]
    return statements


def _allows(job: str, action: str, resource_hint: str = "", context: dict[str, str] | None = None) -> bool:
    """Whether an Allow of the job's role names `action` on a resource mentioning `resource_hint`, its
    StringEquals conditions (if any) met by `context`."""
    for statement in _role_statements(job):
        if statement["Effect"] != "Allow" or action not in _as_list(statement["Action"]):
            continue
        if resource_hint not in str(statement["Resource"]):
            continue
        wanted = statement.get("Condition", {}).get("StringEquals", {})
        if all((context or {}).get(key) in _as_list(value) for key, value in wanted.items()):
            return True
    return False


# ---------------------------------------------------------------- least privilege: too little


def test_the_survey_quality_job_may_publish_the_data_quality_metrics_it_asks_for() -> None:
    # GIVEN the survey-quality job, which asks Glue Data Quality to publish its CloudWatch metrics
    script = (ROOT / "glue" / "survey_quality_check.py").read_text(encoding="utf-8")
    assert '"enableDataQualityCloudWatchMetrics": True' in script
    # WHEN its role's PutMetricData is checked for Glue Data Quality's namespace
    # THEN the role allows it (Glue's own job metrics go to "Glue", the rules' to "Glue Data Quality")
    assert _allows("SurveyQualityJob", "cloudwatch:PutMetricData", context={"cloudwatch:namespace": "Glue"})
    assert _allows(
        "SurveyQualityJob", "cloudwatch:PutMetricData", context={"cloudwatch:namespace": "Glue Data Quality"}
    )


def test_the_extract_may_read_the_glue_connection_it_runs_in() -> None:
    # GIVEN the extract job, placed in the database subnet by ShopDatabaseConnection
    connections = RESOURCES["EtlExtractJob"]["Properties"]["Connections"]
    assert "ShopDatabaseConnection" in str(connections)
    # THEN its role may read that connection (and only that one)
    assert _allows("EtlExtractJob", "glue:GetConnection", ":connection/")


JOBS = sorted(name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::Glue::Job")


@pytest.mark.parametrize("job", JOBS)
def test_each_job_may_read_the_script_it_runs(job: str) -> None:
    # GIVEN where the deployed job's script is
    script = RESOURCES[job]["Properties"]["Command"]["ScriptLocation"]
    # THEN it is an object in a bucket the job's role may read (the scripts bucket, which it reads)
    assert "GlueScriptsBucket" in str(script), f"{job} runs {script}, uploaded by sam deploy to its own bucket"
    assert _allows(job, "s3:GetObject", "GlueScriptsBucket")


def test_the_library_publisher_may_use_the_scripts_buckets_key() -> None:
    # GIVEN the scripts bucket's default encryption
    encryption = RESOURCES["GlueScriptsBucket"]["Properties"]["BucketEncryption"]
    key = encryption["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert key == {"Fn::GetAtt": ["LakeKey", "Arn"]}
    # WHEN the library publisher's policy is read
    statements = [s for p in RESOURCES["GlueLibraryFunction"]["Properties"]["Policies"] for s in p["Statement"]]
    # THEN it may make data keys (PutObject) and decrypt (HeadObject/GetObject) with that key
    granted = {a for s in statements if "LakeKey" in str(s["Resource"]) for a in _as_list(s["Action"])}
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= granted, granted


# ---------------------------------------------------------------- products in the report


def _lake_with_a_product_viewed_one_day_and_sold_the_next(tmp_path: Path) -> Lake:
    """The hand-worked lake, plus one product-page view of product 11 (the coat) on the Seoul 23rd:
    the coat is sold on the 24th only, so the 23rd's funnel has the coat and no sale."""
    lake = write_lake(tmp_path)
    write_clickstream(lake, [("x1", "2026-11-23T02:00", "product_view", "s9", "u9", "11", "KR", False)])
    return Lake(pafs.LocalFileSystem(), str(lake))


def _product_rows(html: str) -> list[str]:
    """The rows of the sales rate's 'Per product' table."""
    table = html.split("<h3>Per product, by revenue</h3>", 1)[1]
    return re.findall(r"<tr><td>.*?</tr>", table)


def test_a_product_viewed_one_day_and_sold_another_is_one_named_row(tmp_path: Path) -> None:
    # GIVEN product 11 ("울 코트 Wool coat", outerwear) viewed on the 23rd and sold on the 24th
    lake = _lake_with_a_product_viewed_one_day_and_sold_the_next(tmp_path)
    # WHEN the sales rate is reported over both days
    html = report._sales_rate(run_query(lake, query("q4_sales_rate"), D23, D24).to_pylist())
    # THEN the coat is one row, by its name and its category, its view and its sale together
    coat = [row for row in _product_rows(html) if "Wool coat" in row or "<td>11</td>" in row]
    assert len(coat) == 1, coat
    assert "<td>울 코트 Wool coat</td><td>outerwear</td>" in coat[0]


def _q4_row(day: date, product_id: str, name: str, units: int, revenue: str) -> dict[str, Any]:
    return {
        "business_date": day, "product_id": product_id, "product": name, "category": "tops", "units": units,
        "revenue": Decimal(revenue), "orders": units, "viewing_sessions": 1, "carting_sessions": 1,
        "buying_sessions": 1, "view_to_cart": 1.0, "cart_to_purchase": 1.0,
    }  # fmt: skip


def test_a_product_renamed_between_days_is_one_row() -> None:
    # GIVEN product 10, "Linen shirt" on the 23rd, renamed "Linen shirt (new)" on the 24th
    rows = [_q4_row(D23, "10", "Linen shirt", 1, "30.00"), _q4_row(D24, "10", "Linen shirt (new)", 2, "60.00")]
    # WHEN the report shows the sales rate per product
    products = _product_rows(report._sales_rate(rows))
    # THEN it is one product, with both days' units
    assert len(products) == 1, products


def test_two_products_with_the_same_name_stay_two_rows() -> None:
    # GIVEN two sellers' products, 10 and 20, both listed as "Shirt" in tops
    rows = [_q4_row(D23, "10", "Shirt", 1, "30.00"), _q4_row(D23, "20", "Shirt", 5, "500.00")]
    # WHEN the report shows the sales rate per product
    products = _product_rows(report._sales_rate(rows))
    # THEN they stay two products, each with its own units (not one "Shirt" of 6)
    assert len(products) == 2, products


def _rewrite(lake: Path, table: str, day: date, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Rewrite the published version (v2) of one table's day, each row through `change`."""
    path = lake / version_key(table, day, "v2") / "part-00000.parquet"
    rows = [change(row) for row in pq.read_table(path).to_pylist()]
    pq.write_table(pa.Table.from_pylist(rows, schema=curated.arrow_schema(table)), path)


def test_a_renamed_product_is_shown_by_its_current_name(tmp_path: Path) -> None:
    # GIVEN product 10 reviewed as "Zebra shirt" on the 23rd, renamed "Linen shirt" by the 24th
    lake = write_lake(tmp_path)
    _rewrite(lake, "review_fact", D23, lambda r: r | {"product_name": "Zebra shirt"} if r["product_id"] == 10 else r)
    answer = run_query(Lake(pafs.LocalFileSystem(), str(lake)), query("q5_review_ratings"), D23, D24).to_pylist()
    # WHEN the review ratings name product 10
    names = {row["item"] for row in answer if row["level"] == "product"}
    # THEN it is by the name of the latest day
    assert "Linen shirt" in names and "Zebra shirt" not in names


# ---------------------------------------------------------------- the lake: only what the manifests name


def _sales_rows(lake: Path, first: date = D23, last: date = D24) -> int:
    table = next(t for t in lake_tables() if t.name == "sales_fact")
    return int(Lake(pafs.LocalFileSystem(), str(lake)).dataset(table, first, last).to_table().num_rows)


def test_a_parquet_file_beside_the_version_folders_is_not_read(tmp_path: Path) -> None:
    # GIVEN the published lake, and a copy of the 24th's sales left in the day folder itself
    lake = write_lake(tmp_path)
    before = _sales_rows(lake)
    published = lake / version_key("sales_fact", D24, "v2") / "part-00000.parquet"
    stray = lake / lake_layout.ETL_CURATED / "sales_fact" / lake_layout.partition_path(D24) / "part-00000.parquet"
    stray.write_bytes(published.read_bytes())
    # WHEN the lake's sales are read THEN only what the manifests name: the same rows as before
    assert _sales_rows(lake) == before


def test_files_in_a_hidden_folder_are_not_read(tmp_path: Path) -> None:
    # GIVEN the lake, and a Spark task's output left in _temporary inside a published version folder
    lake = write_lake(tmp_path)
    before = _sales_rows(lake)
    version = lake / version_key("sales_fact", D24, "v2")
    attempt = version / "_temporary" / "0" / "_temporary" / "attempt_202611240300_0001_m_000000_0"
    attempt.mkdir(parents=True)
    (attempt / "part-00000.parquet").write_bytes((version / "part-00000.parquet").read_bytes())
    # WHEN the lake's sales are read THEN the leftover is not
    assert _sales_rows(lake) == before


def test_a_manifest_naming_an_old_version_under_an_unknown_table_reads_one_version(tmp_path: Path) -> None:
    # GIVEN the 24th's manifest naming v2 for every table, and also v1 of sales_fact under a table it does not have
    lake = write_lake(tmp_path)
    before = _sales_rows(lake, D24, D24)
    files = LakeFiles(pafs.LocalFileSystem(), str(lake))
    manifest = DayManifest.from_json(files.read_text(lake_layout.day_manifest_key(D24)) or "")
    tables = {**manifest.tables, "sales_fact_backup": version_key("sales_fact", D24, "v1")}
    files.write_text(lake_layout.day_manifest_key(D24), DayManifest(D24, "night", "v2", tables).to_json())
    # WHEN the 24th's sales are read
    try:
        after = _sales_rows(lake, D24, D24)
    except ManifestError as error:
        # THEN the stale v1 (100 coats) stays out: the manifest naming a table that is not curated is refused,
        # naming its key (publication.manifest_problems) ...
        assert lake_layout.day_manifest_key(D24) in str(error)
    else:
        # ... or only sales_fact's own version is read
        assert after == before


def test_a_malformed_manifest_is_an_error_that_names_it(tmp_path: Path) -> None:
    # GIVEN the 23rd's manifest cut short (a partial upload, a hand edit)
    lake = write_lake(tmp_path)
    (lake / lake_layout.day_manifest_key(D23)).write_text('{"day": "2026-11-23", "tab', encoding="utf-8")
    # WHEN the sales rate is asked for the 23rd and 24th
    try:
        answer = run_query(Lake(pafs.LocalFileSystem(), str(lake)), query("q4_sales_rate"), D23, D24)
    except Exception as error:  # noqa: BLE001 - which error is what is under test
        # THEN either the error names the manifest it could not read ...
        assert lake_layout.day_manifest_key(D23) in str(error), repr(error)
    else:
        # ... or the day reads as unpublished, and the 24th still answers
        assert D24 in {row["business_date"] for row in answer.to_pylist()}


def test_a_stray_manifest_copy_does_not_stop_the_catch_up(tmp_path: Path) -> None:
    # GIVEN the 23rd published, and a copy of a manifest someone kept in a backup folder
    files = LakeFiles(pafs.LocalFileSystem(), str(tmp_path))
    files.write_text(lake_layout.day_manifest_key(D23), "{}")
    files.write_text(f"{lake_layout.ETL_PUBLISHED_DAYS}backup/{lake_layout.day_manifest_key(D24)}", "{}")
    # WHEN the catch-up lists the days published whole
    try:
        days = published_days(files)
    except Exception as error:  # noqa: BLE001 - which error is what is under test
        # THEN either the error names the stray key ...
        assert "backup" in str(error), repr(error)
    else:
        # ... or the copy is not a published day
        assert days == [D23]
