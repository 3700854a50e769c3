"""A hostile review of the nightly ETL's publication and the analytics that read it (review 17c).

Each test shows a fault and is `xfail(strict=True)` until fixed. A directory stands for the lake bucket
(`LakeFiles`), a dict for the catalog (`MemoryCatalog`); a race is made deterministic by landing the other
party's whole step at the one moment between two of this party's reads or writes. Run with --runxfail to see
each fail for its stated reason.
"""

from __future__ import annotations

import fnmatch
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from analytics import report
from analytics.lake import Lake, LakeTable, run_query
from analytics.queries import Query, query
from local_stack.template import load_template
from shoplake import curated, lake_layout
from shoplake_etl import publication
from shoplake_etl.backfill_manifests import backfill_manifests
from shoplake_etl.catalog import MemoryCatalog
from shoplake_etl.publication import DayManifest, LakeFiles, publish_day, read_manifest, version_key
from shoplake_etl.repair import publish_run
from tests.analytics_lake import D23, D24, D25, write_clickstream, write_lake
from tests.unit.test_etl_attack17 import _product_rows, _q4_row, _rewrite
from tests.unit.test_glue_job_roles import _statements

DAY = date(2026, 11, 24)
V0, V1 = "20261124T170000000000Z", "20261125T170000000000Z"
RESOURCES: dict[str, Any] = load_template()["Resources"]
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)  # both versions above settled (older than publication.IN_FLIGHT)


def _write_version(files: LakeFiles, table: str, day: date, version: str) -> None:
    files.write_text(version_key(table, day, version) + "part-0.parquet", f"{table} {day} {version}")


def _stage_new_version(lake: Path, day: date, version: str, sales: int, products: int) -> None:
    """Every curated table's `version` of `day` written beside v2 (as publish writes before pointing), its sales
    cut to `sales` rows and its product dimension grown to `products` rows."""
    for table in lake_layout.CURATED_TABLES:
        shutil.copytree(lake / version_key(table, day, "v2"), lake / version_key(table, day, version))

    def _resize(table: str, size: int) -> None:
        path = lake / version_key(table, day, version) / "part-00000.parquet"
        rows = pq.read_table(path).to_pylist()
        rows = (rows * size)[:size]
        pq.write_table(pa.Table.from_pylist(rows, schema=curated.arrow_schema(table)), path)

    _resize("sales_fact", sales)
    _resize("product_dim", products)


def test_a_query_running_while_a_day_is_published_reads_one_publication_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the 24th published as v2 (2 sales, 3 products), and a re-run's version v3 (1 sale, 4 products) written
    lake = write_lake(tmp_path)
    _stage_new_version(lake, D24, V1, sales=1, products=4)
    files = LakeFiles(pafs.LocalFileSystem(), str(lake))
    catalog = MemoryCatalog()
    reads = Lake.dataset

    def publish_between_tables(self: Lake, table: LakeTable, first: date, last: date) -> Any:
        if table.name == "product_dim" and read_manifest(files, D24).version == "v2":  # type: ignore[union-attr]
            publish_day(catalog, files, D24, "rerun-24", V1)  # the re-run's publish lands right now
        return reads(self, table, first, last)

    monkeypatch.setattr(Lake, "dataset", publish_between_tables)
    both = Query(
        "mixture", "SELECT (SELECT count(*) FROM sales_fact) AS s, (SELECT count(*) FROM product_dim) AS p", ()
    )
    # WHEN a query reading the sales and the products of the 24th runs while the re-run publishes it
    answer = run_query(Lake(pafs.LocalFileSystem(), str(lake)), both, D24, D24).to_pylist()
    # THEN it reads the 24th as v2 published it, or as v3 does: never v2's sales beside v3's products
    assert read_manifest(files, D24).version == V1  # type: ignore[union-attr]
    assert answer in ([{"s": 2, "p": 3}], [{"s": 1, "p": 4}])


