"""A publish that did not finish is never left half visible, and a manifest write no one can confirm never
leaves the catalog and the manifest apart (review 17b, the whole kind of each fault).

A directory stands for the lake bucket (`LakeFiles`), a dict for the catalog (`MemoryCatalog`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from shoplake import lake_layout
from shoplake_etl.catalog import MemoryCatalog
from shoplake_etl.publication import (
    IN_FLIGHT,
    DayManifest,
    DayNotPublished,
    LakeFiles,
    PublishOutcomeUnknown,
    new_version,
    publish_day,
    read_manifest,
    version_key,
)
from shoplake_etl.repair import publish_run
from shoplake_etl.superseded import GRACE
from shoplake_etl.unfinished import unfinished_publish
from tests.unit.test_etl_publication import CURATED, DAY, V1, V2, _every_table, _read, _write_version
from tests.unit.test_etl_publication_repairs import (
    NOW,
    V2_MADE,
    Ambiguous,
    _files,
    _locations,
    _published_v1_then_v2_written,
    _write_empty_version,
)

TOMORROW = DAY + timedelta(days=1)
MARKER = lake_layout.day_publishing_key(DAY)


class UnknowableAfterWrite(LakeFiles):
    """As a timed-out PUT whose read-back times out too: every manifest read after the first write raises."""

    lands: bool = False
    tried: list[str]

    def __init__(self, filesystem: pafs.FileSystem, root: str) -> None:
        super().__init__(filesystem, root)
        object.__setattr__(self, "tried", [])

    def write_text(self, key: str, text: str) -> None:
        if key.endswith(lake_layout.DAY_MANIFEST):
            self.tried.append(key)
            if self.lands:
                super().write_text(key, text)
            raise TimeoutError("Read timeout on endpoint URL: PutObject")
        super().write_text(key, text)

    def read_text(self, key: str) -> str | None:
        if key in self.tried:
            raise TimeoutError("Read timeout on endpoint URL: GetObject")
        return super().read_text(key)


class LandsUnknowably(UnknowableAfterWrite):
    lands = True


def _publish_tomorrow(tmp_path: Path, catalog: MemoryCatalog, now: datetime = NOW) -> list[str]:
    version = new_version(now)
    _write_empty_version(tmp_path, TOMORROW, version)
    return publish_run(catalog, _files(tmp_path), TOMORROW, "night-2", version, now)


def _killed_after_the_catalog(tmp_path: Path, version: str, tables: tuple[str, ...]) -> MemoryCatalog:
    """DAY's first publish of `version` killed after pointing `tables`: its marker written, no manifest."""
    catalog = MemoryCatalog()
    _write_version(tmp_path, version, 1)
    meant = DayManifest(DAY, "night-1", version, {t: version_key(t, DAY, version) for t in CURATED})
    _files(tmp_path).write_text(MARKER, meant.to_json())
    for table in tables:
        catalog.point(table, DAY, version_key(table, DAY, version))
    return catalog


def test_a_publish_marks_its_day_while_under_way_and_removes_the_mark_once_published(tmp_path: Path) -> None:
    # GIVEN V1 written; WHEN it is published
    _write_version(tmp_path, V1, 1)

    class Watching(MemoryCatalog):
        seen: list[bool] = []  # noqa: RUF012 - one test's record

        def point(self, table: str, day: date, key: str) -> None:
            self.seen.append(_files(tmp_path).read_text(MARKER) is not None)
            super().point(table, day, key)

    watching = Watching()
    publish_day(watching, _files(tmp_path), DAY, "run-1", V1)
    # THEN every catalog call saw the marker, and none is left after the manifest
    assert watching.seen == [True] * len(CURATED)
    assert _files(tmp_path).read_text(MARKER) is None


def test_a_failed_publish_that_put_the_day_back_leaves_no_marker(tmp_path: Path) -> None:
    catalog = _published_v1_then_v2_written(tmp_path)
    # the manifest write times out and did not land, as the read-back finds
    with pytest.raises(DayNotPublished, match=f"not published, version {V1} stands"):
        publish_day(catalog, Ambiguous(pafs.LocalFileSystem(), str(tmp_path)), DAY, "run-2", V2)
    assert _files(tmp_path).read_text(MARKER) is None


def test_a_whole_first_publish_killed_before_its_manifest_is_undone_by_the_next_nights_publish(tmp_path: Path) -> None:
    # GIVEN DAY's first publish pointed every partition at V2, then was killed before writing its manifest
    catalog = _killed_after_the_catalog(tmp_path, V2, CURATED)
    # WHEN the next night publishes, long after
    repaired = _publish_tomorrow(tmp_path, catalog)
    # THEN Athena no longer reads DAY (which no manifest commits), its marker is gone, and it is said
    assert _locations(catalog) == dict.fromkeys(CURATED)
    assert _files(tmp_path).read_text(MARKER) is None
    assert [line for line in repaired if line.startswith(f"{DAY}: undone, a publish of version {V2} by night-1")]
    assert [line for line in repaired if line.endswith("re-run the day (or back-fill it) to publish it")]
    # AND that publish's own V2, which partitions named until the undo, is removed by a publish past the grace
    assert (tmp_path / version_key("sales_fact", DAY, V2)).is_dir()
    _publish_tomorrow(tmp_path, catalog, NOW + GRACE)
    assert not (tmp_path / version_key("sales_fact", DAY, V2)).exists()


