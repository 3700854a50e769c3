"""Days published before the day manifest existed get one from the catalog (review of issue 17), once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import boto3
import pyarrow.fs as pafs
import pytest
from moto import mock_aws

from shoplake import lake_layout
from shoplake_etl.backfill_manifests import BACKFILL_RUN_ID, backfill_manifests, main
from shoplake_etl.catalog import catch_up_since
from shoplake_etl.publication import LakeFiles, MemoryCatalog, published_days, read_manifest, version_key
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
    written = backfill_manifests(catalog, _files(tmp_path))
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
    assert backfill_manifests(catalog, _files(tmp_path)) == []


def test_a_day_published_in_some_tables_only_names_those_that_are_missing(tmp_path: Path) -> None:
    catalog = MemoryCatalog()
    _legacy_day(tmp_path, catalog)
    catalog.drop("clickstream_hourly", DAY)
    (found,) = backfill_manifests(catalog, _files(tmp_path), dry_run=True)
    assert found.missing == ("clickstream_hourly",)
    assert read_manifest(_files(tmp_path), DAY) is None  # a dry run writes nothing


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
        "1 manifest(s) written",
        "0 manifest(s) written",
    ]
    assert read_manifest(_files(tmp_path), DAY) is not None
