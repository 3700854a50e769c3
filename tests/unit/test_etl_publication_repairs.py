"""Publication's repairs (review of issue 17): a publish killed midway, an ambiguous manifest write, a restore
that fails for some tables, and which versions the clean-up may remove.

An in-memory catalog (`MemoryCatalog`) and a directory standing for the lake bucket (`LakeFiles`); the
failures are injected through them. DuckDB reads the lake as the analytics do (`_read`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from local_stack.template import load_template
from shoplake import lake_layout
from shoplake_etl.catalog import MemoryCatalog
from shoplake_etl.publication import (
    IN_FLIGHT,
    PUBLISHED_BUT,
    CleanupFailed,
    DayNotPublished,
    LakeFiles,
    RestoreIncomplete,
    new_version,
    publish_day,
    read_manifest,
    restore_day,
    version_key,
    version_time,
)
from shoplake_etl.removal import remove_superseded
from shoplake_etl.repair import publish_run
from shoplake_etl.superseded import GRACE, read_superseded
from tests.unit.test_etl_publication import CURATED, DAY, V0, V1, V2, Failing, _every_table, _read, _write_version

NOW = datetime(2026, 11, 27, 3, tzinfo=UTC)
V2_MADE = datetime(2026, 11, 26, 17, tzinfo=UTC)  # when V2 was made: its version says so


def _files(lake: Path) -> LakeFiles:
    return LakeFiles(pafs.LocalFileSystem(), str(lake))


def _locations(catalog: MemoryCatalog, day: date = DAY) -> dict[str, str | None]:
    return {table: catalog.location(table, day) for table in CURATED}


def _published_v1_then_v2_written(lake: Path) -> MemoryCatalog:
    catalog = MemoryCatalog()
    _write_version(lake, V1, 1)
    publish_day(catalog, _files(lake), DAY, "run-1", V1)
    _write_version(lake, V2, 2)
    return catalog


def _write_empty_version(lake: Path, day: date, version: str) -> None:
    for table in CURATED:
        (lake / version_key(table, day, version)).mkdir(parents=True)


def test_a_publish_killed_between_its_catalog_calls_is_put_back_by_the_next_nights_publish(tmp_path: Path) -> None:
    # GIVEN DAY published as V1, and a re-run killed (no except ran) after moving two tables to its V2
    catalog = _published_v1_then_v2_written(tmp_path)
    before = read_manifest(_files(tmp_path), DAY)
    assert before is not None
    catalog.point("sales_fact", DAY, version_key("sales_fact", DAY, V2))
    catalog.point("review_fact", DAY, version_key("review_fact", DAY, V2))
    # WHEN the next night publishes the day after, more than IN_FLIGHT after V2 was made
    tomorrow, version = DAY + timedelta(days=1), new_version(NOW)
    _write_empty_version(tmp_path, tomorrow, version)
    repaired = publish_run(catalog, _files(tmp_path), tomorrow, "night-2", version, NOW)
    # THEN DAY's catalog is back on V1, as its manifest says, and the step's summary names both tables
    assert _locations(catalog) == dict(before.tables)
    assert [line.split(":")[0] for line in repaired] == [f"{DAY} sales_fact", f"{DAY} review_fact"]
    assert _read(tmp_path) == _every_table([1])


def test_a_publish_of_the_killed_day_itself_repairs_it_first(tmp_path: Path) -> None:
    # GIVEN a publish of V2 killed after moving sales_fact, V2 made a minute ago
    catalog = _published_v1_then_v2_written(tmp_path)
    catalog.point("sales_fact", DAY, version_key("sales_fact", DAY, V2))
    now = V2_MADE + timedelta(minutes=1)
    # WHEN the day is re-run (this run holds the day, so nothing of it can be under way)
    version = new_version(now)
    _write_version(tmp_path, version, 3)
    repaired = publish_run(catalog, _files(tmp_path), DAY, "rerun", version, now)
    # THEN the repair is named, and the day is the new version whole
    assert repaired[0].startswith(f"{DAY} sales_fact: moved from {version_key('sales_fact', DAY, V2)}")
    assert _locations(catalog) == {table: version_key(table, DAY, version) for table in CURATED}
    assert _read(tmp_path) == _every_table([3])


def test_a_newer_version_of_another_day_still_in_flight_is_left_and_named(tmp_path: Path) -> None:
    # GIVEN DAY's sales_fact on a V2 made less than IN_FLIGHT ago: another run may be publishing it
    catalog = _published_v1_then_v2_written(tmp_path)
    catalog.point("sales_fact", DAY, version_key("sales_fact", DAY, V2))
    now = V2_MADE + IN_FLIGHT / 2
    tomorrow, version = DAY + timedelta(days=1), new_version(now)
    _write_empty_version(tmp_path, tomorrow, version)
    # WHEN the day after is published
    repaired = publish_run(catalog, _files(tmp_path), tomorrow, "night-2", version, now)
    # THEN that partition is not moved back under the other run, and the summary says so
    assert catalog.location("sales_fact", DAY) == version_key("sales_fact", DAY, V2)
    assert repaired == [f"{DAY} sales_fact: left at {version_key('sales_fact', DAY, V2)}, a publish may be under way"]


class Ambiguous(LakeFiles):
    """A lake whose manifest PUT raises a timeout, after storing the manifest (`lands`) or not."""

    lands: bool = False

    def write_text(self, key: str, text: str) -> None:
        if key.endswith(lake_layout.DAY_MANIFEST):
            if self.lands:
                super().write_text(key, text)
            raise TimeoutError("Read timeout on endpoint URL: PutObject")
        super().write_text(key, text)


class Landed(Ambiguous):
    lands = True


def test_a_manifest_write_that_timed_out_but_landed_is_a_published_day(tmp_path: Path) -> None:
    # GIVEN V1 published and V2 written
    catalog = _published_v1_then_v2_written(tmp_path)
    # WHEN the manifest PUT of V2 raises a timeout although S3 stored it
    manifest = publish_day(catalog, Landed(pafs.LocalFileSystem(), str(tmp_path)), DAY, "run-2", V2)
    # THEN the day is V2, catalog and manifest agree (V1 was not put back), and V1 awaits removal
    assert read_manifest(_files(tmp_path), DAY) == manifest
    assert _locations(catalog) == dict(manifest.tables)
    assert _read(tmp_path) == _every_table([2])
    assert set(read_superseded(_files(tmp_path), DAY)) == {V1}


def test_a_manifest_write_that_timed_out_and_did_not_land_puts_the_previous_version_back(tmp_path: Path) -> None:
    catalog = _published_v1_then_v2_written(tmp_path)
    before = read_manifest(_files(tmp_path), DAY)
    assert before is not None
    with pytest.raises(DayNotPublished, match=f"not published, version {V1} stands.*Read timeout"):
        publish_day(catalog, Ambiguous(pafs.LocalFileSystem(), str(tmp_path)), DAY, "run-2", V2)
    assert _locations(catalog) == dict(before.tables)
    assert read_manifest(_files(tmp_path), DAY) == before
    assert _read(tmp_path) == _every_table([1])


class Stuck(MemoryCatalog):
    """A catalog on which moving or dropping some tables' partitions always fails."""

    stuck = ("sales_fact", "clickstream_hourly")

    def point(self, table: str, day: date, key: str) -> None:
        if table in self.stuck:
            raise RuntimeError(f"ThrottlingException ({table})")
        super().point(table, day, key)

    def drop(self, table: str, day: date) -> None:
        if table in self.stuck:
            raise RuntimeError(f"ThrottlingException ({table})")
        super().drop(table, day)


