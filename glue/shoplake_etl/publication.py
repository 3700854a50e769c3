"""Publishing a checked day: every curated table's new version becomes the day, or none does.

The Glue catalog moves one table's partition at a time (GetPartition/UpdatePartition take one
table), so the catalog alone cannot make four tables change together. The day manifest
(`lake_layout.day_manifest_key`) is the commit: written only once every table's partition points
at the day's new version, it is the one record that the catch-up (`published_days`) and the
analytics (`analytics.lake`) trust. Before its first catalog call a publish writes the day's publishing
marker (`lake_layout.day_publishing_key`), removed once the manifest is: a day with one and no manifest is
a publish that did not finish, which the next publish undoes (`shoplake_etl.unfinished`). A failure
before the manifest puts every partition back where the previous manifest had it (or drops the partitions
of a day never published), so the day reads as it was; a manifest write that raised is read back, since it
may have landed, and written again while no read-back can tell; if none ever can, the catalog is left on the
new version and the error (PublishOutcomeUnknown) says the day may be published. Versions are the UTC
time their run started, so they sort by time. Nothing is removed here: once the catalog is confirmed on the
new version, the versions OLDER than it are noted as superseded (`shoplake_etl.superseded`), so queries that
listed their files can finish, and a later publish removes them after the grace (`shoplake_etl.removal`); a
publish that fails before its manifest notes its own new version likewise. A failure after the manifest is a
DayPublishedUnfinished: the day is published, and the error says what is left. `shoplake_etl.repair`
reconciles the catalog with the manifests at each publish.

Standard library and the lake's files (`shoplake_etl.lake_files`) only, no Spark: the tests drive it against
moto's Glue.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from shoplake import lake_layout
from shoplake_etl.catalog import Catalog
from shoplake_etl.lake_files import LakeFiles as LakeFiles  # noqa: PLC0414 - a re-export, for its importers
from shoplake_etl.superseded import note_superseded

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class DayManifest:
    """One published day: the run that published it, its version, and each curated table's folder (a lake key)."""

    day: date
    run_id: str
    version: str
    tables: Mapping[str, str]

    def to_json(self) -> str:
        """The manifest as JSON: {"day": "YYYY-MM-DD", "run_id", "version", "tables": {table: lake key}}."""
        body = {"day": self.day.isoformat(), "run_id": self.run_id, "version": self.version, "tables": self.tables}
        return json.dumps(body, sort_keys=True, indent=2)

    @classmethod
    def from_json(cls, text: str) -> DayManifest:
        """Raises ValueError (json.JSONDecodeError included) or KeyError for text that is not a manifest."""
        body = json.loads(text)
        tables = {str(table): str(key) for table, key in body["tables"].items()}
        return cls(date.fromisoformat(body["day"]), str(body["run_id"]), str(body["version"]), tables)


# A version is the UTC time its publish run started, e.g. 20261124T170312123456Z: fixed width, so the
# versions of a day sort by time as text. Every version the publish step ever made has this form.
VERSION_FORMAT = "%Y%m%dT%H%M%S%fZ"
# A version newer than a day's manifest, younger than this, may be a publish still under way (a run of
# another day never moves it back); older, it is a publish that died between its catalog calls.
IN_FLIGHT = timedelta(hours=6)


def new_version(now: datetime) -> str:
    """The version a publish starting at `now` (aware) writes: `VERSION_FORMAT` in UTC."""
    return now.astimezone(UTC).strftime(VERSION_FORMAT)


