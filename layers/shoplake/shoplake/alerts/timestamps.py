"""AWS services write times in four different ways; alerts carry one."""

from __future__ import annotations

from datetime import UTC, datetime

from shoplake.business import stored_time


def to_utc_iso(value: object) -> str | None:
    """Return `value` as ISO-8601 UTC (`2019-02-26T19:42:21.000Z`), or None if it is no time.

    Accepts ISO-8601 with `Z`, `+00:00` or `+0000` offsets, and epoch milliseconds.
    """
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(value / 1000, tz=UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    else:
        return None
    return stored_time(moment)


def epoch_seconds(iso_utc: str) -> int:
    """Seconds since the epoch of a time written by `to_utc_iso`."""
    return int(datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).timestamp())