def test_a_restore_tries_every_table_and_names_each_it_could_not_put_back() -> None:
    # GIVEN every table on V2, and a catalog that refuses sales_fact and clickstream_hourly
    catalog = Stuck({(table, DAY): version_key(table, DAY, V2) for table in CURATED})
    # WHEN the day is put back to nothing
    with pytest.raises(RestoreIncomplete) as raised:
        restore_day(catalog, DAY, None)
    # THEN the tables in between were put back, and the error names both that were not
    assert (catalog.location("review_fact", DAY), catalog.location("daily_product_stats", DAY)) == (None, None)
    assert "sales_fact" in str(raised.value)
    assert "clickstream_hourly" in str(raised.value)


def test_the_clean_up_removes_older_versions_only(tmp_path: Path) -> None:
    # GIVEN V0 older, V1 published, V2 newer (another run's) and a folder not named as a version
    catalog = MemoryCatalog()
    older, newer = "20261120T000000000000Z", V2
    for version in (older, newer, "manual"):
        _write_empty_version(tmp_path, DAY, version)
    _write_version(tmp_path, V1, 1)
    publish_day(catalog, _files(tmp_path), DAY, "run-1", V1, NOW)
    # WHEN the versions no longer published are removed, past the grace
    remove_superseded(catalog, _files(tmp_path), DAY, NOW + GRACE)
    # THEN only the older version is gone
    for table in CURATED:
        kept = _files(tmp_path).folders(f"{lake_layout.ETL_CURATED}{table}/{lake_layout.partition_path(DAY)}")
        assert kept == sorted(version_key(table, DAY, v) for v in (V1, newer, "manual"))
    assert remove_superseded(catalog, _files(tmp_path), DAY, NOW + 2 * GRACE) == []


def test_versions_sort_by_the_time_they_were_made() -> None:
    assert version_time(V2) == V2_MADE
    times = [datetime(2026, 11, 24, 17, 3, 1, 5, tzinfo=UTC), datetime(2026, 11, 24, 17, 3, 1, 40, tzinfo=UTC)]
    times.append(datetime(2026, 11, 25, 3, tzinfo=UTC))
    versions = [new_version(t) for t in times]
    assert sorted(versions) == versions
    assert [version_time(v) for v in versions] == times
    assert version_time("v1") is None