def version_time(version: str) -> datetime | None:
    """When `version` was made (aware, UTC), or None for a version not in `VERSION_FORMAT` (never removed)."""
    try:
        return datetime.strptime(version, VERSION_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def version_key(table: str, day: date, version: str) -> str:
    """`curated/<table>/year=/month=/day=/version=<version>/`: one published version of a table's day."""
    return f"{day_folder(table, day)}{lake_layout.PUBLISHED_VERSION_KEY}={version}/"


def day_folder(table: str, day: date) -> str:
    """`curated/<table>/year=/month=/day=/`: the folder of a table's day, which holds its version folders."""
    return f"{lake_layout.ETL_CURATED}{table}/{lake_layout.partition_path(day)}"


def key_version(key: str | None) -> str | None:
    """The version a key `.../version=<v>/` (its last slash optional) names; None for any other key or None."""
    label, _, version = (key or "").rstrip("/").rsplit("/", 1)[-1].partition("=")
    return version if label == lake_layout.PUBLISHED_VERSION_KEY else None


def key_version_time(key: str | None) -> datetime | None:
    """The time (aware, UTC) of the version a key `.../version=<v>/` names; None for any other key or None."""
    version = key_version(key)
    return None if version is None else version_time(version)


class ManifestError(ValueError):
    """A day manifest that cannot be read (cut short, edited by hand) or is not `day`'s (another day's copied
    over it, a folder of another day or table); the message names its key and day, and what is wrong."""


def manifest_problems(manifest: DayManifest, day: date) -> list[str]:
    """What makes `manifest` no manifest of `day`, one clause each; [] for one that is.

    A manifest of `day` names `day`, a version that is one folder name (not empty, no `/`), only curated tables
    (`lake_layout.CURATED_TABLES`; some may be absent), and for each exactly `version_key(table, day, version)`:
    that table's folder of its version of that day, as publish spells it. Anything else (another day's manifest
    copied to this key, a folder of another day or table) would point the day's partitions at files not its own.
    """
    problems = []
    if manifest.day != day:
        problems.append(f"it is the manifest of {manifest.day}")
    if not manifest.version or "/" in manifest.version:
        problems.append(f"its version {manifest.version!r} is no version folder's name")
    unknown = sorted(set(manifest.tables) - set(lake_layout.CURATED_TABLES))
    if unknown:
        problems.append(f"it names tables that are not curated tables: {', '.join(unknown)}")
    wrong = [
        f"{table}: {key} (not {version_key(table, day, manifest.version)})"
        for table, key in sorted(manifest.tables.items())
        if table in lake_layout.CURATED_TABLES and key != version_key(table, day, manifest.version)
    ]
    if wrong:
        problems.append(f"it names folders other than its version of {day}: {'; '.join(wrong)}")
    return problems


def read_manifest(files: LakeFiles, day: date) -> DayManifest | None:
    """`day`'s manifest, or None for a day never published whole.

    Raises ManifestError, naming the manifest's key and `day`, for a file that is not a manifest (cut short,
    edited by hand) or is not `day`'s (`manifest_problems`: another day's, folders not of its tables' version of
    `day`, a table that is not curated), so nothing ever follows it.
    """
    key = lake_layout.day_manifest_key(day)
    text = files.read_text(key)
    if text is None:
        return None
    try:
        manifest = DayManifest.from_json(text)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ManifestError(f"{key}: the manifest of {day} cannot be read: {error!r}") from error
    problems = manifest_problems(manifest, day)
    if problems:
        raise ManifestError(f"{key}: not a manifest of {day}, so not followed: {'; '.join(problems)}")
    return manifest


def published_days(files: LakeFiles) -> list[date]:
    """The days with a manifest, that is the days published whole, in order: what the catch-up counts from.

    A key under `curated/_published/` that is not a day's manifest key (a backup copy, `day=24 (copy)/`,
    a stray file, a folder of a day no calendar has such as `month=13`) is no published day: it is logged, by
    its key, and left out, so one stray key never stops a night's catch-up.
    """
    return files.days_with(
        lake_layout.ETL_PUBLISHED_DAYS, lake_layout.DAY_MANIFEST, "a day manifest, so not a published day"
    )


class DayNotPublished(RuntimeError):  # noqa: N818 - the message says what stands instead
    """Publish failed before the manifest was written: the day reads as before (previous version, or nothing)."""


class DayPublishedUnfinished(RuntimeError):  # noqa: N818 - the message says what is left
    """The manifest is written, so the day IS published; something after it failed. The message says what is
    left and who finishes it; it always holds `PUBLISHED_BUT`."""


# What every DayPublishedUnfinished message says, and what the state machine's failure notice looks for.
PUBLISHED_BUT = "the day is published, but"


class PublishNotConfirmed(DayPublishedUnfinished):
    """After the manifest, the catalog does not point where it says; nothing was removed."""


class CleanupFailed(DayPublishedUnfinished):
    """After the manifest and the confirmed catalog, noting or removing versions no longer published, removing the
    publishing marker or the run's staging failed; the message says what is left and what removes it."""


class RestoreIncomplete(RuntimeError):  # noqa: N818 - the message names every table
    """Putting a day's partitions back failed for some tables; the message names each with its error."""


class PublishOutcomeUnknown(DayNotPublished):
    """The manifest write raised and no read-back could tell whether it landed: the day MAY be published.

    The catalog is left on the new version (what the manifest names if it landed) and the day's publishing
    marker stays, so the next publish's reconciliation (`shoplake_etl.repair`) brings the catalog to whichever
    manifest is there, or undoes a day that has none. Raised as a DayNotPublished: what follows is the same,
    the next night catches the day up or a re-run replaces it. The message holds `MAY_BE_PUBLISHED` and names both
    outcomes.
    """


# What every PublishOutcomeUnknown message says, and what the state machine's failure notice looks for.
MAY_BE_PUBLISHED = "the day may be published"
# How often the manifest is written while a write raises and its read-back cannot tell whether it landed.
COMMIT_ATTEMPTS = 3


def publish_day(  # noqa: PLR0917 - one run's own parameters
    catalog: Catalog, files: LakeFiles, day: date, run_id: str, version: str, now: datetime | None = None
) -> DayManifest:
    """Make `version` of every curated table the published `day`: all the tables, or none.

    Each table's version must already be written at `version_key(table, day, version)`. Writes the day's
    publishing marker (`lake_layout.day_publishing_key`, the manifest to be), points each partition at the
    version, writes the manifest (the commit), confirms every partition, then notes the day's older versions as
    superseded at `now` (aware; the clock's time if None), for a later publish to remove once no query can still
    be reading them (`removal.remove_superseded`), and removes the marker. A manifest write that raises is read
    back: if the manifest names `version` (a timeout after S3 stored it) the day is published. If it did not land,
    and on any error before, every partition is put back where the previous manifest has it (dropped for a day
    without one), `version` is noted as superseded, and DayNotPublished is raised (RestoreIncomplete if a table
    could not be put back); PublishOutcomeUnknown if no read-back could tell. After the manifest:
    PublishNotConfirmed if the catalog reads back otherwise, CleanupFailed if the older versions cannot be noted
    or the marker cannot be removed.
    """
    previous = read_manifest(files, day)
    manifest = DayManifest(day, run_id, version, {t: version_key(t, day, version) for t in lake_layout.CURATED_TABLES})
    stands = f"version {previous.version} stands" if previous else "nothing of it is published"
    try:
        files.write_text(lake_layout.day_publishing_key(day), manifest.to_json())
        for table, key in manifest.tables.items():
            catalog.point(table, day, key)
        _commit(files, manifest)
    except PublishOutcomeUnknown as error:
        raise PublishOutcomeUnknown(
            f"{day}: {MAY_BE_PUBLISHED}: {error}; the catalog is left on version {version}, so if the "
            f"manifest landed, version {version} stands; if not, {stands} and the next publish points the catalog "
            "back to it"
        ) from error
    except Exception as error:
        restore_day(catalog, day, previous)
        with contextlib.suppress(Exception):  # a marker left of a day put back is undone by the next publish
            note_superseded(files, day, {version: now or datetime.now(UTC)})
            files.delete_file(lake_layout.day_publishing_key(day))
        raise DayNotPublished(f"{day}: the day is not published, {stands}: {error!r}") from error
    except BaseException:
        restore_day(catalog, day, previous)
        raise
    found = {table: catalog.location(table, day) for table in manifest.tables}
    wrong = {table: key for table, key in found.items() if key != manifest.tables[table]}
    if wrong:
        raise PublishNotConfirmed(
            f"{day}: {PUBLISHED_BUT} the catalog points elsewhere after publishing {version}: {wrong}; "
            "nothing was removed, and the next publish points the catalog where the manifest says"
        )
    try:
        made_at = version_time(version)  # a version not in VERSION_FORMAT supersedes nothing: none is removed
        found = {key_version(f) for t in manifest.tables for f in files.folders(day_folder(t, day))}
        times = {v: version_time(v) for v in found if v is not None}
        older = sorted(v for v, t in times.items() if made_at is not None and t is not None and t < made_at)
        note_superseded(files, day, dict.fromkeys(older, now or datetime.now(UTC)))
    except Exception as error:
        raise CleanupFailed(
            f"{day}: {PUBLISHED_BUT} its versions older than {version} were not noted for removal ({error!r}); "
            "the reconciliation of a publish whose catch-up span holds the day removes them"
        ) from error
    try:
        files.delete_file(lake_layout.day_publishing_key(day))
    except Exception as error:
        raise CleanupFailed(
            f"{day}: {PUBLISHED_BUT} its publishing marker was not removed ({error!r}); "
            "the reconciliation of a publish whose catch-up span holds the day removes it"
        ) from error
    return manifest


def _commit(files: LakeFiles, manifest: DayManifest) -> None:
    """Write the manifest, until it reads back naming this run's version (`COMMIT_ATTEMPTS` writes at most).

    A write that raised is read back: landed, it is written. Raises the last write's error if the last read-back
    found another manifest or none, PublishOutcomeUnknown (with both errors) if it failed too.
    """
    unknown: Exception | None = None
    for _ in range(COMMIT_ATTEMPTS):
        try:
            files.write_text(lake_layout.day_manifest_key(manifest.day), manifest.to_json())
            return
        except Exception as error:  # noqa: BLE001 - read back below, raised after the last attempt
            written = error
        try:
            found = read_manifest(files, manifest.day)
        except Exception as error:  # noqa: BLE001 - whether it landed is unknown: written again
            unknown = error
            continue
        unknown = None
        if found is not None and (found.version, found.run_id) == (manifest.version, manifest.run_id):
            return
    if unknown is not None:
        raise PublishOutcomeUnknown(
            f"the manifest write raised ({written!r}) and reading it back failed ({unknown!r})"
        ) from written
    raise written


def restore_day(catalog: Catalog, day: date, manifest: DayManifest | None) -> None:
    """Point every curated table's partition for `day` where `manifest` has it; drop them all without one.

    Tries every table; raises RestoreIncomplete naming each table that failed, with its error.
    """
    failed = {}
    for table in lake_layout.CURATED_TABLES:
        try:
            if manifest is None or table not in manifest.tables:
                catalog.drop(table, day)
            else:
                catalog.point(table, day, manifest.tables[table])
        except Exception as error:  # noqa: BLE001 - every table is tried, then all failures are raised
            failed[table] = error
    if failed:
        named = "; ".join(f"{table} ({error!r})" for table, error in failed.items())
        raise RestoreIncomplete(f"{day}: could not put back {named}; the next publish reconciles them")
