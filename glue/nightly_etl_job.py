"""Glue job: one step of the nightly ETL, chosen by --step (extract, clean, curate, clickstream_hourly,
quality, publish), for the business day --run_date (YYYY-MM-DD, or "yesterday" in Asia/Seoul).

The steps' transforms are the pure functions in `shoplake_etl`; this entry only resolves
arguments and will read and write the lake. Issue #5 is in progress: the steps' lake I/O is
not wired yet, so the job refuses to run rather than pretend (the state machine is enabled
only when the `EnableNightlyEtl` parameter says so).
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

STEPS = ("extract", "clean", "curate", "clickstream_hourly", "quality", "publish")
BUSINESS_ZONE = ZoneInfo("Asia/Seoul")


def resolve_run_date(value: str, now: datetime) -> date:
    """The business day a run is for: an explicit date, or yesterday in Seoul at `now`."""
    if value == "yesterday":
        return now.astimezone(BUSINESS_ZONE).date() - timedelta(days=1)
    return date.fromisoformat(value)


def main() -> None:  # pragma: no cover - needs Glue's runtime
    from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]  # noqa: PLC0415

    args = getResolvedOptions(sys.argv, ["JOB_NAME", "step", "run_date"])
    if args["step"] not in STEPS:
        raise SystemExit(f"unknown step {args['step']!r}; one of {', '.join(STEPS)}")
    run_date = resolve_run_date(args["run_date"], datetime.now(BUSINESS_ZONE))
    raise SystemExit(f"step {args['step']} for {run_date}: the lake I/O of the nightly ETL is not wired yet (issue #5)")


if __name__ == "__main__":  # pragma: no cover
    main()