class CannotDelete(LakeFiles):
    def delete_folder(self, prefix: str) -> None:
        raise PermissionError("AccessDenied: DeleteObject")


class CannotNote(LakeFiles):
    def write_text(self, key: str, text: str) -> None:
        if key.startswith(lake_layout.ETL_SUPERSEDED_DAYS):
            raise PermissionError("AccessDenied: PutObject")
        super().write_text(key, text)


def test_a_clean_up_failure_after_the_manifest_says_the_day_is_published(tmp_path: Path) -> None:
    # GIVEN V1 published and V2 written, and a lake that refuses the record of superseded versions
    catalog = _published_v1_then_v2_written(tmp_path)
    # WHEN V2 is published
    with pytest.raises(CleanupFailed, match=PUBLISHED_BUT) as raised:
        publish_day(catalog, CannotNote(pafs.LocalFileSystem(), str(tmp_path)), DAY, "run-2", V2)
    # THEN the error says the day is published and what is left; the day reads V2 whole
    assert f"versions older than {V2} were not noted" in str(raised.value)
    assert "nothing published" not in str(raised.value)
    assert _read(tmp_path) == _every_table([2])


def test_a_removal_failure_after_a_nights_publish_is_left_to_the_next_night(tmp_path: Path) -> None:
    # GIVEN DAY re-published as V2 (V1 noted as superseded), and a lake that refuses deletions past the grace
    catalog = _published_v1_then_v2_written(tmp_path)
    publish_day(catalog, _files(tmp_path), DAY, "run-2", V2, V2_MADE)
    tomorrow, version = DAY + timedelta(days=1), new_version(NOW)
    _write_empty_version(tmp_path, tomorrow, version)
    # WHEN the next night publishes
    with pytest.raises(CleanupFailed, match=PUBLISHED_BUT) as raised:
        publish_run(catalog, CannotDelete(pafs.LocalFileSystem(), str(tmp_path)), tomorrow, "night-2", version, NOW)
    # THEN its day is published, V1 stays noted, and the error says the next night removes it
    assert "the next night removes them" in str(raised.value)
    assert read_manifest(_files(tmp_path), tomorrow) is not None
    assert set(read_superseded(_files(tmp_path), DAY)) == {V1}


def test_the_versions_a_failed_first_publish_left_are_removed_by_a_later_nights_publish(tmp_path: Path) -> None:
    # GIVEN a day whose only publish failed (V1 written, put back: no partition, no manifest), and a day published
    # before manifests (V1, the catalog's) with an old unnamed V0 beside it
    catalog, failed, legacy = MemoryCatalog(), DAY - timedelta(days=1), DAY
    _write_empty_version(tmp_path, failed, V1)
    with pytest.raises(DayNotPublished):
        publish_day(Failing(catalog, 2), _files(tmp_path), failed, "night-0", V1, V2_MADE)  # type: ignore[arg-type]
    _write_version(tmp_path, V1, 1)
    _write_empty_version(tmp_path, legacy, V0)
    for table in CURATED:
        catalog.point(table, legacy, version_key(table, legacy, V1))
    # WHEN the next night publishes, long after
    tomorrow, version = DAY + timedelta(days=1), new_version(NOW)
    _write_empty_version(tmp_path, tomorrow, version)
    repaired = publish_run(catalog, _files(tmp_path), tomorrow, "night-2", version, NOW)
    # THEN the failed publish's own version is gone; of the day without a manifest, whatever no publish named
    # as its own stays, the unnamed V0 with the catalog's V1 (it may be the last copy of a table)
    assert not (tmp_path / version_key("sales_fact", failed, V1)).exists()
    assert f"{failed}: removed {version_key('sales_fact', failed, V1)}, no longer published" in repaired
    assert (tmp_path / version_key("sales_fact", legacy, V0)).is_dir()
    assert (tmp_path / version_key("sales_fact", legacy, V1)).is_dir()


def test_a_first_publish_of_a_day_keeps_its_own_version_however_old_its_name(tmp_path: Path) -> None:
    # GIVEN a day never published, its version written by this run under a name older than IN_FLIGHT
    catalog = MemoryCatalog()
    _write_version(tmp_path, V1, 1)
    # WHEN this run publishes it
    assert publish_run(catalog, _files(tmp_path), DAY, "night-1", V1, NOW) == []
    # THEN it is the published day, whole
    assert _read(tmp_path) == _every_table([1])


def test_a_failed_runs_staging_expires_in_the_lake_bucket() -> None:
    # GIVEN the lake bucket's lifecycle rules in the template
    rules = load_template()["Resources"]["LakeBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    # THEN one expires the staging prefix, as lake_layout spells it, within days (a run lasts hours)
    staging = [rule for rule in rules if rule.get("Prefix") == lake_layout.ETL_STAGING]
    assert len(staging) == 1
    assert 1 < staging[0]["ExpirationInDays"] <= 7
    assert staging[0]["Status"] == "Enabled"
