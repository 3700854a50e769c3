"""One-off: a day manifest for every curated day published before manifests existed.

Those days are in the catalog but have no manifest, so the catch-up (`publication.published_days`) and the
local analytics (`analytics.lake`) do not see them. For each day with curated data in the lake and no
manifest, the manifest is written from where the catalog's partitions point. A manifest is never replaced:
it is written only if none is there (`LakeFiles.write_text_if_absent`), so a day a publish commits while this
runs keeps the publish's. Running it again changes nothing. A day whose catalog is not one publish made whole
(a publish pointing or left half pointed, a table without a partition, folders not the day's own) gets none;
each is printed as skipped, with the reason.

    python -m shoplake_etl.backfill_manifests --lake-root s3://<lake bucket>/ --database <lake database>

(credentials and region from the environment, as for the AWS CLI); `--dry-run` only lists the days;
`--allow-missing TABLE ...` names tables a day may lack (tables added after it).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Collection
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
    manifest_problems,
    published_days,
    version_key,
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
    ({day: why}) whose catalog is no day published whole (a publish under way, or one that did not finish,
    tables missing, folders not its own) or whose manifest a publish wrote meanwhile."""

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
    catalog: Catalog,
    files: LakeFiles,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    allow_missing: Collection[str] = (),
) -> Backfill:
    """Write the manifest of each curated day without one whose catalog has a partition; returns what it did.

    The manifest names each table's partition location, as publish spells its version folder
    (`publication.version_key`), its `version` the one version they all name, its `run_id` `BACKFILL_RUN_ID`. A
    day with no partition at all is left alone. A day is committed only from a catalog a publish made whole; each
    other day is skipped, with its reason: a day a publish left unfinished (`unfinished.unfinished_publish`: a
    publishing marker, partitions on different versions, a version written but not pointed at), which the next
    publish undoes; a day with no partition of some curated table, unless each such table is in `allow_missing`
    (a publish writes every table, even one without rows, so a missing table is a publish that stopped halfway,
    or a table added after that day: the operator says which); a day whose partitions are not its own version
    folders (`publication.manifest_problems`), of which no manifest would be followed; a day whose partitions
    name a version made less than `publication.IN_FLIGHT` before `now` (aware; the clock's by default), a
    publish perhaps under way, for a later back-fill; a day whose catalog or version folders changed while it
    was read (checked again just before the write); and a day whose manifest a publish wrote meanwhile, which is
    never replaced (`LakeFiles.write_text_if_absent`). Idempotent. Raises the catalog's and the file system's errors.
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
        missing = tuple(table for table in lake_layout.CURATED_TABLES if table not in tables)
        if set(missing) - set(allow_missing):
            skipped[day] = (
                f"no partition of {', '.join(missing)}: a publish that stopped halfway, or tables added after that "
                f"day (if so, --allow-missing {' '.join(missing)} writes it without them)"
            )
            continue
        manifest = _manifest(day, tables)
        problems = manifest_problems(manifest, day)
        if problems:
            skipped[day] = f"its partitions are not its own version folders: {'; '.join(problems)}"
            continue
        young = sorted(key for key in tables.values() if (key_version_time(key) or now) > now - IN_FLIGHT)
        if young:
            skipped[day] = (
                f"a publish may be under way (made less than {IN_FLIGHT} ago: {', '.join(young)}), run again later"
            )
            continue
        changed = _changed(catalog, files, manifest, located)
        if changed:
            skipped[day] = f"it changed while it was read ({changed}), run again later"
            continue
        if not dry_run and not files.write_text_if_absent(lake_layout.day_manifest_key(day), manifest.to_json()):
            skipped[day] = "a publish wrote its manifest meanwhile, which stands: left as it is"
            continue
        written.append(Backfilled(manifest, missing))
    return Backfill(written, skipped)


def _manifest(day: date, tables: dict[str, str]) -> DayManifest:
    """The manifest of `day` whose partitions are at `tables` ({table: lake key}, at least one).

    Its version is the one the first partition names (`unfinished_publish` found no other), and each table's
    folder spelt as publish spells it when the partition names that folder, its last slash optional (Glue may
    hold a location without it); any other location as it is, for `manifest_problems` to refuse.
    """
    version = key_version(next(iter(tables.values()))) or ""
    spelt = {table: version_key(table, day, version) for table in tables}
    return DayManifest(
        day,
        BACKFILL_RUN_ID,
        version,
        {table: spelt[table] if key.rstrip("/") == spelt[table].rstrip("/") else key for table, key in tables.items()},
    )


def _changed(catalog: Catalog, files: LakeFiles, manifest: DayManifest, located: dict[str, str | None]) -> str:
    """What changed in `manifest.day`'s catalog since it read `located`, or which folder the manifest names has
    no file now (a publish removed it); "" for nothing."""
    again = {table: catalog.location(table, manifest.day) for table in lake_layout.CURATED_TABLES}
    moved = [f"{table}: {located[table]} -> {again[table]}" for table in again if again[table] != located[table]]
    gone = [key for key in manifest.tables.values() if not files.files(key)]
    return "; ".join(moved + [f"{key} is gone" for key in gone])


def main(argv: list[str] | None = None) -> None:
    """The command line: `--lake-root s3://bucket/ --database name [--dry-run] [--allow-missing TABLE ...]`;
    prints one line per day."""
    import boto3  # noqa: PLC0415 - the command's own dependency, not the library's

    parser = argparse.ArgumentParser(prog="python -m shoplake_etl.backfill_manifests", description=__doc__)
    parser.add_argument("--lake-root", required=True, help="s3://<lake bucket>/ (or file:///dir/ locally)")
    parser.add_argument("--database", required=True, help="the Glue database of the curated tables")
    parser.add_argument("--dry-run", action="store_true", help="list the days, write nothing")
    parser.add_argument(
        "--allow-missing",
        nargs="+",
        default=[],
        choices=lake_layout.CURATED_TABLES,
        metavar="TABLE",
        help="curated tables a day may have no partition of (tables added after those days); by default a day "
        "without every table is skipped",
    )
    options = parser.parse_args(argv)
    root = options.lake_root if options.lake_root.endswith("/") else options.lake_root + "/"
    catalog = GlueCatalog(boto3.client("glue"), options.database, root)
    files = LakeFiles.from_uri(root, s3=boto3.client("s3"))
    found = backfill_manifests(catalog, files, dry_run=options.dry_run, allow_missing=options.allow_missing)
    for each in found.written:
        missing = f"; no partition for {', '.join(each.missing)}" if each.missing else ""
        print(f"{each.manifest.day}: version {each.manifest.version}{missing}")  # noqa: T201 - the command's output
    for day, why in found.skipped.items():
        print(f"{day}: skipped, {why}")  # noqa: T201
    written = f"{len(found.written)} manifest(s) {'to write' if options.dry_run else 'written'}"
    print(f"{written}, {len(found.skipped)} day(s) skipped")  # noqa: T201


if __name__ == "__main__":  # pragma: no cover
    main()
