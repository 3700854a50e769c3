"""A day is published whole or not at all (issue 17): every curated table moves together, or none does.

moto's Glue catalog and a directory standing for the lake bucket, no Spark: the publish step's
versions are written here with pyarrow, as Spark writes them, and read back with DuckDB over the
analytics' own view of the lake (`analytics.lake.Lake`), our local Athena.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from analytics.lake import Lake, lake_tables
from shoplake import curated, lake_layout
from shoplake_etl.catalog import GlueCatalog, catch_up_since
from shoplake_etl.publication import (
    DayManifest,
    DayNotPublished,
    LakeFiles,
    PublishNotConfirmed,
    publish_day,
    published_days,
    read_manifest,
    version_key,
    version_time,
)
from shoplake_etl.removal import note_leftovers, remove_superseded
from shoplake_etl.superseded import GRACE, note_superseded, read_superseded
from tests.unit.test_curated_tables import _table_input

DAY = date(2026, 11, 24)
ROOT = "s3://lake/"
CURATED = lake_layout.CURATED_TABLES
# Versions as the publish step makes them (publication.new_version): the time its run started, in UTC.
V0, V1, V2 = "20261124T170000000000Z", "20261125T170000000000Z", "20261126T170000000000Z"


@pytest.fixture
def catalog() -> Any:
    """The four curated tables in moto's catalog, as the template declares them, in database `lake`."""
    with mock_aws():
        glue = boto3.client("glue", region_name="ap-northeast-2")
        glue.create_database(DatabaseInput={"Name": "lake"})
        for table in lake_layout.CURATED_TABLES:
            table_input = _table_input(table)
            location = f"{ROOT}{lake_layout.ETL_CURATED}{table}/"
            table_input["StorageDescriptor"] = {**table_input["StorageDescriptor"], "Location": location}
            glue.create_table(DatabaseName="lake", TableInput=table_input)
        yield GlueCatalog(glue, "lake", ROOT)


class Failing:
    """A catalog whose n-th move fails, as Glue throttling UpdatePartition would make it."""

    def __init__(self, inner: GlueCatalog, fail_at: int) -> None:
        self.inner, self.fail_at, self.moves = inner, fail_at, 0

    def location(self, table: str, day: date) -> str | None:
        return self.inner.location(table, day)

    def point(self, table: str, day: date, key: str) -> None:
        self.moves += 1
        if self.moves == self.fail_at:
            raise RuntimeError("ThrottlingException: Rate exceeded (UpdatePartition)")
        self.inner.point(table, day, key)

    def drop(self, table: str, day: date) -> None:
        self.inner.drop(table, day)


def _write_version(lake: Path, version: str, marker: int) -> None:
    """Every curated table's day at `version`, one row whose first numeric column is `marker`."""
    for table in lake_layout.CURATED_TABLES:
        schema = curated.arrow_schema(table)
        row = dict.fromkeys(schema.names)
        row |= {"business_date": DAY, "product_id": marker, "purchase_id": marker, "visitors": marker}
        folder = lake / version_key(table, DAY, version)
        folder.mkdir(parents=True, exist_ok=True)
        rows = [{k: v for k, v in row.items() if k in schema.names}]
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "part-00000.parquet")


def _read(lake: Path) -> dict[str, list[int]]:
    """What DuckDB reads of the day, table by table: the markers of the version each table shows."""
    view = Lake(pafs.LocalFileSystem(), str(lake))
    columns = dict.fromkeys(("sales_fact", "review_fact", "daily_product_stats", "product_dim"), "product_id")
    columns["clickstream_hourly"] = "visitors"
    read = {}
    with duckdb.connect() as connection:
        for table in (t for t in lake_tables() if t.name in columns):
            connection.register(table.name, view.dataset(table, DAY, DAY).to_table())
            sql = f"SELECT {columns[table.name]} FROM {table.name}"  # noqa: S608 - our own names
            read[table.name] = [r[0] for r in connection.execute(sql).fetchall()]
    return read


