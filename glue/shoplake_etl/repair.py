"""Repairs at each publish: the catalog brought back to the manifests, a run published, then what no one reads removed.

A publish killed between two catalog calls (the process gone, no `except` run) leaves some partitions of its
day on its new version while the manifest still names the old, or, for a day never published, names nothing;
nothing would ever move them back. So each publish first reconciles the days of the catch-up span
(`catalog.MAX_CATCH_UP_DAYS` before its day, and its day): every partition that disagrees with its day's
manifest is pointed where the manifest says; of a day without a manifest, a publish left unfinished is undone
(`unfinished.undo_unfinished`: its partitions dropped). After its own day is published, it removes the versions
no longer published whose grace has passed, of the span and of every day with versions awaiting removal
(`removal.remove_superseded_days`). What was repaired and removed is the publish step's summary."""

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
    key_version_time,
    publish_day,
    published_days,
    read_manifest,
)
from shoplake_etl.removal import named_versions, remove_superseded_days
from shoplake_etl.superseded import note_superseded
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
    """Bring each day of `days` to its manifest; returns what was repaired, one line each. Removes no version.

    A published day: `reconcile_day` (a version it moves partitions off is noted as superseded at `now`), and its
    publishing marker removed once the catalog agrees with the manifest. A day without a manifest: `undo_unfinished`.
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
            notes += undo_unfinished(catalog, files, day, settled_before, now)
            continue
        try:
            named = named_versions(catalog, day)
            notes += reconcile_day(catalog, files, day, settled_before)
            # A version partitions named until now may be read by queries that started before: noted now.
            note_superseded(files, day, dict.fromkeys(named - named_versions(catalog, day), now))
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


def publish_run(  # noqa: PLR0917 - one run's own parameters
    catalog: Catalog, files: LakeFiles, day: date, run_id: str, version: str, now: datetime
) -> list[str]:
    """Publish the run's written `version` of `day` (`publish_day`) after reconciling the catch-up span; then
    remove the run's `staging/<run_id>/` and the versions no longer published whose grace has passed
    (`removal.remove_superseded_days`: the span's days and every day with a record). Returns what was repaired
    and removed, one line each.

    `now` is aware. Raises what `publish_day` raises, the reconciliation's errors (nothing published yet),
    and CleanupFailed, once the day is published, if the staging (its lifecycle rule expires it) or a day's
    versions (they stay noted, for the next night) cannot be removed.
    """
    # The catch-up span, and any older day a publish left its marker on (a back-fill killed halfway, a publish
    # whose leftovers were not noted): the marker is removed last, so its day is put back and noted until done.
    marked = files.days_with(lake_layout.ETL_PUBLISHING_DAYS, lake_layout.PUBLISHING_MARKER, "a publishing marker")
    span = sorted({day - timedelta(days=n) for n in range(MAX_CATCH_UP_DAYS + 1)} | set(marked), reverse=True)
    repaired = reconcile_days(catalog, files, span, held=day, now=now)
    publish_day(catalog, files, day, run_id, version, now)
    left = []
    try:
        files.delete_folder(lake_layout.staging_prefix(run_id))
    except Exception as error:  # noqa: BLE001 - raised below, after the versions are removed
        left.append(f"the run's staging was not removed ({error!r}); the lake's lifecycle expires it")
    removed, failed = remove_superseded_days(catalog, files, span, now)
    if failed:
        left.append(
            f"versions no longer published were not removed for {'; '.join(failed)}; they stay noted under "
            f"{lake_layout.ETL_SUPERSEDED_DAYS} and the next night removes them"
        )
    if left:
        raise CleanupFailed(f"{day}: {PUBLISHED_BUT} " + "; ".join(left))
    return repaired + removed
