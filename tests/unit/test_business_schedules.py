"""The schedules that cannot import Python, held to shoplake.business: they fire at 02:00 in the business time zone.

The nightly ETL's schedule names the zone itself (EventBridge Scheduler); the database's backup
plan counts in UTC. Every day of a year is checked, so a zone with daylight saving would show.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from local_stack.template import ROOT, load_template
from shoplake import business

NIGHTLY = load_template()["Resources"]["NightlyEtlStateMachine"]["Properties"]["Events"]
BACKUP = load_template(ROOT / "infra_core" / "backup.yaml")["Resources"]["BackupPlan"]["Properties"]["BackupPlan"]
TWO_AM = time(2, 0)
DAYS = [date(2026, 1, 1) + timedelta(days=n) for n in range(366)]


def _time_of_day(cron: str) -> tuple[time, str, str]:
    """cron(M H day-of-month month day-of-week year) -> (H:M, day-of-month, day-of-week)."""
    minute, hour, day_of_month, _month, day_of_week, _year = cron.removeprefix("cron(").removesuffix(")").split()
    return time(int(hour), int(minute)), day_of_month, day_of_week


def _fires_on(day: date, day_of_month: str, day_of_week: str) -> bool:
    """Whether an AWS cron fires on `day` (the fields the templates use: *, ?, L, a day's number or name)."""
    if day_of_month == "L":
        return day.day == calendar.monthrange(day.year, day.month)[1]
    if day_of_month not in ("*", "?"):
        return day.day == int(day_of_month)
    return day_of_week in ("*", "?") or day.strftime("%a").upper() == day_of_week


def test_the_nightly_etl_runs_at_two_in_the_business_time_zone_on_the_utc_date_of_the_day_just_ended() -> None:
    # GIVEN the night's schedule, which names its zone
    (event,) = NIGHTLY.values()
    schedule = event["Properties"]
    assert schedule["ScheduleExpressionTimezone"] == business.TIME_ZONE.key
    at, _, _ = _time_of_day(schedule["ScheduleExpression"])
    assert at == TWO_AM
    # THEN on every day, its firing's UTC date is the business day that just ended: the state machine
    # takes that date from the scheduled time as the night's run_date
    for day in DAYS:
        fired = datetime.combine(day, at, tzinfo=business.TIME_ZONE)
        assert fired.astimezone(UTC).date() == day - timedelta(days=1), day


@pytest.mark.parametrize(
    ("rule_name", "business_day"),
    [
        ("Daily0200KstContinuous", lambda day: True),
        ("WeeklySunday0200Kst", lambda day: day.weekday() == calendar.SUNDAY),
        ("MonthlyFirst0200Kst", lambda day: day.day == 1),
    ],
)
def test_each_backup_starts_at_two_in_the_business_time_zone_on_its_day(rule_name: str, business_day: Any) -> None:
    # GIVEN a backup rule, which counts in UTC
    (rule,) = [r for r in BACKUP["BackupPlanRule"] if r["RuleName"] == rule_name]
    assert rule.get("ScheduleExpressionTimezone", "Etc/UTC") == "Etc/UTC"
    at, day_of_month, day_of_week = _time_of_day(rule["ScheduleExpression"])
    # WHEN it fires, over a year
    fired = [
        datetime.combine(day, at, tzinfo=UTC).astimezone(business.TIME_ZONE)
        for day in DAYS
        if _fires_on(day, day_of_month, day_of_week)
    ]
    # THEN it is 02:00 in the business time zone, on every business day the rule is named for, and no other
    assert {moment.time() for moment in fired} == {TWO_AM}
    first, last = (datetime.combine(d, at, tzinfo=UTC).astimezone(business.TIME_ZONE).date() for d in DAYS[::365])
    span = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert [moment.date() for moment in fired] == [day for day in span if business_day(day)]
