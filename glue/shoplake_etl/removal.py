"""Removing the versions of a day that no one reads any more, after each publish, for any day that has some.

A version is removed only once it is noted in its day's record (`shoplake_etl.superseded`) and `GRACE` has
passed since it stopped being read, and then only if neither the day's manifest nor any partition names it.
What notes a version: a publish, for the versions older than the one it made the day's (`publication.publish_day`);
a publish that failed before its manifest, for its own new version; the undoing of an unfinished day, for the
version its publishing marker names as that publish's own (`unfinished.undo_unfinished`). And, for the published
days of a night's catch-up span, `note_leftovers`: versions older than the manifest's that no record names (left
before records, or a record not written), and versions newer than it that no partition names, made more than
`IN_FLIGHT` ago (a re-run that failed or was killed). A day without a manifest has nothing noted but its failed
publishes' own versions: whatever else it holds may be the last whole publication of a table, kept for a re-run.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from shoplake import lake_layout
from shoplake_etl.catalog import Catalog
from shoplake_etl.publication import (
    IN_FLIGHT,
    LakeFiles,
    ManifestError,
    day_folder,
    key_version,
    read_manifest,
    version_time,
)
from shoplake_etl.superseded import GRACE, note_superseded, read_superseded, superseded_days, write_superseded


def day_versions(files: LakeFiles, day: date) -> dict[str, list[str]]:
    """Every version of `day` any curated table has written, with its folders' keys (`publication.version_key`)."""
    found: dict[str, list[str]] = {}
    for table in lake_layout.CURATED_TABLES:
        for folder in files.folders(day_folder(table, day)):
            version = key_version(folder)
            if version is not None:
                found.setdefault(version, []).append(folder)
    return found


def named_versions(catalog: Catalog, day: date) -> set[str]:
    """The versions `day`'s partitions name, one location per curated table."""
    named = (key_version(catalog.location(table, day)) for table in lake_layout.CURATED_TABLES)
    return {version for version in named if version is not None}


def note_leftovers(catalog: Catalog, files: LakeFiles, day: date, now: datetime) -> None:
    """Of a published day, note the versions no record names that nothing will read again (see the module).

    An older version is taken as superseded `IN_FLIGHT` after the manifest's version was made (a publish ends by
    then); a newer one as stopped `IN_FLIGHT` after it was made itself. `now` is aware. Nothing for a day without
    a manifest. Raises ManifestError for a manifest that cannot be read, and the file system's errors.
    """
    manifest = read_manifest(files, day)
    published_at = None if manifest is None else version_time(manifest.version)
    if manifest is None or published_at is None:
        return
    noted, named = read_superseded(files, day), named_versions(catalog, day)
    found: dict[str, datetime] = {}
    for version in day_versions(files, day):
        made_at = version_time(version)
        if version in noted or version in named or made_at is None:
            continue
        if made_at < published_at:
            found[version] = published_at + IN_FLIGHT
        elif made_at > published_at and made_at + IN_FLIGHT <= now:
            found[version] = made_at + IN_FLIGHT
    note_superseded(files, day, found)


def remove_superseded(catalog: Catalog, files: LakeFiles, day: date, now: datetime) -> list[str]:
    """Remove every folder of each version `day`'s record holds for `GRACE` or more; returns the keys removed.

    A version the manifest or a partition names again is struck from the record, not removed; one still in its
    grace stays noted; the record goes once it is empty. `now` is aware. Raises ManifestError for a manifest that
    cannot be read (nothing removed), and the file system's errors (the record then still names what is left).
    """
    noted = read_superseded(files, day)
    if not noted:
        return []
    manifest = read_manifest(files, day)
    live = named_versions(catalog, day) | ({manifest.version} if manifest else set())
    folders, removed, left = day_versions(files, day), [], dict(noted)
    for version, at in sorted(noted.items()):
        if version in live:
            del left[version]
        elif at + GRACE <= now:
            for folder in folders.get(version, []):
                files.delete_folder(folder)
                removed.append(folder)
            del left[version]
    if left != noted:
        write_superseded(files, day, left)
    return removed


def remove_superseded_days(
    catalog: Catalog, files: LakeFiles, span: Iterable[date], now: datetime
) -> tuple[list[str], list[str]]:
    """After a publish: `note_leftovers` for each day of `span`, then `remove_superseded` for it and for every
    day with a record. Returns (one line per folder removed or day left, one line per day that failed with its
    error); a day that fails never stops the others."""
    span = set(span)
    notes, failed = [], []
    for day in sorted(span | set(superseded_days(files))):
        try:
            if day in span:
                note_leftovers(catalog, files, day, now)
            removed = remove_superseded(catalog, files, day, now)
            notes += [f"{day}: removed {key}, no longer published" for key in removed]
        except ManifestError as error:
            notes.append(f"{day}: nothing of it removed, its manifest must be mended first: {error}")
        except Exception as error:  # noqa: BLE001 - every day is tried; the failures are raised by the caller
            failed.append(f"{day} ({error!r})")
    return notes, failed