def test_backfill_manifests_never_overwrites_the_manifest_of_a_publish_that_landed_meanwhile(tmp_path: Path) -> None:
    # GIVEN a day published before manifests (every table on V0, settled), and a re-run's V1 written, not pointed
    files = LakeFiles(pafs.LocalFileSystem(), str(tmp_path))
    catalog = MemoryCatalog()
    for table in lake_layout.CURATED_TABLES:
        _write_version(files, table, DAY, V0)
        _write_version(files, table, DAY, V1)
        catalog.point(table, DAY, version_key(table, DAY, V0))
    plain = LakeFiles(pafs.LocalFileSystem(), str(tmp_path))

    def the_rerun_commits_in_the_gap(key: str) -> None:
        if key == lake_layout.day_manifest_key(DAY) and read_manifest(plain, DAY) is None:
            publish_run(catalog, plain, DAY, "rerun-24", V1, NOW)

    @dataclass(frozen=True)
    class PublishLandsFirst(LakeFiles):  # just before the back-fill's manifest write, whichever write it is
        def write_text(self, key: str, text: str) -> None:
            the_rerun_commits_in_the_gap(key)
            super().write_text(key, text)

        def write_text_if_absent(self, key: str, text: str) -> bool:
            the_rerun_commits_in_the_gap(key)
            return super().write_text_if_absent(key, text)

    # WHEN the one-off manifest back-fill runs while the re-run of that day publishes it
    done = backfill_manifests(catalog, PublishLandsFirst(pafs.LocalFileSystem(), str(tmp_path)), now=NOW)
    # THEN the re-run's manifest stands: it names what the catalog points at, and every folder it names exists
    manifest = read_manifest(files, DAY)
    assert manifest is not None
    assert all(files.files(key) for key in manifest.tables.values())
    assert manifest.version == V1
    # AND the back-fill says it left the day to the publish
    assert done.written == []
    assert "a publish wrote its manifest meanwhile" in done.skipped[DAY]


def test_two_products_sharing_a_name_are_told_apart_in_the_popular_products(tmp_path: Path) -> None:
    # GIVEN the lake, where product 11 (a coat) is listed under the same name as product 10 (a shirt)
    lake = write_lake(tmp_path)
    _rewrite(lake, "product_dim", D24, lambda r: r | {"product_name": "Linen shirt"})
    # WHEN the report shows the top products per group
    rows = run_query(Lake(pafs.LocalFileSystem(), str(lake)), query("q3_popular_products"), D23, D24).to_pylist()
    page = report._popular_products(rows)
    # THEN each carries its id, as in the sales rate's table
    assert "Linen shirt (#10)" in page and "Linen shirt (#11)" in page


def test_a_product_named_like_another_products_label_keeps_its_own_row() -> None:
    # GIVEN product 10 named "Shirt (#11)" by its seller, and products 11 and 12 both named "Shirt"
    rows = [_q4_row(D23, "10", "Shirt (#11)", 1, "30.00"), _q4_row(D23, "11", "Shirt", 5, "500.00")]
    rows.append(_q4_row(D23, "12", "Shirt", 2, "50.00"))
    # WHEN the report shows the sales rate per product
    shown = _product_rows(report._sales_rate(rows))
    # THEN three products, three rows: product 10's 30.00 is among them
    assert len(shown) == 3
    assert any("<td class='n'>30.00</td>" in row for row in shown)


def _republish_as(lake: Path, day: date, version: str) -> None:
    """`day` published as `version` (a version publish makes, so one a later publish removes) instead of v2."""
    for table in lake_layout.CURATED_TABLES:
        shutil.copytree(lake / version_key(table, day, "v2"), lake / version_key(table, day, version))
    tables = {table: version_key(table, day, version) for table in lake_layout.CURATED_TABLES}
    manifest = DayManifest(day, "night-24", version, tables)
    LakeFiles(pafs.LocalFileSystem(), str(lake)).write_text(lake_layout.day_manifest_key(day), manifest.to_json())


def test_a_query_that_listed_the_previous_version_still_reads_it_when_a_publish_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the 24th published as V0 (2 sales), and a re-run's V1 (1 sale) written beside it
    lake = write_lake(tmp_path)
    _republish_as(lake, D24, V0)
    _stage_new_version(lake, D24, V1, sales=1, products=3)
    files = LakeFiles(pafs.LocalFileSystem(), str(lake))
    reads = Lake.dataset

    def publish_after_listing(self: Lake, table: LakeTable, first: date, last: date) -> Any:
        listed = reads(self, table, first, last)  # the files of V0, to be read next
        if table.name == "sales_fact":
            publish_day(MemoryCatalog(), files, D24, "rerun-24", V1)  # the re-run's publish lands right now
        return listed

    monkeypatch.setattr(Lake, "dataset", publish_after_listing)
    sales = Query("sales", "SELECT count(*) AS s FROM sales_fact", ())
    # WHEN a query of the 24th's sales runs while the re-run publishes the day
    try:
        answer = run_query(Lake(pafs.LocalFileSystem(), str(lake)), sales, D24, D24).to_pylist()
    except OSError as error:
        pytest.fail(f"the query failed while the day was published: {error}")
    # THEN it reads the previous publication whole, or the new one
    assert answer in ([{"s": 2}], [{"s": 1}])


