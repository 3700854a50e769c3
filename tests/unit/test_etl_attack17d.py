"""A hostile review of the nightly ETL's publication: the superseded record, removal and markers (review 17d).

Each test showed a fault, xfail until it was fixed; each now holds the fix. A directory stands for the lake bucket
(`LakeFiles`), a dict for the catalog (`MemoryCatalog`); a write that fails partway (a full disk) is a file
system whose output stream is opened, so the file truncated, and then refuses the bytes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
import pytest

from shoplake import lake_layout
from shoplake_etl import publication
from shoplake_etl.catalog import MemoryCatalog
from shoplake_etl.publication import DayNotPublished, LakeFiles, publish_day, read_manifest, version_key
from shoplake_etl.removal import remove_superseded_days
from shoplake_etl.repair import publish_run
from shoplake_etl.superseded import read_superseded, write_superseded

DAY = date(2026, 11, 24)
V0, V1, V2 = "20261124T170000000000Z", "20261125T170000000000Z", "20261126T170000000000Z"


class _DiskFull:
    """An output stream that was opened (the file truncated, as a local open does) and refuses every write."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __enter__(self) -> _DiskFull:
        return self

    def __exit__(self, *_: object) -> None:
        self._stream.close()

    def write(self, _data: bytes) -> int:
        raise OSError(28, "No space left on device")


class _FullDiskFor:
    """A local file system whose writes of keys ending `suffix` fail after the file is opened (ENOSPC)."""

    type_name = "local"

    def __init__(self, suffix: str) -> None:
        self._local = pafs.LocalFileSystem()
        self.suffix = suffix
        self.full = False

    def open_output_stream(self, path: str, *args: Any, **kwargs: Any) -> Any:
        stream = self._local.open_output_stream(path, *args, **kwargs)
        return _DiskFull(stream) if self.full and path.endswith(self.suffix) else stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._local, name)


def _write_version(files: LakeFiles, table: str, day: date, version: str) -> None:
    files.write_text(version_key(table, day, version) + "part-0.parquet", f"{table} {day} {version}")


def _written_day(files: LakeFiles, day: date, version: str) -> None:
    for table in lake_layout.CURATED_TABLES:
        _write_version(files, table, day, version)


def test_a_re_run_whose_manifest_write_fails_leaves_the_previous_manifest_standing(tmp_path: Path) -> None:
    # GIVEN the 24th published as V0 on a local lake, and a re-run that wrote V1
    filesystem = _FullDiskFor(lake_layout.DAY_MANIFEST)
    files = LakeFiles(filesystem, str(tmp_path))
    catalog = MemoryCatalog()
    _written_day(files, DAY, V0)
    publish_day(catalog, files, DAY, "night-24", V0)
    _written_day(files, DAY, V1)
    # WHEN the re-run's manifest write fails partway, the disk being full
    filesystem.full = True
    with pytest.raises(DayNotPublished, match=f"version {V0} stands"):
        publish_day(catalog, files, DAY, "re-run-24", V1)
    filesystem.full = False
    # THEN, as the error says, V0 stands: its manifest still reads, and the catalog is on it
    manifest = read_manifest(files, DAY)
    assert manifest is not None
    assert manifest.version == V0


def test_a_removal_whose_record_rewrite_fails_leaves_the_other_versions_noted(tmp_path: Path) -> None:
    # GIVEN the 24th published as V2, with V0 noted long ago (past its grace) and V1 noted just now
    filesystem = _FullDiskFor(lake_layout.SUPERSEDED_RECORD)
    files = LakeFiles(filesystem, str(tmp_path))
    catalog = MemoryCatalog()
    for version in (V0, V1):
        _written_day(files, DAY, version)
    _written_day(files, DAY, V2)
    publish_day(catalog, files, DAY, "re-run-24", V2, datetime(2026, 11, 27, 12, tzinfo=UTC))
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    write_superseded(files, DAY, {V0: datetime(2026, 11, 27, 12, tzinfo=UTC), V1: now})
    # WHEN a later publish removes V0 and its rewrite of the record fails partway, the disk being full
    filesystem.full = True
    _notes, failed = remove_superseded_days(catalog, files, [], now)
    filesystem.full = False
    assert failed, "the failed rewrite is reported"
    # THEN V1, whose grace has not passed, is still noted, for the next night to remove
    assert V1 in read_superseded(files, DAY)
    assert files.files(publication.day_folder("sales_fact", DAY))


