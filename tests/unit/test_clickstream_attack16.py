"""Attack review of the clickstream transform (issue 16): each test is a fault a fresh review found, now fixed.

Records are built as the shop (or a hostile sender) writes them and run through `transform`, both paths
(`tests/canonical_path.py`), the Lambda handler or the redrive, as each fault needs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from local_stack.template import ROOT
from shoplake.clickstream import transform as transform_module
from shoplake.clickstream.redrive import redrive
from shoplake.clickstream.rules import REASON_LENGTH
from shoplake.clickstream.transform import FAILED, OK, transform
from tests.canonical_path import ARRIVED, assert_same_answers, both_ways, canonical_event, item
from tests.redrive_stack import BUCKET, STREAM, redrive_stack

ERROR_KEY = "clickstream/errors/processing-failed/year=2026/month=11/day=24/hour=05/outage-1"


def _payload(event: dict[str, Any], raw: str = "") -> bytes:
    """The event as JSON, with `raw` (already JSON text: `, "name": value`) written in before its end."""
    return (json.dumps(event, ensure_ascii=False)[:-1] + raw + "}").encode()


# ---------------------------------------------------------------- totality: one result per record, no exception


class _UnprintableError(Exception):
    """An exception that cannot say what it is: its str() raises."""

    def __str__(self) -> str:
        raise ValueError("no words for it")


class _RecordIdThatCannotBeText:
    def __str__(self) -> str:
        raise _UnprintableError


def test_an_exception_that_cannot_be_printed_fails_its_record_not_the_batch() -> None:
    # GIVEN a record whose recordId cannot be made text, and the exception that says so cannot be either
    good = item(_payload(canonical_event()), record_id="good")
    odd = item(_payload(canonical_event(event_id="e-2")), record_id=_RecordIdThatCannotBeText())
    # WHEN the batch is transformed
    result = transform([good, odd], now=ARRIVED)
    # THEN the odd record fails alone and its neighbour is stored
    assert [r["result"] for r in result.records] == [OK, FAILED]


def test_counting_the_documents_of_a_record_is_linear_in_its_length() -> None:
    # GIVEN a record of many small JSON documents (a tool writing JSON lines, or a hostile sender); the work
    # is measured, not timed: the characters copied while its documents are counted
    copied = [0]

    class Text(str):
        def __getitem__(self, index: Any) -> str:
            part = str.__getitem__(self, index)
            copied[0] += len(part)
            return part

        def rstrip(self, chars: str | None = None) -> str:
            copied[0] += len(self)
            return str.rstrip(self, chars)

        def lstrip(self, chars: str | None = None) -> str:
            copied[0] += len(self)
            return str.lstrip(self, chars)

    class Payload(bytes):
        def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
            return Text(bytes.decode(self, encoding, errors))

    payload = Payload(b"{}" + b" 1" * 20_000)
    # WHEN the reason is worked out
    reason = str(transform_module._not_json(payload, ValueError("trailing characters")))
    # THEN it names the documents, having copied no more than a few times the record's length
    assert reason.startswith("data: several JSON documents in one record")
    assert copied[0] <= 10 * len(payload)


def test_a_record_of_many_documents_is_named_as_such() -> None:
    result = transform([item(b"{}" + b" 1" * 1000)], now=ARRIVED)
    assert result.failures[0][1].startswith("data: several JSON documents in one record")


# ---------------------------------------------------------------- failure reasons: the field, foreseen


def test_a_whole_price_past_a_floats_range_is_refused_plainly() -> None:
    # GIVEN a purchase whose price is a whole number of 401 digits
    payload = _payload(canonical_event(price=None), ', "price": 1' + "0" * 400)
    # WHEN it is transformed, both ways
    ours, general = both_ways([item(payload)])
    assert_same_answers(ours, general)
    # THEN it fails naming price, as a value out of range, not as a fault of ours
    (_, reason) = ours.failures[0]
    assert reason.startswith("price:")
    assert "unexpected" not in reason


def test_a_lone_surrogate_in_a_field_fails_naming_that_field() -> None:
    # GIVEN an event whose page ends in a lone high surrogate, as a UTF-16 string cut in two is sent
    payload = _payload(canonical_event(page=None), ', "page": "/products/\\ud83d"')
    # WHEN it is transformed, both ways
    ours, general = both_ways([item(payload)])
    assert_same_answers(ours, general)
    # THEN it fails naming page
    (_, reason) = ours.failures[0]
    assert reason.startswith("page:"), reason


# ---------------------------------------------------------------- the redrive never stops at a record


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any]]:
    with redrive_stack() as clients:
        yield clients


def test_the_redrive_goes_past_a_deeply_nested_failed_record(aws: tuple[Any, Any]) -> None:
    s3, kinesis = aws
    # GIVEN an error object whose lines are failed records with an extra field nested at every depth near
    # the standard json module's limit (the exact one depends on the stack), and a later object
    raw = base64.b64encode(b"not json").decode()
    lines = [f'{{"rawData": "{raw}", "x": {"[" * depth}{"]" * depth}}}\n' for depth in range(1300, 1600, 5)]
    s3.put_object(Bucket=BUCKET, Key=ERROR_KEY, Body="".join(lines).encode())
    s3.put_object(Bucket=BUCKET, Key=ERROR_KEY + "-later", Body=b"")
    # WHEN the redrive runs, THEN it reads both objects
    report = redrive(s3, kinesis, BUCKET, STREAM)
    assert report.objects == 2


# ---------------------------------------------------------------- Ok records: what the shop meant, as promised


def test_a_float_epoch_millisecond_is_floored_never_rounded_up() -> None:
    # GIVEN an event whose time is a float number of epoch milliseconds just before an hour's end
    sent = 1763963999999.9995  # 2025-11-24T05:59:59.999+ (the float is 1763963999999.99951171875)
    payload = _payload(canonical_event(event_time=sent))
    # WHEN it arrives at that moment, both ways
    ours, general = both_ways([item(payload, arrival=1763963999999)])
    assert_same_answers(ours, general)
    # THEN it is stored at the millisecond it lies in, in that hour
    stored = json.loads(base64.b64decode(ours.records[0]["data"]))
    assert stored["event_time"] == "2025-11-24T05:59:59.999Z"
    assert ours.records[0]["metadata"]["partitionKeys"]["hour"] == "05"


def test_a_record_stored_as_a_bot_says_it_is_a_bot() -> None:
    # GIVEN an event without a user agent that says its device class is bot
    payload = _payload(canonical_event(user_agent=None, device_class="bot"))
    # WHEN it is transformed
    ours, general = both_ways([item(payload)])
    assert_same_answers(ours, general)
    stored = json.loads(base64.b64decode(ours.records[0]["data"]))
    # THEN device_class and is_bot agree
    assert stored["device_class"] == "bot"
    assert stored["is_bot"] is True


# ---------------------------------------------------------------- failure reasons


def test_a_reason_quotes_a_huge_number_cut_short() -> None:
    payload = _payload(canonical_event(event_time=None), ', "event_time": 1' + "0" * 4298)
    result = transform([item(payload)], now=ARRIVED)
    (_, reason) = result.failures[0]
    assert reason.startswith("event_time:")
    assert len(reason) <= REASON_LENGTH


# ---------------------------------------------------------------- issue 16's "done when"


def test_there_is_no_c_in_the_repository() -> None:
    native = [
        "layers/shoplake/shoplake/clickstream/_canonical.c",
        "layers/shoplake/build_native.py",
        "scripts/native_check.py",
    ]
    assert [path for path in native if (ROOT / path).exists()] == []
    assert "_canonical" not in (ROOT / "Makefile").read_text()
