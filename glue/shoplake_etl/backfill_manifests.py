"""One-off: a day manifest for every curated day published before manifests existed.

Those days are in the catalog but have no manifest, so the catch-up (`publication.published_days`) and the
local analytics (`analytics.lake`) do not see them. For each day with curated data in the lake and no
manifest, the manifest is written from where the catalog's partitions point. Days with a manifest are
never touched, so running it again changes nothing. A day whose catalog a publish is pointing, or left half
pointed, gets none (each is printed as skipped, with the reason).

    python -m shoplake_etl.backfill_manifests --lake-root s3://<lake bucket>/ --database <lake database>

(credentials and region from the environment, as for the AWS CLI); `--dry-run` only lists the days.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from shoplake import lake_layout
from shoplake_etl.catalog import Catalog, GlueCatalog
from shoplake_etl.publication import (
    IN_FLIGHT,
    DayManifest,
    LakeFiles,
    key_version,
    key_version_time,
    published_days,
    version_time,
)
from shoplake_etl.unfinished import unfinished_publish

BACKFILL_RUN_ID = "backfill-manifests"
_DAY = re.compile(r"/year=(\d{4})/month=(\d{2})/day=(\d{2})/")


@dataclass(frozen=True)
class Backfilled:
    """A manifest written for `day`; `missing` are the curated tables the catalog has no partition of that day for."""

    manifest: DayManifest
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Backfill:
    """What a back-fill did: the manifests `written` (or to write, in a dry run), by day, and the days `skipped`
    ({day: why}) whose catalog is no day published whole: a publish under way, or one that did not finish."""

    written: list[Backfilled]
    skipped: dict[date, str]


def curated_days(files: LakeFiles) -> list[date]:
    """Every day some curated table has files for under `curated/<table>/year=/month=/day=/`, in order."""
    days = set()
    for table in lake_layout.CURATED_TABLES:
        for key in files.files(f"{lake_layout.ETL_CURATED}{table}/"):
            found = _DAY.search(key)
            if found:
                days.add(date(*(int(part) for part in found.groups())))
    return sorted(days)


def backfill_manifests(
    catalog: Catalog, files: LakeFiles, *, dry_run: bool = False, now: datetime | None = None
) -> Backfill:
    """Write the manifest of each curated day without one whose catalog has a partition; returns what it did.

    The manifest names each table's partition location (a lake key), its `version` the newest version among
    them (or `BACKFILL_RUN_ID` if none is a publish version), its `run_id` `BACKFILL_RUN_ID`. A day with no
    partition at all is left alone. A day being published is never committed from a half-pointed catalog: a day
    a publish left unfinished (`unfinished.unfinished_publish`: a publishing marker, partitions on different
    versions, a version written but not pointed at) and a day whose partitions name a version made less than
    `publication.IN_FLIGHT` before `now` (aware; the clock's by default) are skipped, each with its reason: the
    next publish undoes the first kind, and a later back-fill writes the second's. Idempotent. Raises the
    catalog's and the file system's errors.
    """
    now = now or datetime.now(UTC)
    done = set(published_days(files))
    written, skipped = [], {}
    for day in curated_days(files):
        if day in done:
            continue
        unfinished = unfinished_publish(catalog, files, day)
        if unfinished is not None:
            skipped[day] = f"a publish that did not finish, the next publish undoes it: {unfinished.reason}"
            continue
        located = {table: catalog.location(table, day) for table in lake_layout.CURATED_TABLES}
        tables = {table: key for table, key in located.items() if key is not None}
        if not tables:
            continue
        young = sorted(key for key in tables.values() if (key_version_time(key) or now) > now - IN_FLIGHT)
        if young:
            skipped[day] = (
                f"a publish may be under way (made less than {IN_FLIGHT} ago: {', '.join(young)}), run again later"
            )
            continue
        versions = [key_version(key) for key in tables.values()]
        timed = sorted(version for version in versions if version is not None and version_time(version) is not None)
        manifest = DayManifest(day, BACKFILL_RUN_ID, timed[-1] if timed else BACKFILL_RUN_ID, tables)
        if not dry_run:
            files.write_text(lake_layout.day_manifest_key(day), manifest.to_json())
        written.append(Backfilled(manifest, tuple(t for t in lake_layout.CURATED_TABLES if t not in tables)))
    return Backfill(written, skipped)


def main(argv: list[str] | None = None) -> None:
    """The command line: `--lake-root s3://bucket/ --database name [--dry-run]`; prints one line per day."""
    import boto3  # noqa: PLC0415 - the command's own dependency, not the library's

    parser = argparse.ArgumentParser(prog="python -m shoplake_etl.backfill_manifests", description=__doc__)
    parser.add_argument("--lake-root", required=True, help="s3://<lake bucket>/ (or file:///dir/ locally)")
    parser.add_argument("--database", required=True, help="the Glue database of the curated tables")
    parser.add_argument("--dry-run", action="store_true", help="list the days, write nothing")
    options = parser.parse_args(argv)
    root = options.lake_root if options.lake_root.endswith("/") else options.lake_root + "/"
    catalog = GlueCatalog(boto3.client("glue"), options.database, root)
    found = backfill_manifests(catalog, LakeFiles.from_uri(root), dry_run=options.dry_run)
    for each in found.written:
        missing = f"; no partition for {', '.join(each.missing)}" if each.missing else ""
        print(f"{each.manifest.day}: version {each.manifest.version}{missing}")  # noqa: T201 - the command's output
    for day, why in found.skipped.items():
        print(f"{day}: skipped, {why}")  # noqa: T201
    written = f"{len(found.written)} manifest(s) {'to write' if options.dry_run else 'written'}"
    print(f"{written}, {len(found.skipped)} day(s) skipped")  # noqa: T201


if __name__ == "__main__":  # pragma: no cover
    main()
