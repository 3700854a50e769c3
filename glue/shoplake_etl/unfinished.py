"""Days without a manifest whose catalog a publish left half pointed, found and undone.

A publish points the partitions one table at a time and commits with the manifest (`publication.publish_day`).
Killed between two catalog calls (no `except` runs), it leaves a day of no manifest whose partitions Athena
reads as a mixture: one table of the new day beside another's nothing. Three signs tell such a day from a day
published before manifests existed (whole, every partition on one version, no marker): the day's publishing
marker (`lake_layout.day_publishing_key`), written before the first catalog call; partitions on different
versions; or a version some partition names that another table has written but no partition of it names (a
publish writes every table's version before pointing any). Undone, the day's partitions are dropped: Athena
reads nothing of it, as the catch-up and the analytics, which trust only manifests, already do. Of its version
folders, only the one its publishing marker names as that publish's own new version is noted for removal
(`shoplake_etl.superseded`); every other, the versions its partitions named above all (an old publish that moved
some tables may have removed their previous version: what they named is the last copy), stays in the lake for
the re-run or back-fill the day then needs, and the undo says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shoplake import lake_layout
from shoplake_etl.catalog import Catalog
from shoplake_etl.publication import (
    DayManifest,
    LakeFiles,
    day_folder,
    key_version,
    read_manifest,
    restore_day,
    version_key,
    version_time,
)
from shoplake_etl.superseded import note_superseded


@dataclass(frozen=True)
class Unfinished:
    """Why a day without a manifest is a publish that did not finish (`reason`, a clause naming what was found),
    and `made_at`, the newest version involved (aware, UTC), or None if none is in `VERSION_FORMAT`."""

    reason: str
    made_at: datetime | None


def unfinished_publish(catalog: Catalog, files: LakeFiles, day: date) -> Unfinished | None:
    """Of a day WITHOUT a manifest, why its catalog is a publish that did not finish; None if it is not.

    Unfinished: the day has a publishing marker; its partitions name different versions; or a table has the
    version another table's partition names written (`version_key`) and no partition. Not: no partition and no
    marker, or every partition on one version no other table has written (a day published before manifests,
    a table added since without any). Reads the catalog (one location per curated table) and the lake.
    """
    located = {t: catalog.location(t, day) for t in lake_layout.CURATED_TABLES}
    named = {table: key_version(key) for table, key in located.items() if key is not None}
    reasons, versions = [], {v for v in named.values() if v is not None}
    marker = files.read_text(lake_layout.day_publishing_key(day))
    if marker is not None:
        try:
            meant = DayManifest.from_json(marker)
            versions.add(meant.version)
            reasons.append(f"a publish of version {meant.version} by {meant.run_id} did not finish")
        except (ValueError, KeyError, TypeError, AttributeError):
            reasons.append(f"a publish did not finish (its marker {lake_layout.day_publishing_key(day)} is unreadable)")
    if len(set(named.values())) > 1:
        reasons.append(f"its partitions name different versions ({named})")
    for version in sorted(v for v in set(named.values()) if v is not None):
        unpointed = [
            table
            for table in lake_layout.CURATED_TABLES
            if table not in named and version_key(table, day, version) in files.folders(day_folder(table, day))
        ]
        if unpointed:
            reasons.append(f"version {version} is written for {', '.join(unpointed)} but no partition names it there")
    if not reasons:
        return None
    times = [t for t in (version_time(v) for v in versions) if t is not None]
    return Unfinished("; ".join(reasons), max(times) if times else None)


def undo_unfinished(
    catalog: Catalog, files: LakeFiles, day: date, settled_before: datetime | None, now: datetime
) -> list[str]:
    """Drop every partition of `day` (no manifest) that a publish left unfinished, and its marker; one line.

    A day whose newest version was made after `settled_before` (aware) may be another run's publish under way:
    it is left, and named. None: settled (this run holds the day). A version not in VERSION_FORMAT is settled.
    A day with a manifest, or not unfinished (`unfinished_publish`), is left as it is, with no line. The version
    the marker names as its publish's own is noted as superseded at `now` (aware) before the marker goes; the
    line names every other version kept and says the day needs a re-run or back-fill. Raises RestoreIncomplete
    naming each table whose partition could not be dropped (the marker then stays), and the catalog's and the
    file system's errors.
    """
    if read_manifest(files, day) is not None:
        return []
    found = unfinished_publish(catalog, files, day)
    if found is None:
        return []
    if settled_before is not None and found.made_at is not None and found.made_at >= settled_before:
        return [f"{day}: left as it is, a publish may be under way: {found.reason}"]
    restore_day(catalog, day, None)
    own = _marker_version(files, day)
    if own is not None:
        note_superseded(files, day, {own: now})
    files.delete_file(lake_layout.day_publishing_key(day))
    line = f"{day}: undone, {found.reason}: its partitions are dropped, nothing of it is published"
    kept = sorted(
        {key_version(f) for t in lake_layout.CURATED_TABLES for f in files.folders(day_folder(t, day))} - {own, None}
    )
    if own is not None:
        line += f"; version {own}, that publish's own, is removed once no query can be reading it"
    if kept:
        line += f"; kept version(s) {', '.join(str(v) for v in kept)} in the lake"
    return [f"{line}; re-run the day (or back-fill it) to publish it"]


def _marker_version(files: LakeFiles, day: date) -> str | None:
    """The version `day`'s publishing marker names as its publish's own; None without a readable marker."""
    text = files.read_text(lake_layout.day_publishing_key(day))
    try:
        return None if text is None else DayManifest.from_json(text).version
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