def test_a_manifest_naming_another_days_folders_is_not_followed_by_the_reconciliation(tmp_path: Path) -> None:
    # GIVEN the 23rd and the 24th published (V0, V1), then the 23rd's manifest copied over the 24th's
    files = LakeFiles(pafs.LocalFileSystem(), str(tmp_path))
    catalog = MemoryCatalog()
    for day, version in ((D23, V0), (D24, V1)):
        for table in lake_layout.CURATED_TABLES:
            _write_version(files, table, day, version)
        publish_day(catalog, files, day, f"night-{day.day}", version)
    files.write_text(lake_layout.day_manifest_key(D24), files.read_text(lake_layout.day_manifest_key(D23)) or "")
    for table in lake_layout.CURATED_TABLES:
        _write_version(files, table, date(2026, 11, 25), "20261126T170000000000Z")
    # WHEN the next night publishes the 25th, reconciling the days before it
    publish_run(catalog, files, date(2026, 11, 25), "night-25", "20261126T170000000000Z", NOW)
    # THEN no partition of the 24th points at another day's files
    located = {table: catalog.location(table, D24) for table in lake_layout.CURATED_TABLES}
    assert all(key is None or key.startswith(publication.day_folder(table, D24)) for table, key in located.items()), (
        located
    )


def _object_writes(role_id: str) -> list[str]:
    """The lake keys (S3 ARN patterns under `${LakeBucket.Arn}/`) a role may PutObject, from the template."""
    patterns = []
    for statement in _statements(role_id):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if statement["Effect"] == "Allow" and "s3:PutObject" in actions:
            patterns += [r["Fn::Sub"].removeprefix("${LakeBucket.Arn}/") for r in resources if "Fn::Sub" in r]
    return patterns


def test_only_the_quality_role_may_write_the_checked_marker() -> None:
    # GIVEN the marker the quality step writes for a run's day, which publish requires
    marker = lake_layout.checked_marker_key("night-24", DAY)
    # WHEN each nightly ETL job's role is read from the template
    jobs = [r for r in RESOURCES.values() if r["Type"] == "AWS::Glue::Job"]
    roles = {job["Properties"]["Role"]["Fn::GetAtt"][0] for job in jobs}
    # THEN besides the quality role, none may put it (S3's `*` matches across `/`)
    writers = {role for role in roles if any(fnmatch.fnmatchcase(marker, p) for p in _object_writes(role))}
    assert writers <= {"EtlQualityRole", "EtlPublishRole"}, writers


@pytest.mark.parametrize("twin", ["Cafe\u0301 latte", "Café latte ", "Café\u200b latte"], ids=["nfd", "space", "zwsp"])
def test_products_whose_names_read_alike_are_told_apart_by_their_ids(twin: str) -> None:
    # GIVEN product 10 named "Café latte" and product 20 named what reads the same on the page
    rows = [_q4_row(D23, "10", "Café latte", 1, "30.00"), _q4_row(D23, "20", twin, 5, "500.00")]
    # WHEN the report shows the sales rate per product
    shown = "".join(_product_rows(report._sales_rate(rows)))
    # THEN each carries its id, as two products sharing a name do
    assert "(#10)" in shown and "(#20)" in shown


def test_a_report_whose_last_day_is_not_published_yet_still_names_a_viewed_product(tmp_path: Path) -> None:
    # GIVEN product 12 ("Canvas sneakers", in every published day's dimension) viewed on the 24th, sold in the
    # range only on the 25th, and the 25th not published (its night has not run)
    lake = write_lake(tmp_path)
    write_clickstream(lake, [("e20", "2026-11-24T03:00", "product_view", "s20", None, "12", "KR", False)])
    (lake / lake_layout.day_manifest_key(D25)).unlink()
    # WHEN the sales rate is reported from the 23rd to the 25th
    rows = run_query(Lake(pafs.LocalFileSystem(), str(lake)), query("q4_sales_rate"), D23, D25).to_pylist()
    # THEN the sneakers are named as the newest published dimension of the range names them
    assert {(r["product"], r["category"]) for r in rows if r["product_id"] == "12"} == {("Canvas sneakers", "shoes")}


def test_backfill_manifests_does_not_commit_a_day_an_old_publish_left_in_one_table(tmp_path: Path) -> None:
    # GIVEN the 23rd published whole before manifests, and the 24th whose old publish stopped after sales_fact
    files = LakeFiles(pafs.LocalFileSystem(), str(tmp_path))
    catalog = MemoryCatalog()
    for table in lake_layout.CURATED_TABLES:
        _write_version(files, table, D23, "20261123T170000000000Z")
        catalog.point(table, D23, version_key(table, D23, "20261123T170000000000Z"))
    _write_version(files, "sales_fact", D24, V0)
    catalog.point("sales_fact", D24, version_key("sales_fact", D24, V0))
    # WHEN the one-off manifest back-fill runs
    done = backfill_manifests(catalog, files, now=NOW)
    # THEN the 23rd gets its manifest, and the 24th is skipped with its reason, not counted as published
    assert [each.manifest.day for each in done.written] == [D23]
    assert D24 in done.skipped
    assert publication.published_days(files) == [D23]
    # AND the reason names each table without a partition
    assert "review_fact, daily_product_stats, clickstream_hourly, product_dim" in done.skipped[D24]