class _RecordUnwritable:
    """A local file system on which writing any superseded record fails (AccessDenied, a throttled PutObject)."""

    type_name = "local"

    def __init__(self) -> None:
        self._local = pafs.LocalFileSystem()
        self.refuse = False

    def open_output_stream(self, path: str, *args: Any, **kwargs: Any) -> Any:
        if self.refuse and path.endswith(lake_layout.SUPERSEDED_RECORD):
            raise PermissionError("AccessDenied")
        return self._local.open_output_stream(path, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._local, name)


def test_an_old_day_whose_older_version_was_not_noted_has_it_removed_by_a_later_night(tmp_path: Path) -> None:
    # GIVEN the 1st published as V0, then back-filled as V1 on the 25th, whose noting of V0 fails
    old, filesystem, catalog = date(2026, 11, 1), _RecordUnwritable(), MemoryCatalog()
    files = LakeFiles(filesystem, str(tmp_path))
    for version in (V0, V1):
        _written_day(files, old, version)
    publish_day(catalog, files, old, "night-1", V0, datetime(2026, 11, 2, 17, 30, tzinfo=UTC))
    filesystem.refuse = True
    with pytest.raises(publication.CleanupFailed, match="catch-up span holds the day removes them"):
        publish_day(catalog, files, old, "backfill-1", V1, datetime(2026, 11, 25, 17, 30, tzinfo=UTC))
    filesystem.refuse = False
    # WHEN the nights of the 25th to the 30th publish their days, each past the grace
    for later in range(25, 31):
        night, version = date(2026, 11, later), f"202611{later}T170000000000Z"
        _written_day(files, night, version)
        publish_run(catalog, files, night, f"night-{later}", version, datetime(2026, 11, later, 18, tzinfo=UTC))
    # THEN V0 of the 1st, published by nothing since the back-fill, is gone
    assert files.files(version_key("sales_fact", old, V0)) == []


def test_an_old_day_a_killed_back_fill_left_half_pointed_is_put_back_by_a_later_night(tmp_path: Path) -> None:
    # GIVEN the 1st published as V0; then a back-fill of it, which wrote V1 and its publishing marker and pointed
    # sales_fact at V1, killed before the next catalog call
    old, files, catalog = date(2026, 11, 1), LakeFiles(pafs.LocalFileSystem(), str(tmp_path)), MemoryCatalog()
    for version in (V0, V1):
        _written_day(files, old, version)
    published = publish_day(catalog, files, old, "night-1", V0, datetime(2026, 11, 2, 17, 30, tzinfo=UTC))
    meant = publication.DayManifest(old, "backfill-1", V1, {t: version_key(t, old, V1) for t in published.tables})
    files.write_text(lake_layout.day_publishing_key(old), meant.to_json())
    catalog.point("sales_fact", old, version_key("sales_fact", old, V1))
    # WHEN the nights of the 25th to the 30th publish their days
    for later in range(25, 31):
        night, version = date(2026, 11, later), f"202611{later}T170000000000Z"
        _written_day(files, night, version)
        publish_run(catalog, files, night, f"night-{later}", version, datetime(2026, 11, later, 18, tzinfo=UTC))
    # THEN the 1st reads as its manifest says, every partition on V0: never a mixture
    assert {t: catalog.location(t, old) for t in published.tables} == dict(published.tables)
