"""AWS services write times in four different ways; alerts carry one."""

from __future__ import annotations

from datetime import UTC, datetime

from shoplake.business import stored_time


def to_utc_iso(value: object) -> str | None:
    """Return `value` as RFC 3339 UTC with milliseconds (`2019-02-26T19:42:21.000Z`), or None if it is no time.

    Accepts ISO 8601 text with any offset (`Z`, `+00:00`, `+0000` as CloudWatch writes it, `+09:00`), text
    without an offset (taken as UTC), and numbers as epoch milliseconds (Step Functions' `startDate`).
    None, `""`, booleans, other types and unparseable text give None; never raises for text. A number
    outside the platform's time range raises OverflowError/OSError/ValueError from `datetime.fromtimestamp`.
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
    """Whole seconds since the Unix epoch (truncated) of a time written by `to_utc_iso`.

    Raises ValueError for text that is not ISO 8601.
    """
    return int(datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).timestamp())
