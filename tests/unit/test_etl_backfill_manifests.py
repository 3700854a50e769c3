"""Days published before the day manifest existed get one from the catalog (review of issue 17), once."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import boto3
import pyarrow.fs as pafs
import pytest
from moto import mock_aws

from shoplake import lake_layout
from shoplake_etl.backfill_manifests import BACKFILL_RUN_ID, backfill_manifests, main
from shoplake_etl.catalog import MemoryCatalog, catch_up_since
from shoplake_etl.publication import DayManifest, LakeFiles, published_days, read_manifest, version_key, version_time
from tests.unit.test_curated_tables import _table_input
from tests.unit.test_etl_publication import CURATED, DAY, V0, V1, _every_table, _read, _write_version


def _files(lake: Path) -> LakeFiles:
    return LakeFiles(pafs.LocalFileSystem(), str(lake))


def _legacy_day(lake: Path, catalog: MemoryCatalog) -> None:
    """DAY published the old way: V1 written, every partition pointing at it, no manifest."""
    _write_version(lake, V1, 1)
    for table in CURATED:
        catalog.point(table, DAY, version_key(table, DAY, V1))


def test_a_day_published_before_manifests_gets_one_from_the_catalog_once(tmp_path: Path) -> None:
    # GIVEN DAY published before manifests (invisible to the analytics and the catch-up), and an older
    # day's files that no partition points at
    catalog = MemoryCatalog()
    _legacy_day(tmp_path, catalog)
    (tmp_path / version_key("sales_fact", DAY - timedelta(days=3), V0)).mkdir(parents=True)
    (tmp_path / version_key("sales_fact", DAY - timedelta(days=3), V0) / "part.parquet").write_bytes(b"")
    assert _read(tmp_path) == _every_table([])
    # WHEN the back-fill runs
    written = backfill_manifests(catalog, _files(tmp_path)).written
    # THEN DAY has a manifest naming what the catalog points at, and is seen again; the other day is left
    manifest = read_manifest(_files(tmp_path), DAY)
    assert [each.manifest for each in written] == [manifest]
    assert manifest is not None
    assert (manifest.version, manifest.run_id) == (V1, BACKFILL_RUN_ID)
    assert dict(manifest.tables) == {table: version_key(table, DAY, V1) for table in CURATED}
    assert _read(tmp_path) == _every_table([1])
    assert published_days(_files(tmp_path)) == [DAY]
    assert catch_up_since(DAY + timedelta(days=1), published_days(_files(tmp_path))) == DAY + timedelta(days=1)
    # AND running it again writes nothing
    assert backfill_manifests(catalog, _files(tmp_path)).written == []


def test_a_day_without_some_table_is_written_only_if_the_operator_allows_that_table_missing(tmp_path: Path) -> None:
    # GIVEN a legacy day of which one table was never written (a table added since has no version of it, or a
    # publish that stopped before it: the lake cannot tell which)
    catalog = MemoryCatalog()
    _legacy_day(tmp_path, catalog)
    catalog.drop("clickstream_hourly", DAY)
    shutil.rmtree(tmp_path / version_key("clickstream_hourly", DAY, V1))
    # WHEN the back-fill runs as it is, then allowing that table missing (a dry run, then for real)
    refused = backfill_manifests(catalog, _files(tmp_path))
    (listed,) = backfill_manifests(
        catalog, _files(tmp_path), dry_run=True, allow_missing=["clickstream_hourly"]
    ).written
    assert read_manifest(_files(tmp_path), DAY) is None  # a dry run writes nothing
    (found,) = backfill_manifests(catalog, _files(tmp_path), allow_missing=["clickstream_hourly"]).written
    # THEN first the day is skipped, naming the table and the flag; then written without it, saying so
    assert refused.written == []
    assert "no partition of clickstream_hourly" in refused.skipped[DAY]
    assert "--allow-missing clickstream_hourly" in refused.skipped[DAY]
    assert listed.missing == found.missing == ("clickstream_hourly",)
    assert read_manifest(_files(tmp_path), DAY) == found.manifest
    assert "clickstream_hourly" not in found.manifest.tables


def test_a_day_whose_partitions_are_not_its_own_version_folders_gets_no_manifest(tmp_path: Path) -> None:
    # GIVEN a whole-looking day whose partitions name the day before's version folders (pointed by hand)
    catalog = MemoryCatalog()
    before = DAY - timedelta(days=1)
    _write_version(tmp_path, V1, 1)
    for table in CURATED:
        (tmp_path / version_key(table, before, V1)).mkdir(parents=True)
        (tmp_path / version_key(table, before, V1) / "part.parquet").write_bytes(b"")
        catalog.point(table, DAY, version_key(table, before, V1))
    # WHEN the back-fill runs
    found = backfill_manifests(catalog, _files(tmp_path))
    # THEN no manifest names another day's files: the day is skipped, saying why
    assert found.written == []
    assert read_manifest(_files(tmp_path), DAY) is None
    assert "not its own version folders" in found.skipped[DAY]


def test_a_day_whose_partitions_name_no_version_folder_gets_no_manifest(tmp_path: Path) -> None:
    # GIVEN a day whose partitions point at its day folders themselves (a layout before version folders)
    catalog = MemoryCatalog()
    _legacy_day(tmp_path, catalog)
    for table in CURATED:
        catalog.point(table, DAY, f"{lake_layout.ETL_CURATED}{table}/{lake_layout.partition_path(DAY)}")
    # WHEN the back-fill runs
    found = backfill_manifests(catalog, _files(tmp_path))
    # THEN the day is skipped, saying its folders are not version folders (not that a publish may be under way)
    assert found.written == []
    assert "not its own version folders" in found.skipped[DAY]


def test_a_partition_location_without_its_last_slash_is_named_as_publish_spells_it(tmp_path: Path) -> None:
    # GIVEN a legacy day whose Glue locations were registered without their last slash
    catalog = MemoryCatalog()
    _legacy_day(tmp_path, catalog)
    for table in CURATED:
        catalog.point(table, DAY, version_key(table, DAY, V1).rstrip("/"))
    # WHEN the back-fill runs
    (found,) = backfill_manifests(catalog, _files(tmp_path)).written
    # THEN the manifest names each folder as publish does, and reads back
    assert dict(found.manifest.tables) == {table: version_key(table, DAY, V1) for table in CURATED}
    assert read_manifest(_files(tmp_path), DAY) == found.manifest


def test_a_day_whose_catalog_moves_while_it_is_read_is_not_committed(tmp_path: Path) -> None:
    # GIVEN a legacy day, and a catalog on which a publish moves sales_fact the moment after the back-fill read it
    class Moving(MemoryCatalog):
        reads = 0

        def location(self, table: str, day: date) -> str | None:
            found = super().location(table, day)
            if table == "sales_fact":
                self.reads += 1
                if self.reads == 2:  # the first read is unfinished_publish's, the second the back-fill's own
                    self.partitions[(table, day)] = version_key(table, day, V0)
            return found

    catalog = Moving()
    _legacy_day(tmp_path, catalog)
    # WHEN the back-fill runs
    found = backfill_manifests(catalog, _files(tmp_path))
    # THEN it writes nothing, and says the day changed while it was read
    assert found.written == []
    assert read_manifest(_files(tmp_path), DAY) is None
    assert "changed while it was read" in found.skipped[DAY]
    assert (
        f"sales_fact: {version_key('sales_fact', DAY, V1)} -> {version_key('sales_fact', DAY, V0)}"
        in (found.skipped[DAY])
    )


def test_a_day_whose_version_folder_is_removed_while_it_is_read_is_not_committed(tmp_path: Path) -> None:
    # GIVEN a legacy day whose review_fact folder a publish removes the moment after the back-fill read the catalog
    @dataclass(frozen=True)
    class Removing(LakeFiles):
        def files(self, prefix: str) -> list[str]:
            if prefix == version_key("review_fact", DAY, V1):
                shutil.rmtree(tmp_path / prefix, ignore_errors=True)
            return super().files(prefix)

    catalog = MemoryCatalog()
    _legacy_day(tmp_path, catalog)
    # WHEN the back-fill runs
    found = backfill_manifests(catalog, Removing(pafs.LocalFileSystem(), str(tmp_path)))
    # THEN it writes nothing: the manifest would name a folder that is gone
    assert found.written == []
    assert f"{version_key('review_fact', DAY, V1)} is gone" in found.skipped[DAY]


def test_the_command_reads_glues_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the legacy day in (moto's) Glue catalog
    with mock_aws():
        glue = boto3.client("glue", region_name="ap-northeast-2")
        glue.create_database(DatabaseInput={"Name": "lake"})
        root = tmp_path.as_uri() + "/"
        for table in CURATED:
            table_input = _table_input(table)
            location = f"{root}{lake_layout.ETL_CURATED}{table}/"
            table_input["StorageDescriptor"] = {**table_input["StorageDescriptor"], "Location": location}
            glue.create_table(DatabaseName="lake", TableInput=table_input)
        catalog = MemoryCatalog()
        _legacy_day(tmp_path, catalog)
        for table in CURATED:
            values = lake_layout.partition_path(DAY).strip("/").split("/")
            storage = {**_table_input(table)["StorageDescriptor"], "Location": root + version_key(table, DAY, V1)}
            partition = {"Values": [v.split("=")[1] for v in values], "StorageDescriptor": storage}
            glue.create_partition(DatabaseName="lake", TableName=table, PartitionInput=partition)
        # WHEN the command runs, twice
        main(["--lake-root", root, "--database", "lake"])
        main(["--lake-root", root, "--database", "lake"])
    # THEN the first writes the day's manifest, the second nothing
    assert capsys.readouterr().out.splitlines() == [
        f"{DAY}: version {V1}",
        "1 manifest(s) written, 0 day(s) skipped",
        "0 manifest(s) written, 0 day(s) skipped",
    ]
    assert read_manifest(_files(tmp_path), DAY) is not None


def test_a_legacy_day_with_a_table_written_but_never_pointed_at_is_skipped_and_said(tmp_path: Path) -> None:
    # GIVEN a day whose clickstream_hourly has the version the other tables point at, but no partition:
    # a publish stopped between its catalog calls, not a day published whole
    catalog = MemoryCatalog()
    _legacy_day(tmp_path, catalog)
    catalog.drop("clickstream_hourly", DAY)
    # WHEN the back-fill runs
    found = backfill_manifests(catalog, _files(tmp_path))
    # THEN the day gets no manifest, and the back-fill says why
    assert found.written == []
    assert read_manifest(_files(tmp_path), DAY) is None
    assert "clickstream_hourly" in found.skipped[DAY]
    assert "did not finish" in found.skipped[DAY]


def test_a_whole_day_published_moments_ago_waits_for_a_later_back_fill(tmp_path: Path) -> None:
    # GIVEN a day every partition of which names V1, a version made an hour ago (its manifest may be coming)
    catalog = MemoryCatalog()
    _legacy_day(tmp_path, catalog)
    made = version_time(V1)
    assert made is not None
    # WHEN the back-fill runs an hour after V1, then again a day after
    soon = backfill_manifests(catalog, _files(tmp_path), now=made + timedelta(hours=1))
    later = backfill_manifests(catalog, _files(tmp_path), now=made + timedelta(days=1))
    # THEN the first skips the day, saying a publish may be under way; the second writes its manifest
    assert soon.written == []
    assert "a publish may be under way" in soon.skipped[DAY]
    assert [each.manifest.day for each in later.written] == [DAY]


def test_a_day_whose_publish_left_its_marker_is_skipped(tmp_path: Path) -> None:
    # GIVEN a whole-looking day whose publish wrote its marker and never its manifest
    catalog = MemoryCatalog()
    _legacy_day(tmp_path, catalog)
    marker = DayManifest(DAY, "night-24", V1, {t: version_key(t, DAY, V1) for t in CURATED})
    _files(tmp_path).write_text(lake_layout.day_publishing_key(DAY), marker.to_json())
    # WHEN the back-fill runs
    found = backfill_manifests(catalog, _files(tmp_path))
    # THEN the day is not committed
    assert found.written == []
    assert f"a publish of version {V1} by night-24 did not finish" in found.skipped[DAY]


def test_the_command_refuses_to_allow_missing_a_table_that_is_not_curated(capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN the command is asked to allow a table no publish writes, THEN it stops before reading anything
    with pytest.raises(SystemExit):
        main(["--lake-root", "file:///nowhere/", "--database", "lake", "--allow-missing", "sales"])
    assert "invalid choice: 'sales'" in capsys.readouterr().err