def test_a_half_first_publish_still_under_way_is_left_and_named(tmp_path: Path) -> None:
    # GIVEN DAY's first publish, V2, has pointed two tables, V2 made less than IN_FLIGHT ago
    catalog = _killed_after_the_catalog(tmp_path, V2, CURATED[:2])
    # WHEN the day after is published meanwhile
    repaired = _publish_tomorrow(tmp_path, catalog, V2_MADE + IN_FLIGHT / 2)
    # THEN DAY is not touched under the other run, and the summary says so
    assert _locations(catalog)[CURATED[0]] == version_key(CURATED[0], DAY, V2)
    assert [line for line in repaired if line.startswith(f"{DAY}: left as it is, a publish may be under way")]


def test_partitions_of_a_day_without_manifest_on_different_versions_are_dropped(tmp_path: Path) -> None:
    # GIVEN a day no manifest commits, sales_fact on V1 and the other tables on V2 (no marker: an older publish)
    catalog = MemoryCatalog()
    _write_version(tmp_path, V1, 1)
    _write_version(tmp_path, V2, 2)
    for table in CURATED:
        catalog.point(table, DAY, version_key(table, DAY, V1 if table == "sales_fact" else V2))
    assert unfinished_publish(catalog, _files(tmp_path), DAY) is not None
    # WHEN the next night publishes
    _publish_tomorrow(tmp_path, catalog)
    # THEN Athena reads none of the mixture
    assert _locations(catalog) == dict.fromkeys(CURATED)


def test_a_day_published_before_manifests_is_left_whole_by_the_next_nights_publish(tmp_path: Path) -> None:
    # GIVEN DAY published the old way (every partition on V1, no marker, no manifest), product_dim never written
    catalog = MemoryCatalog()
    _write_version(tmp_path, V1, 1)
    for table in CURATED:
        catalog.point(table, DAY, version_key(table, DAY, V1))
    catalog.drop("product_dim", DAY)
    (tmp_path / version_key("product_dim", DAY, V1) / "part-00000.parquet").unlink()
    (tmp_path / version_key("product_dim", DAY, V1)).rmdir()
    before = _locations(catalog)
    # WHEN the next night publishes
    repaired = _publish_tomorrow(tmp_path, catalog)
    # THEN the day is left as it is, for backfill_manifests to commit
    assert _locations(catalog) == before
    assert not [line for line in repaired if line.startswith(str(DAY))]


def test_an_unconfirmable_first_publish_that_did_not_land_is_undone_by_the_next_nights_publish(tmp_path: Path) -> None:
    # GIVEN DAY's first publish of V2 whose manifest write and read-back time out, the write never stored
    catalog = MemoryCatalog()
    _write_version(tmp_path, V2, 2)
    with pytest.raises(PublishOutcomeUnknown, match=r"may be published.*nothing of it is published"):
        publish_day(catalog, UnknowableAfterWrite(pafs.LocalFileSystem(), str(tmp_path)), DAY, "night-1", V2)
    assert read_manifest(_files(tmp_path), DAY) is None
    # WHEN the next night publishes
    _publish_tomorrow(tmp_path, catalog)
    # THEN catalog and manifest agree again: nothing of DAY
    assert _locations(catalog) == dict.fromkeys(CURATED)
    assert _files(tmp_path).read_text(MARKER) is None


def test_an_unconfirmable_first_publish_that_landed_is_the_published_day(tmp_path: Path) -> None:
    catalog = MemoryCatalog()
    _write_version(tmp_path, V2, 2)
    with pytest.raises(PublishOutcomeUnknown, match=f"version {V2} stands"):
        publish_day(catalog, LandsUnknowably(pafs.LocalFileSystem(), str(tmp_path)), DAY, "night-1", V2)
    manifest = read_manifest(_files(tmp_path), DAY)
    assert manifest is not None
    assert _locations(catalog) == dict(manifest.tables)
    # AND the next night's publish keeps it, and removes the marker
    _publish_tomorrow(tmp_path, catalog)
    assert _locations(catalog) == dict(manifest.tables)
    assert _files(tmp_path).read_text(MARKER) is None
    assert _read(tmp_path) == _every_table([2])


def test_an_unconfirmable_rerun_that_did_not_land_is_put_back_by_the_next_nights_publish(tmp_path: Path) -> None:
    # GIVEN V1 published; a re-run of V2 whose manifest write and read-back time out, the write never stored
    catalog = _published_v1_then_v2_written(tmp_path)
    before = read_manifest(_files(tmp_path), DAY)
    assert before is not None
    with pytest.raises(PublishOutcomeUnknown, match=f"version {V2} stands; if not, version {V1} stands"):
        publish_day(catalog, UnknowableAfterWrite(pafs.LocalFileSystem(), str(tmp_path)), DAY, "run-2", V2)
    # WHEN the next night publishes, long after
    _publish_tomorrow(tmp_path, catalog)
    # THEN the catalog is back where the manifest says, and the marker is gone
    assert _locations(catalog) == dict(before.tables)
    assert _files(tmp_path).read_text(MARKER) is None
    assert _read(tmp_path) == _every_table([1])
