"""The record of a day's versions no longer published, each kept for a grace period before it is removed.

A query lists a version's files when it starts and reads them until it ends, Athena and the local analytics
(DuckDB) alike; a file removed in between fails it (Athena's HIVE_CANNOT_OPEN_SPLIT). An Athena DML query is
cancelled after 30 minutes by default, after at most 240 with its quota raised (the "DML query timeout",
https://docs.aws.amazon.com/athena/latest/ug/service-limits.html). So a version that stops being published (a
newer one's manifest confirmed, a failed publish put back or undone) is not removed at once: it is noted in its
day's record (`lake_layout.day_superseded_key`) with the time it stopped being read, and removed by the first
publish `GRACE` or more after that (`shoplake_etl.removal`). Every publish lists the records' prefix, which
holds only days with versions awaiting removal, so the record is what makes the removal happen for any day,
inside a night's catch-up span or not.

The record, JSON: {"day": "YYYY-MM-DD", "versions": {"<version>": "<ISO 8601 time, UTC>"}}.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from shoplake import lake_layout

if TYPE_CHECKING:
    from shoplake_etl.publication import LakeFiles

LOGGER = logging.getLogger(__name__)

# How long a version that stopped being published stays readable: the longest Athena DML query (240 minutes, its
# quota's maximum), and an hour for the noted time, the publish step's start, coming before the catalog moved.
GRACE = timedelta(hours=5)


def read_superseded(files: LakeFiles, day: date) -> dict[str, datetime]:
    """`day`'s versions awaiting removal, each with when it stopped being read (aware, UTC); {} without a record.

    A record that cannot be read (cut short, edited by hand) is logged, by its key, and read as {}: what it
    named stays in the lake, never removed on a guess.
    """
    key = lake_layout.day_superseded_key(day)
    text = files.read_text(key)
    if text is None:
        return {}
    try:
        versions = json.loads(text)["versions"]
        return {str(v): datetime.fromisoformat(at).astimezone(UTC) for v, at in versions.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        LOGGER.warning("%s: not a record of superseded versions, so nothing of it is removed: %r", key, error)
        return {}


def write_superseded(files: LakeFiles, day: date, versions: Mapping[str, datetime]) -> None:
    """Write `day`'s record whole (one PutObject), or remove it when no version awaits removal."""
    key = lake_layout.day_superseded_key(day)
    if not versions:
        files.delete_file(key)
        return
    body = {"day": day.isoformat(), "versions": {v: at.astimezone(UTC).isoformat() for v, at in versions.items()}}
    files.write_text(key, json.dumps(body, sort_keys=True, indent=2))


def note_superseded(files: LakeFiles, day: date, versions: Mapping[str, datetime]) -> None:
    """Add `versions` (version -> when it stopped being read, aware) to `day`'s record; an earlier time noted
    before for a version stays, since it was superseded then."""
    if not versions:
        return
    record = read_superseded(files, day)
    for version, at in versions.items():
        record[version] = min(at, record.get(version, at))
    write_superseded(files, day, record)


def superseded_days(files: LakeFiles) -> list[date]:
    """The days with a record, in order. A key under `curated/_superseded/` that is no day's record is logged
    and passed over."""
    return files.days_with(
        lake_layout.ETL_SUPERSEDED_DAYS, lake_layout.SUPERSEDED_RECORD, "a record of superseded versions"
    )
