"""python -m analytics --lake <dir or s3://bucket/> --from YYYY-MM-DD --to YYYY-MM-DD --out report.html"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.fs as pafs

from analytics.lake import Lake, NoLakeError
from analytics.report import collect, is_empty, render, write_page


def lake_filesystem(lake: str) -> tuple[pafs.FileSystem, str]:
    """A directory, or s3://bucket/prefix (through AWS_ENDPOINT_URL when set, as the local stack sets it)."""
    if not lake.startswith("s3://"):
        return pafs.LocalFileSystem(), str(Path(lake).resolve())
    location = urlparse(lake)
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    options: dict[str, str] = {
        "region": os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "ap-northeast-2"))
    }
    if endpoint:
        options |= {"endpoint_override": urlparse(endpoint).netloc, "scheme": urlparse(endpoint).scheme}
    return pafs.S3FileSystem(**options), f"{location.netloc}/{location.path.strip('/')}".rstrip("/")


# The Seoul days a report can cover: a Seoul day spans two UTC days, and both must be in the calendar.
FIRST_DAY, LAST_DAY = date.min + timedelta(days=1), date.max - timedelta(days=1)
# The longest range one report covers: every query reads each day's folders by name, so a range of
# centuries would list millions of folders before reading a byte. Two years answer every question here.
LONGEST_RANGE_DAYS = 731


def seoul_day(text: str) -> date:
    """A Seoul day written YYYY-MM-DD (ISO 8601's calendar date, extended form), FIRST_DAY to LAST_DAY.

    Raises argparse.ArgumentTypeError saying why for any other text, which argparse reports as a
    usage error naming the option (exit status 2).
    """
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, flags=re.ASCII):
        raise argparse.ArgumentTypeError(f"{text!r} is not a day written YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: {error}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise argparse.ArgumentTypeError(f"{text} is outside the days a report can cover, {FIRST_DAY} to {LAST_DAY}")
    return day


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analytics", description="The marketing report for a range of Seoul days."
    )
    parser.add_argument("--lake", required=True, help="the lake: a directory, or s3://bucket/")
    parser.add_argument("--from", dest="start", required=True, type=seoul_day, help="first Seoul day, YYYY-MM-DD")
    parser.add_argument("--to", dest="end", required=True, type=seoul_day, help="last Seoul day, YYYY-MM-DD")
    parser.add_argument("--out", type=Path, default=Path(".local/report.html"), help="where to write the HTML")
    args = parser.parse_args(argv)
    if args.end < args.start:
        parser.error(f"--to {args.end} is before --from {args.start}")
    if (args.end - args.start).days + 1 > LONGEST_RANGE_DAYS:
        parser.error(
            f"--from {args.start} --to {args.end} is {(args.end - args.start).days + 1} days; "
            f"a report covers at most {LONGEST_RANGE_DAYS} days"
        )
    filesystem, root = lake_filesystem(args.lake)
    lake = Lake(filesystem, root)
    try:
        lake.tables_found()
    except NoLakeError as error:
        sys.stderr.write(
            f"no report made from --lake {args.lake}: {error}; {args.out} is left as it was.\n"
            "Give --lake a lake's directory or s3://bucket/ (`make demo` leaves a local one in .local/lake).\n"
        )
        return 1
    answers = collect(lake, args.start, args.end)
    path = write_page(args.out, render(answers, args.start, args.end, source=root))
    if is_empty(answers):
        sys.stderr.write(f"note: the lake at {root} holds no data for the Seoul days {args.start} to {args.end}; "
                         "the report says so\n")  # fmt: skip
    sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
