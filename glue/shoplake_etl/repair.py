"""Repairs at each publish: the catalog brought back to the manifests, older versions removed, and one run published.

A publish killed between two catalog calls (the process gone, no `except` run) leaves some partitions of its
day on its new version while the manifest still names the old, or, for a day never published, names nothing;
nothing would ever move them back. So each publish first reconciles the days of the catch-up span
(`catalog.MAX_CATCH_UP_DAYS` before its day, and its day): every partition that disagrees with its day's
manifest is pointed where the manifest says, and versions older than the manifest's are removed; of a day
without a manifest, a publish left unfinished is undone (`unfinished.undo_unfinished`: its partitions dropped)
and the versions of failed publishes that no partition names are removed. What was repaired is the publish
step's summary."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from shoplake import lake_layout
from shoplake_etl.catalog import MAX_CATCH_UP_DAYS, Catalog
from shoplake_etl.publication import (
    IN_FLIGHT,
    PUBLISHED_BUT,
    CleanupFailed,
    LakeFiles,
    ManifestError,
    day_folder,
    key_version_time,
    publish_day,
    published_days,
    read_manifest,
    remove_unpublished_versions,
)
from shoplake_etl.unfinished import undo_unfinished


def reconcile_day(catalog: Catalog, files: LakeFiles, day: date, settled_before: datetime | None = None) -> list[str]:
    """Point `day`'s partitions where its manifest says; returns one line per repaired table.

    A partition at a version newer than the manifest's and made after `settled_before` may be another run's
    publish under way: it is left, and named. None: every partition is settled (this run holds the day).
    A day without a manifest is left as it is here (`unfinished.undo_unfinished` undoes a half-pointed one).
    """
    manifest = read_manifest(files, day)
    if manifest is None:
        return []
    notes = []
    for table in (t for t in lake_layout.CURATED_TABLES if t in manifest.tables):
        wanted, found = manifest.tables[table], catalog.location(table, day)
        if found == wanted:
            continue
        made_at = key_version_time(found)
        if settled_before is not None and made_at is not None and made_at >= settled_before:
            notes.append(f"{day} {table}: left at {found}, a publish may be under way")
            continue
        catalog.point(table, day, wanted)
        notes.append(f"{day} {table}: moved from {found or 'no partition'} back to the manifest's {wanted}")
    return notes


def reconcile_days(catalog: Catalog, files: LakeFiles, days: list[date], *, held: date, now: datetime) -> list[str]:
    """Bring each day of `days` to its manifest; returns what was repaired or removed, one line each.

    A published day: `reconcile_day`, `remove_unpublished_versions`, and its publishing marker removed once the
    catalog agrees with the manifest. A day without a manifest: `undo_unfinished`, then `remove_orphans`.
    `held` is the day this run holds (settled whatever its versions' age); `now` is aware. Another day whose
    manifest cannot be read is left as it is and named in a line (so one bad record never stops a publish);
    raises ManifestError for the held day's, RestoreIncomplete if an unfinished day's partitions cannot all be
    dropped, and the catalog's and the file system's errors.
    """
    published = set(published_days(files))
    notes = []
    for day in sorted(set(days)):
        settled_before = None if day == held else now - IN_FLIGHT
        if day not in published:
            notes += undo_unfinished(catalog, files, day, settled_before)
            # The held day's versions are this run's to publish; its publish removes the older ones.
            orphans = [] if day == held else remove_orphans(catalog, files, day, now)
            notes += [f"{day}: removed the orphaned {key}" for key in orphans]
            continue
        try:
            notes += reconcile_day(catalog, files, day, settled_before)
            notes += [f"{day}: removed the older {key}" for key in remove_unpublished_versions(catalog, files, day)]
            notes += _clear_marker(catalog, files, day)
        except ManifestError as error:
            if day == held:
                raise  # this run's own day: publishing over a manifest no one can read would lose what it named
            notes.append(f"{day}: left as it is, its manifest must be mended first: {error}")
    return notes


def _clear_marker(catalog: Catalog, files: LakeFiles, day: date) -> list[str]:
    """Remove the publishing marker of a published day whose catalog agrees with its manifest."""
    key, manifest = lake_layout.day_publishing_key(day), read_manifest(files, day)
    if manifest is None or files.read_text(key) is None:
        return []
    if any(catalog.location(table, day) != where for table, where in manifest.tables.items()):
        return []
    files.delete_file(key)
    return [f"{day}: removed the marker of a publish that ended, the manifest's {manifest.version} stands"]


def remove_orphans(catalog: Catalog, files: LakeFiles, day: date, now: datetime) -> list[str]:
    """Of a day WITHOUT a manifest, remove the version folders of failed publishes; returns their keys.

    Those are the folders no partition points at whose version was made more than `IN_FLIGHT` before `now`
    (aware); what the catalog names (a day published before manifests) and what a run may still be
    writing stay. Nothing for a day with a manifest (`remove_unpublished_versions` cleans those).
    """
    removed: list[str] = []
    if read_manifest(files, day) is not None:
        return removed
    for table in lake_layout.CURATED_TABLES:
        named = (catalog.location(table, day) or "").rstrip("/")  # Glue may hold a location without its slash
        for folder in files.folders(day_folder(table, day)):
            made_at = key_version_time(folder)
            if folder.rstrip("/") != named and made_at is not None and made_at < now - IN_FLIGHT:
                files.delete_folder(folder)
                removed.append(folder)
    return removed


def publish_run(  # noqa: PLR0917 - one run's own parameters
    catalog: Catalog, files: LakeFiles, day: date, run_id: str, version: str, now: datetime
) -> list[str]:
    """Publish the run's written `version` of `day` (`publish_day`) after reconciling the catch-up span; then
    remove the run's `staging/<run_id>/`. Returns what the reconciliation repaired, one line each.

    `now` is aware. Raises what `publish_day` raises, the reconciliation's errors (nothing published yet),
    and CleanupFailed if the staging cannot be removed once the day is published (its lifecycle rule
    expires it).
    """
    span = [day - timedelta(days=n) for n in range(MAX_CATCH_UP_DAYS + 1)]
    repaired = reconcile_days(catalog, files, span, held=day, now=now)
    publish_day(catalog, files, day, run_id, version)
    try:
        files.delete_folder(lake_layout.staging_prefix(run_id))
    except Exception as error:
        raise CleanupFailed(
            f"{day}: {PUBLISHED_BUT} the run's staging was not removed ({error!r}); the lake's lifecycle expires it"
        ) from error
    return repaired
