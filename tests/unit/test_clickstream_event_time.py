"""The clickstream's event time: read in any ISO 8601 spelling with an offset, stored in one form only.

Each test runs both ways (the canonical path first, and the general path alone: tests/canonical_path.py),
since the canonical path keeps a time as sent when it is already in the stored form.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pyarrow.json as pajson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoplake.business import STORED_TIME_LENGTH, stored_time
from shoplake.clickstream.contract import arrow_schema
from shoplake.clickstream.event_time import event_time_utc, parse_event_time
from tests.canonical_path import ARRIVED, ARRIVED_MS, assert_same_answers, both_ways, canonical_event, item

WINDOW = st.datetimes(min_value=datetime(2026, 11, 17, 6), max_value=datetime(2026, 11, 24, 5), timezones=st.just(UTC))
# What a sender can put in each place of the stored form's shape: ISO 8601's other letters and signs too.
PLACES = "0123456789-:.+ WTZz,\u0663"


def _stored(result: dict[str, object]) -> dict[str, object]:
    return json.loads(base64.b64decode(str(result["data"])))


@pytest.mark.parametrize(
    "odd",
    [
        "0001-01-01T00:00:00+09:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-09:00",  # after year 9999 in UTC
        "0001-01-01T00:00:00.000+00:01",
        "9999-12-31T23:59:59.999999-23:59",
        -62135596800001,  # epoch milliseconds, one before year 1
        253402300800000,  # one after year 9999
        2**63,
        1.7976931348623157e308,
    ],
)
def test_an_event_time_past_the_calendar_fails_its_record_alone_naming_event_time(odd: object) -> None:
    # GIVEN a batch whose second record's time lies outside datetime's years 1 to 9999 once in UTC
    batch = [
        item(json.dumps(canonical_event()).encode(), "good"),
        item(json.dumps(canonical_event(event_time=odd)).encode()),
    ]
    # WHEN it is transformed, by the canonical path and by the general path alone
    ours, general = both_ways(batch)
    # THEN only that record fails, and its reason names the field
    assert [r["result"] for r in ours.records] == ["Ok", "ProcessingFailed"]
    ((record_id, reason),) = ours.failures
    assert record_id == "r" and reason.startswith("event_time: ")
    assert_same_answers(ours, general)


@pytest.mark.parametrize(
    "sent",
    [
        "2026-W48-2T05:29:58.123Z",  # an ISO week date: the fast shape's 24 characters, 'T', '.' and 'Z' in place
        "2026-11-24T05:29:58.123+00:00",
        "2026-11-24T14:29:58.123+09:00",
        "2026-11-24T05:29:58,123Z",
        "2026-11-24T05:29:58.123456Z",
        "20261124T052958.123Z",
    ],
)
def test_every_spelling_of_an_instant_is_stored_in_the_one_stored_form(sent: str) -> None:
    # GIVEN an event time spelt otherwise than the stored form
    ours, general = both_ways([item(json.dumps(canonical_event(event_time=sent)).encode())])
    # THEN it is stored as business.stored_time of its instant, and Parquet conversion reads it
    (result,) = ours.records
    assert result["result"] == "Ok"
    assert _stored(result)["event_time"] == "2026-11-24T05:29:58.123Z" == stored_time(datetime.fromisoformat(sent))
    assert_same_answers(ours, general)
    line = base64.b64decode(result["data"])
    table = pajson.read_json(io.BytesIO(line), parse_options=pajson.ParseOptions(explicit_schema=arrow_schema()))
    assert table.column("event_time")[0].as_py() == datetime(2026, 11, 24, 5, 29, 58, 123000, tzinfo=UTC)


def _week_date(moment: datetime) -> str:
    """The stored form with its date as an ISO week date: `2026-W48-2T05:29:58.123Z`, as long, as shaped."""
    year, week, weekday = moment.isocalendar()
    return f"{year}-W{week:02d}-{weekday}{stored_time(moment)[10:]}"


@settings(max_examples=300, deadline=None)
@given(
    WINDOW,
    st.sampled_from([stored_time, _week_date]),
    st.lists(st.tuples(st.integers(0, STORED_TIME_LENGTH - 1), st.sampled_from(PLACES)), max_size=3),
)
def test_text_in_the_stored_forms_shape_is_stored_only_as_stored_time_of_its_instant(
    moment: datetime, spelling: Callable[[datetime], str], changes: list[tuple[int, str]]
) -> None:
    # GIVEN a time in the stored form's shape with a few characters changed, as careless and hostile senders write
    text = list(spelling(moment))
    for place, character in changes:
        text[place] = character
    sent = "".join(text)
    # WHEN transformed both ways
    ours, general = both_ways([item(json.dumps(canonical_event(event_time=sent), ensure_ascii=False).encode())])
    assert_same_answers(ours, general)
    # THEN it is refused naming event_time, or stored exactly as business.stored_time of the instant it names
    (result,) = ours.records
    if result["result"] == "Ok":
        assert _stored(result)["event_time"] == stored_time(datetime.fromisoformat(sent))
    else:
        ((_, reason),) = ours.failures
        assert reason.startswith("event_time: ")


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
        st.datetimes(timezones=st.just(UTC)).map(stored_time),
        st.datetimes(timezones=st.just(UTC)).map(_week_date),
        st.builds(
            lambda text, place, character: text[:place] + character + text[place + 1 :],
            st.datetimes(timezones=st.just(UTC)).map(stored_time),
            st.integers(0, STORED_TIME_LENGTH - 1),
            st.sampled_from(PLACES),
        ),
        st.integers(),
        st.floats(),
        st.text(max_size=40),
    )
)
def test_an_event_time_is_always_stored_as_stored_time_of_its_instant(value: object) -> None:
    # WHEN any value is read as an event time
    try:
        moment = parse_event_time(value)
    except ValueError:
        # THEN what cannot be read as a time is refused the same way when it is to be stored
        with pytest.raises(ValueError):
            event_time_utc(value)
        return
    # THEN the stored text is business.stored_time of that instant, whatever spelling it came in, and its
    # milliseconds are exactly those the stored text names (whole ones, floored: no float rounding)
    stored, milliseconds = event_time_utc(value)
    assert stored == stored_time(moment)
    assert milliseconds == (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    assert datetime.fromisoformat(stored) == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=milliseconds)


def test_the_window_around_the_arrival_still_holds_for_every_spelling() -> None:
    # A week date just past the newest edge is refused as every other spelling of it is
    sent = _week_date(ARRIVED + timedelta(minutes=15, milliseconds=1))
    ours, general = both_ways([item(json.dumps(canonical_event(event_time=sent)).encode(), arrival=ARRIVED_MS)])
    assert [r["result"] for r in ours.records] == ["ProcessingFailed"]
    assert "outside the accepted window" in ours.failures[0][1]
    assert_same_answers(ours, general)