def _every_table(markers: list[int]) -> dict[str, list[int]]:
    return {table: markers for table in CURATED}


def _files(lake: Path) -> LakeFiles:
    return LakeFiles(pafs.LocalFileSystem(), str(lake))


def test_a_whole_publish_moves_every_table_and_removes_the_older_version_after_the_grace(
    catalog: Any, tmp_path: Path
) -> None:
    # GIVEN a day published as v1, and the re-run's v2 written beside it
    _write_version(tmp_path, V1, 1)
    publish_day(catalog, _files(tmp_path), DAY, "run-1", V1)
    _write_version(tmp_path, V2, 2)
    # WHEN v2 is published
    published_at = datetime(2026, 11, 26, 18, tzinfo=UTC)
    manifest = publish_day(catalog, _files(tmp_path), DAY, "run-2", V2, published_at)
    # THEN every partition, the manifest and DuckDB show v2; v1 stays, noted as superseded then, for queries
    # that listed its files ...
    assert {t: catalog.location(t, DAY) for t in lake_layout.CURATED_TABLES} == dict(manifest.tables)
    assert _read(tmp_path) == _every_table([2])
    assert read_superseded(_files(tmp_path), DAY) == {V1: published_at}
    assert remove_superseded(catalog, _files(tmp_path), DAY, published_at + GRACE - timedelta(seconds=1)) == []
    # ... and is removed once the grace has passed
    removed = remove_superseded(catalog, _files(tmp_path), DAY, published_at + GRACE)
    assert removed == [version_key(table, DAY, V1) for table in lake_layout.CURATED_TABLES]
    for table in lake_layout.CURATED_TABLES:
        assert _files(tmp_path).folders(f"{lake_layout.ETL_CURATED}{table}/{lake_layout.partition_path(DAY)}") == [
            version_key(table, DAY, V2)
        ]
    assert read_superseded(_files(tmp_path), DAY) == {}
    assert _files(tmp_path).files(lake_layout.ETL_SUPERSEDED_DAYS) == []


@pytest.mark.parametrize("fail_at", [1, 2, 3, 4])
def test_a_publish_that_fails_between_the_catalog_calls_leaves_the_previous_day_whole(
    catalog: Any, tmp_path: Path, fail_at: int
) -> None:
    # GIVEN a day published as v1, and v2 written beside it
    _write_version(tmp_path, V1, 1)
    before = publish_day(catalog, _files(tmp_path), DAY, "run-1", V1)
    _write_version(tmp_path, V2, 2)
    # WHEN publishing v2 fails after `fail_at - 1` tables were moved
    with pytest.raises(RuntimeError, match="ThrottlingException"):
        publish_day(Failing(catalog, fail_at), _files(tmp_path), DAY, "run-2", V2)
    # THEN the catalog, the manifest and DuckDB all still show v1, whole; v1 was not removed
    assert {t: catalog.location(t, DAY) for t in lake_layout.CURATED_TABLES} == dict(before.tables)
    assert read_manifest(_files(tmp_path), DAY) == before
    assert _read(tmp_path) == _every_table([1])


def test_a_first_publish_that_fails_midway_publishes_nothing_and_the_next_night_catches_it_up(
    catalog: Any, tmp_path: Path
) -> None:
    # GIVEN the day before published whole, and the day's first publish failing at its second table
    yesterday = DAY - timedelta(days=1)
    manifest = DayManifest(yesterday, "run-0", V0, {t: version_key(t, yesterday, V0) for t in CURATED})
    _files(tmp_path).write_text(lake_layout.day_manifest_key(yesterday), manifest.to_json())
    _write_version(tmp_path, V1, 1)
    with pytest.raises(RuntimeError):
        publish_day(Failing(catalog, 2), _files(tmp_path), DAY, "run-1", V1)
    # THEN no table has the day (sales_fact alone used to keep it, so the next night skipped it) ...
    assert [catalog.location(t, DAY) for t in lake_layout.CURATED_TABLES] == [None] * len(CURATED)
    assert _read(tmp_path) == _every_table([])
    # ... and the next scheduled night extracts from that day on
    assert published_days(_files(tmp_path)) == [yesterday]
    assert catch_up_since(DAY + timedelta(days=1), published_days(_files(tmp_path))) == DAY


