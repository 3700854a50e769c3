"""The shop's business facts: one module any image can import, with the stored time form exact."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from shoplake import business
from shoplake.clickstream import contract


def test_an_instant_is_stored_in_utc_to_the_millisecond_never_rounded_up() -> None:
    # GIVEN an instant in Seoul with microseconds
    moment = datetime(2026, 11, 24, 18, 5, 41, 123_999, tzinfo=timezone(timedelta(hours=9)))
    # WHEN it is put in the stored form
    stored = business.stored_time(moment)
    # THEN it is UTC, milliseconds truncated, with Z, of the documented length
    assert stored == "2026-11-24T09:05:41.123Z"
    assert len(stored) == business.STORED_TIME_LENGTH
    assert datetime.fromisoformat(stored) <= moment


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        business.stored_time(datetime(2026, 11, 24, 9, 0))
    with pytest.raises(ValueError, match="no UTC offset"):
        business.business_date(datetime(2026, 11, 24, 9, 0))


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=9))),  # the year before 1, in UTC
        datetime.max.replace(tzinfo=timezone(-timedelta(hours=9))),  # the year after 9999, in UTC and in Seoul
    ],
)
def test_an_instant_past_the_calendar_in_utc_is_refused_with_value_error(moment: datetime) -> None:
    # WHEN an aware instant that has no UTC date in years 1 to 9999 is stored THEN ValueError, as documented
    with pytest.raises(ValueError, match="outside years 1 to 9999 in UTC"):
        business.stored_time(moment)


@pytest.mark.parametrize(
    "moment",
    [datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=timezone(timedelta(hours=10)))],
)
def test_an_instant_without_a_seoul_day_in_the_calendar_is_refused_with_value_error(moment: datetime) -> None:
    with pytest.raises(ValueError, match="outside years 1 to 9999 in Asia/Seoul"):
        business.business_date(moment)


def test_the_business_day_is_the_date_in_seoul() -> None:
    # 15:00 UTC is already the next day in Seoul
    assert business.business_date(datetime(2026, 11, 23, 15, 0, tzinfo=UTC)) == date(2026, 11, 24)
    assert business.business_date(datetime(2026, 11, 23, 14, 59, tzinfo=UTC)) == date(2026, 11, 23)


def test_sold_statuses_are_order_statuses_and_categories_are_distinct() -> None:
    assert set(business.SOLD_STATUSES) < set(business.OrderStatus)
    assert len(set(business.CATEGORIES)) == len(business.CATEGORIES)
    assert business.UNKNOWN_CATEGORY not in business.CATEGORIES


def test_the_clickstream_contract_takes_its_event_types_from_the_business() -> None:
    assert contract.EventType is business.EventType
    assert set(business.EventType) >= contract.NEEDS_PRODUCT | contract.NEEDS_SEARCH_TERM


def test_the_module_imports_nothing_beyond_the_standard_library() -> None:
    # GIVEN a fresh interpreter WHEN it imports the facts THEN no third-party module came with them
    probe = "import sys; before = set(sys.modules); import shoplake.business; print(*(set(sys.modules) - before))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)  # noqa: S603
    roots = {name.split(".")[0] for name in run.stdout.split()} - {"shoplake"}
    assert {root for root in roots if root not in sys.stdlib_module_names and not root.startswith("_")} == set()
