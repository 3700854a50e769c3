"""The days a night will not catch up are named in its summary with their back-fill commands (review of issue 17)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow.fs as pafs

from shoplake import lake_layout
from shoplake_etl.catalog import MAX_CATCH_UP_DAYS, days_left_behind, left_behind_notice
from shoplake_etl.night import note_left_behind
from shoplake_etl.publication import LakeFiles

NIGHT = date(2026, 11, 24)
ARN = "arn:aws:states:ap-northeast-2:123456789012:stateMachine:shoplake-dev-nightly-etl"


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_a_night_after_more_failed_nights_than_it_catches_up_names_the_days_it_leaves() -> None:
    # GIVEN the last day published ten days before the night
    published = [NIGHT - timedelta(days=10)]
    # WHEN the scheduled night catches up (its extract starts MAX_CATCH_UP_DAYS - 1 days before it)
    left = days_left_behind(NIGHT, published, catch_up=True)
    # THEN the days between are left behind, named
    assert left == _days(NIGHT - timedelta(days=9), NIGHT - timedelta(days=MAX_CATCH_UP_DAYS))


def test_a_night_within_its_catch_up_leaves_nothing() -> None:
    assert days_left_behind(NIGHT, [NIGHT - timedelta(days=3)], catch_up=True) == []
    assert days_left_behind(NIGHT, [], catch_up=True) == []  # the first night


def test_a_day_run_by_date_above_failed_nights_leaves_the_days_below_it() -> None:
    # GIVEN the 20th published, the 21st-23rd failed; WHEN the 24th is back-filled by date
    published = [date(2026, 11, 20)]
    # THEN the 21st-23rd are left: the next night counts from the 24th's manifest
    assert days_left_behind(NIGHT, published, catch_up=False) == _days(date(2026, 11, 21), date(2026, 11, 23))
    # ... unless a later night already caught them up
    assert days_left_behind(NIGHT, [*published, date(2026, 11, 26)], catch_up=False) == []


def test_the_notice_names_the_days_and_spells_the_back_fill_commands() -> None:
    days = _days(date(2026, 11, 10), date(2026, 11, 14))
    text = left_behind_notice(days, ARN)
    assert text.startswith(" No night will catch up 2026-11-10 to 2026-11-14 (5 days)")
    command = (
        f'aws stepfunctions start-execution --state-machine-arn {ARN} --input "{{\\"run_date\\":\\"2026-11-10\\"}}"'
    )
    assert command in text
    assert "2026-11-12" in text and "2 day(s) after, up to 2026-11-14" in text
    assert left_behind_notice([], ARN) == ""


def test_the_extract_writes_the_note_and_removes_a_stale_one(tmp_path: Path) -> None:
    files = LakeFiles(pafs.LocalFileSystem(), str(tmp_path))
    note_left_behind(files, NIGHT, [date(2026, 11, 10)], {"state_machine_arn": ARN})
    assert files.read_text(lake_layout.left_behind_key(NIGHT)) == left_behind_notice([date(2026, 11, 10)], ARN)
    note_left_behind(files, NIGHT, [], {})
    assert files.read_text(lake_layout.left_behind_key(NIGHT)) is None