def test_a_failure_writing_the_manifest_puts_every_table_back(catalog: Any, tmp_path: Path, monkeypatch: Any) -> None:
    _write_version(tmp_path, V1, 1)
    before = publish_day(catalog, _files(tmp_path), DAY, "run-1", V1)
    _write_version(tmp_path, V2, 2)

    def refuse(self: LakeFiles, key: str, text: str) -> None:
        raise OSError("SlowDown: please reduce your request rate")

    monkeypatch.setattr(LakeFiles, "write_text", refuse)
    with pytest.raises(DayNotPublished, match=f"not published, version {V1} stands.*SlowDown"):
        publish_day(catalog, _files(tmp_path), DAY, "run-2", V2)
    assert {t: catalog.location(t, DAY) for t in lake_layout.CURATED_TABLES} == dict(before.tables)
    assert _read(tmp_path) == _every_table([1])


def test_the_days_published_are_those_with_a_manifest(catalog: Any, tmp_path: Path) -> None:
    _write_version(tmp_path, V1, 1)
    publish_day(catalog, _files(tmp_path), DAY, "run-1", V1)
    assert published_days(_files(tmp_path)) == [DAY]
    assert published_days(_files(tmp_path / "empty")) == []


def test_the_version_the_catalog_points_at_and_newer_ones_are_never_removed(catalog: Any, tmp_path: Path) -> None:
    # GIVEN V1 published, then another run pointing sales_fact at its own V2 without a manifest yet, and both
    # versions noted as superseded long ago (a record edited by hand)
    _write_version(tmp_path, V1, 1)
    publish_day(catalog, _files(tmp_path), DAY, "run-1", V1)
    _write_version(tmp_path, V2, 2)
    catalog.point("sales_fact", DAY, version_key("sales_fact", DAY, V2))
    long_ago = version_time(V0)
    assert long_ago is not None
    note_superseded(_files(tmp_path), DAY, {V1: long_ago, V2: long_ago})
    # WHEN a clean-up runs, long after
    later = long_ago + timedelta(days=30)
    note_leftovers(catalog, _files(tmp_path), DAY, later)
    removed = remove_superseded(catalog, _files(tmp_path), DAY, later)
    # THEN neither what the catalog points at, nor what the manifest names, nor a newer version is removed
    assert removed == []
    assert (tmp_path / version_key("review_fact", DAY, V1)).is_dir()
    assert (tmp_path / version_key("review_fact", DAY, V2)).is_dir()


def test_nothing_is_removed_until_the_swap_is_confirmed(catalog: Any, tmp_path: Path) -> None:
    class Deaf(Failing):
        def point(self, table: str, day: date, key: str) -> None:  # accepts, but sales_fact never moves
            if table != "sales_fact" or self.inner.location(table, day) is None:
                self.inner.point(table, day, key)

    _write_version(tmp_path, V1, 1)
    publish_day(catalog, _files(tmp_path), DAY, "run-1", V1)
    _write_version(tmp_path, V2, 2)
    with pytest.raises(PublishNotConfirmed, match="sales_fact"):
        publish_day(Deaf(catalog, 0), _files(tmp_path), DAY, "run-2", V2)
    assert (tmp_path / version_key("review_fact", DAY, V1)).is_dir()


@pytest.mark.parametrize("run_id", ["", "..", "a/b"])
def test_staging_is_per_run_and_a_run_id_cannot_reach_another_runs(run_id: str) -> None:
    assert lake_layout.staging_prefix("night-a") != lake_layout.staging_prefix("night-b")
    with pytest.raises(ValueError, match="not a run id"):
        lake_layout.staging_prefix(run_id)