def test_a_failed_re_run_of_a_published_day_leaves_no_version_behind_for_good(tmp_path: Path) -> None:
    # GIVEN the 24th published as V0, and a re-run whose publish wrote V1 and then failed before its manifest
    files = LakeFiles(pafs.LocalFileSystem(), str(tmp_path))
    catalog = MemoryCatalog()
    for table in lake_layout.CURATED_TABLES:
        _write_version(files, table, DAY, V0)
    publish_day(catalog, files, DAY, "night-24", V0)
    for table in lake_layout.CURATED_TABLES:
        _write_version(files, table, DAY, V1)
    # WHEN each later night publishes its day and reconciles the 24th in its span
    for later in range(25, 30):
        night, version = date(2026, 11, later), f"202611{later + 1}T170000000000Z"
        for table in lake_layout.CURATED_TABLES:
            _write_version(files, table, night, version)
        publish_run(catalog, files, night, f"night-{later}", version, datetime(2026, 11, later + 1, 18, tzinfo=UTC))
    # THEN the failed re-run's folders are gone: only the published V0 is left of the 24th
    left = {key for table in lake_layout.CURATED_TABLES for key in files.folders(publication.day_folder(table, DAY))}
    assert left == {version_key(table, DAY, V0) for table in lake_layout.CURATED_TABLES}


def test_undoing_an_old_half_moved_day_keeps_the_versions_its_catalog_named(tmp_path: Path) -> None:
    # GIVEN the 24th, before manifests: an old publish moved sales and reviews to V1 (removing their V0), wrote
    # daily_product_stats' V1 and failed pointing it; daily_product_stats and clickstream_hourly stand on V0
    files = LakeFiles(pafs.LocalFileSystem(), str(tmp_path))
    catalog = MemoryCatalog()
    for table in ("sales_fact", "review_fact"):
        _write_version(files, table, DAY, V1)
        catalog.point(table, DAY, version_key(table, DAY, V1))
    for table in ("daily_product_stats", "clickstream_hourly"):
        _write_version(files, table, DAY, V0)
        catalog.point(table, DAY, version_key(table, DAY, V0))
    _write_version(files, "daily_product_stats", DAY, V1)
    named = {table: catalog.location(table, DAY) for table in lake_layout.CURATED_TABLES}
    # WHEN the next night publishes the 26th, reconciling the 24th in its span
    night = date(2026, 11, 26)
    for table in lake_layout.CURATED_TABLES:
        _write_version(files, table, night, "20261126T170000000000Z")
    publish_run(catalog, files, night, "night-26", "20261126T170000000000Z", NOW)
    # THEN whatever it did with the 24th's partitions, every folder the catalog named is still there
    assert all(files.files(key) for key in named.values() if key is not None), named


def test_the_older_version_a_failed_clean_up_promises_to_the_next_night_is_removed_by_it(tmp_path: Path) -> None:
    # GIVEN the 1st published as V0, then re-run as V1, whose removal of V0 fails (AccessDenied, say)
    old, files, catalog = date(2026, 11, 1), LakeFiles(pafs.LocalFileSystem(), str(tmp_path)), MemoryCatalog()
    for version in (V0, V1):
        for table in lake_layout.CURATED_TABLES:
            _write_version(files, table, old, version)

    @dataclass(frozen=True)
    class CannotDelete(LakeFiles):
        def delete_folder(self, prefix: str) -> None:
            raise PermissionError("AccessDenied")

    # (publish keeps the version it supersedes for publication's grace, so the removal that fails is that of a
    # later night's publish, past the grace: the 25th's)
    publish_day(catalog, files, old, "night-1", V0, datetime(2026, 11, 2, 17, 30, tzinfo=UTC))
    publish_day(catalog, files, old, "rerun-1", V1, datetime(2026, 11, 25, 17, 30, tzinfo=UTC))
    night_25, version_25 = date(2026, 11, 25), "20261125T230000000000Z"
    for table in lake_layout.CURATED_TABLES:
        _write_version(files, table, night_25, version_25)
    with pytest.raises(publication.CleanupFailed, match="the next night removes them"):
        after_grace = datetime(2026, 11, 26, tzinfo=UTC)
        publish_run(catalog, CannotDelete(files.filesystem, files.root), night_25, "night-25", version_25, after_grace)
    assert files.files(version_key("sales_fact", old, V0))
    # WHEN the next night publishes its day, the 26th
    for table in lake_layout.CURATED_TABLES:
        _write_version(files, table, date(2026, 11, 26), "20261126T170000000000Z")
    publish_run(catalog, files, date(2026, 11, 26), "night-26", "20261126T170000000000Z", NOW)
    # THEN V0 of the 1st is gone, as the failure said
    assert files.files(version_key("sales_fact", old, V0)) == []
