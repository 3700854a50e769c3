"""The clickstream redrive's command: its help says what it does, and it does that (moto in-process)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from local_stack.template import load_template
from shoplake import lake_layout
from shoplake.clickstream import redrive as redrive_module
from shoplake.clickstream.producer import MAX_RECORD_BYTES
from shoplake.clickstream.redrive import FORMAT_CONVERSION_FAILED, NO_SESSION_KEY, PROCESSING_FAILED, main, redrive
from shoplake.clickstream.transform import OK, OLDEST, BatchResult, transform
from tests.redrive_stack import BUCKET, STREAM, redrive_stack

KEY = "clickstream/errors/processing-failed/year=2026/month=11/day=24/hour=05/outage-1"


def _failed(event: object) -> str:
    """One line of an error object, in Firehose's processing-failed format."""
    raw = base64.b64encode(json.dumps(event).encode()).decode()
    return json.dumps({"attemptsMade": 4, "errorCode": "Lambda.InvokeLimitExceeded", "rawData": raw}) + "\n"


def _event(event_id: str, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event = {"event_id": event_id, "event_time": now, "event_type": "page_view", "session_id": "s-1"}
    return event | changes


@pytest.fixture
def aws() -> Iterator[tuple[Any, Any]]:
    with redrive_stack() as clients:
        yield clients


def _keys(s3: Any) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_the_help_names_the_command_and_the_places_it_reads_and_writes(capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN an operator asks for help
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    text = capsys.readouterr().out
    # THEN it is the command they type, and every place it names is the one the code uses
    assert exited.value.code == 0
    assert text.startswith("usage: python -m shoplake.clickstream.redrive --bucket")
    for prefix in (
        lake_layout.CLICKSTREAM_ERRORS,
        lake_layout.CLICKSTREAM_ERRORS_REDRIVEN,
        lake_layout.CLICKSTREAM_ERRORS_UNREPAIRED,
    ):
        assert prefix in text
    assert f"more than {OLDEST.days} days old" in text
    assert "LakeBucketName" in text and "ClickstreamStreamName" in text
    # AND it says what it leaves alone, and that a run cut off puts records again
    assert f"Not redriven: {lake_layout.CLICKSTREAM_ERRORS}{FORMAT_CONVERSION_FAILED}/" in text
    assert "at least once" in text and "count each event_id once" in text
    # AND that a damaged line does not stop it
    assert "does not stop the run" in text and "rawLine" in text


def test_the_error_types_are_the_folders_firehose_writes_under_the_error_prefix() -> None:
    # The redrive tells processing failures from format-conversion ones by the folder Firehose names them by.
    stream = load_template()["Resources"]["ClickstreamDeliveryStream"]["Properties"]
    error_prefix = stream["ExtendedS3DestinationConfiguration"]["ErrorOutputPrefix"]
    assert error_prefix.startswith(lake_layout.CLICKSTREAM_ERRORS + "!{firehose:error-output-type}/")


def test_a_prefix_outside_the_error_objects_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--bucket", BUCKET, "--stream", STREAM, "--prefix", lake_layout.CLICKSTREAM_EVENTS])
    assert exited.value.code == 2
    assert f"is not under {lake_layout.CLICKSTREAM_ERRORS}" in capsys.readouterr().err


def test_the_command_redrives_and_prints_its_report(aws: tuple[Any, Any], capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN an error object with one record that now passes, one that never will, and a duplicate
    s3, _ = aws
    once = _failed(_event("e-1"))  # built once: its event_time is the clock's, which may move between two calls
    body = once + _failed(_event("e-2", event_type="teleport")) + once
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=body.encode())
    # WHEN the command runs over one day's part of the errors
    day = "clickstream/errors/processing-failed/year=2026/month=11/day=24/"
    assert main(["--bucket", BUCKET, "--stream", STREAM, "--prefix", day]) == 0
    # THEN it reports what it did: one object, one record back on the stream, one kept with its reason
    printed = capsys.readouterr()
    report = json.loads(printed.out)
    assert report["objects"] == 1 and report["repaired"] == 1
    assert [item["object"] for item in report["unrepaired"]] == [KEY]
    assert "teleport" in report["unrepaired"][0]["reason"]
    # AND the object moved, keeping its whole path under errors/, the failing record beside it
    suffix = KEY.removeprefix(lake_layout.CLICKSTREAM_ERRORS)
    assert _keys(s3) == [
        lake_layout.CLICKSTREAM_ERRORS_REDRIVEN + suffix,
        lake_layout.CLICKSTREAM_ERRORS_UNREPAIRED + suffix,
    ]
    # AND each step was printed to stderr as it was done
    # (only its step lines: a warning another test's leftover thread writes to stderr may land here too)
    steps = [json.loads(line) for line in printed.err.splitlines() if line.startswith('{"step"')]
    assert [(step["step"], step["object"]) for step in steps] == [("put", KEY), ("kept", KEY), ("moved", KEY)]


class _CopyFailsOnce:
    """An S3 client whose first copy_object fails as a dropped connection does: the move is cut off."""

    def __init__(self, real: Any) -> None:
        self.real, self.failed = real, False

    def copy_object(self, **kwargs: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise ConnectionError("Connection was closed before we received a valid response from endpoint")
        return self.real.copy_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _stream_records(kinesis: Any) -> list[dict[str, Any]]:
    """Every record on the stream, in order."""
    shard = kinesis.describe_stream(StreamName=STREAM)["StreamDescription"]["Shards"][0]["ShardId"]
    at = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records: list[dict[str, Any]] = kinesis.get_records(ShardIterator=at["ShardIterator"])["Records"]
    return records


def _on_stream(kinesis: Any) -> list[str]:
    """The event_id of every record on the stream, in order."""
    return [json.loads(r["Data"])["event_id"] for r in _stream_records(kinesis)]


def test_a_damaged_line_is_reported_and_kept_and_the_run_goes_on_to_the_next_object(aws: tuple[Any, Any]) -> None:
    # GIVEN an error object whose lines 2, 4 and 6 are not processing-failed records (not JSON, no rawData,
    # bytes that are not UTF-8) between good ones, its last line cut off, and a second object after it
    s3, kinesis = aws
    cut = _failed(_event("e-5"))[:40]
    body = (
        _failed(_event("e-1")).encode()
        + b"{not json\n"
        + _failed(_event("e-2")).encode()
        + b'{"attemptsMade": 4}\n'
        + _failed(_event("e-3", event_type="teleport")).encode()
        + b'{"rawData": "\xff"}\n'
        + cut.encode()
    )
    second = KEY.replace("outage-1", "outage-2")
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)
    s3.put_object(Bucket=BUCKET, Key=second, Body=_failed(_event("e-4")).encode())
    # WHEN redriven
    steps: list[dict[str, Any]] = []
    report = redrive(s3, kinesis, BUCKET, STREAM, progress=steps.append)
    # THEN both objects are redriven: every good record is back on the stream, the run went past the damage
    assert report.objects == 2 and report.repaired == 3
    assert _on_stream(kinesis) == ["e-1", "e-2", "e-4"]
    # AND each damaged line is reported, by object and line, with why, in the report and in the steps
    assert [(d["object"], d["line"]) for d in report.damaged] == [(KEY, 2), (KEY, 4), (KEY, 6), (KEY, 7)]
    reasons = [d["reason"] for d in report.damaged]
    assert reasons[0].startswith("not JSON") and "no text field 'rawData'" in reasons[1]
    assert "UnicodeDecodeError" in reasons[2] and reasons[3].startswith("not JSON")
    told = [(step["object"], step["line"]) for step in steps if step["step"] == "damaged"]
    assert told == [(KEY, 2), (KEY, 4), (KEY, 6), (KEY, 7)]
    assert [d["line"] for d in report.unrepaired] == [5] and "teleport" in report.unrepaired[0]["reason"]
    # AND kept under errors-unrepaired/, in line order: the lines as text beside the record still failing
    suffix = KEY.removeprefix(lake_layout.CLICKSTREAM_ERRORS)
    kept = s3.get_object(Bucket=BUCKET, Key=lake_layout.CLICKSTREAM_ERRORS_UNREPAIRED + suffix)["Body"].read()
    lines = [json.loads(line) for line in kept.splitlines()]
    assert [line.get("line") for line in lines] == [2, 4, None, 6, 7]
    assert [line.get("rawLine") for line in lines] == [
        "{not json",
        '{"attemptsMade": 4}',
        None,
        '{"rawData": "\ufffd"}',
        cut,
    ]
    assert all(line["redriveReason"] for line in lines) and "rawData" in lines[2]
    # AND both objects moved, whole, so nothing is lost and a second run reads neither again
    moved = s3.get_object(Bucket=BUCKET, Key=lake_layout.CLICKSTREAM_ERRORS_REDRIVEN + suffix)["Body"].read()
    assert moved == body
    assert lake_layout.CLICKSTREAM_ERRORS_REDRIVEN + second.removeprefix(lake_layout.CLICKSTREAM_ERRORS) in _keys(s3)
    assert not any(key.startswith(lake_layout.CLICKSTREAM_ERRORS) for key in _keys(s3))
    assert redrive(s3, kinesis, BUCKET, STREAM).objects == 0


def test_crlf_lines_a_bom_and_blank_lines_are_read_as_the_records_they_hold(aws: tuple[Any, Any]) -> None:
    # GIVEN an error object saved by a Windows tool: a BOM, CRLF line ends, a blank line
    s3, kinesis = aws
    body = (
        "\ufeff" + _failed(_event("e-1")).replace("\n", "\r\n") + "\r\n" + _failed(_event("e-2")).replace("\n", "\r\n")
    )
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=body.encode())
    # WHEN redriven
    report = redrive(s3, kinesis, BUCKET, STREAM)
    # THEN both records go back, and no line is damaged
    assert report.repaired == 2 and report.damaged == [] and report.unrepaired == []
    assert _on_stream(kinesis) == ["e-1", "e-2"]


def test_an_empty_error_object_is_moved_and_nothing_else_happens(aws: tuple[Any, Any]) -> None:
    s3, kinesis = aws
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"")
    steps: list[dict[str, Any]] = []
    report = redrive(s3, kinesis, BUCKET, STREAM, progress=steps.append)
    assert report.objects == 1 and report.repaired == 0 and [step["step"] for step in steps] == ["put", "moved"]
    assert _keys(s3) == [lake_layout.CLICKSTREAM_ERRORS_REDRIVEN + KEY.removeprefix(lake_layout.CLICKSTREAM_ERRORS)]


def test_a_record_whose_raw_data_is_not_base64_is_kept_and_its_neighbours_go_back(aws: tuple[Any, Any]) -> None:
    s3, kinesis = aws
    line = json.dumps({"attemptsMade": 4, "rawData": "not base64 at all!"}) + "\n"
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=(line + _failed(_event("e-1"))).encode())
    report = redrive(s3, kinesis, BUCKET, STREAM)
    assert report.unrepaired == [{"object": KEY, "line": 1, "reason": "data: not base64"}]
    assert report.repaired == 1 and _on_stream(kinesis) == ["e-1"]


def _passing_everything(records: list[dict[str, Any]]) -> BatchResult:
    """A transform that passes every record: as a future contract might pass one without a text session_id."""
    return BatchResult(records=[{"recordId": r["recordId"], "result": OK, "data": r["data"]} for r in records])


def test_a_repaired_record_without_a_text_session_id_goes_back_under_the_stand_in_key(
    aws: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN records the transform passes though their session_id is missing, a number, or they are no JSON object
    s3, kinesis = aws
    monkeypatch.setattr(redrive_module, "transform", _passing_everything)
    lines = [_failed({"event_id": "e-1"}), _failed({"event_id": "e-2", "session_id": 7}), _failed(["e-3"])]
    lines.append(_failed(_event("e-4", session_id="s-9")))
    s3.put_object(Bucket=BUCKET, Key=KEY, Body="".join(lines).encode())
    # WHEN redriven
    report = redrive(s3, kinesis, BUCKET, STREAM)
    # THEN all go back, those without a text session_id under the stand-in partition key
    assert report.repaired == 4 and report.unrepaired == []
    assert [r["PartitionKey"] for r in _stream_records(kinesis)] == [NO_SESSION_KEY] * 3 + ["s-9"]


def test_a_repaired_record_kinesis_would_refuse_is_kept_and_does_not_hold_back_the_others(
    aws: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    s3, kinesis = aws
    monkeypatch.setattr(redrive_module, "transform", _passing_everything)
    huge = _failed(_event("e-1", page_url="x" * MAX_RECORD_BYTES))
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=(huge + _failed(_event("e-2"))).encode())
    report = redrive(s3, kinesis, BUCKET, STREAM)
    assert [(d["line"], d["reason"].split(":")[0]) for d in report.unrepaired] == [(1, "rawData")]
    assert "over Kinesis's" in report.unrepaired[0]["reason"]
    assert report.repaired == 1 and _on_stream(kinesis) == ["e-2"]


def test_a_redrive_cut_off_before_the_move_shows_how_far_it_got_and_a_second_run_finishes(aws: tuple[Any, Any]) -> None:
    # GIVEN an error object with two records that now pass
    s3, kinesis = aws
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=(_failed(_event("e-1")) + _failed(_event("e-2"))).encode())
    # WHEN a run is cut off after putting them on the stream, before moving the object
    steps: list[dict[str, Any]] = []
    with pytest.raises(ConnectionError):
        redrive(_CopyFailsOnce(s3), kinesis, BUCKET, STREAM, progress=steps.append)
    # THEN what it did is known: both records put, the object not moved
    assert steps == [{"step": "put", "object": KEY, "records": 2}]
    assert _keys(s3) == [KEY]
    # WHEN run again
    again: list[dict[str, Any]] = []
    report = redrive(s3, kinesis, BUCKET, STREAM, progress=again.append)
    # THEN it finishes: the object moved; the records are on the stream at least once (twice, here), none
    # lost: the clickstream is at least once, and its consumers count each event_id once
    assert [step["step"] for step in again] == ["put", "moved"] and report.repaired == 2
    assert _keys(s3) == [lake_layout.CLICKSTREAM_ERRORS_REDRIVEN + KEY.removeprefix(lake_layout.CLICKSTREAM_ERRORS)]
    assert _on_stream(kinesis) == ["e-1", "e-2", "e-1", "e-2"]


def test_format_conversion_failures_are_named_and_left_for_a_schema_fix(aws: tuple[Any, Any]) -> None:
    # GIVEN a record the transform stored and Firehose then could not convert to Parquet: its rawData is the
    # stored record (client_ip_prefix, no client_ip), under format-conversion-failed/, beside a processing failure
    s3, kinesis = aws
    sent = base64.b64encode(json.dumps(_event("e-3", client_ip="203.0.113.77")).encode()).decode()
    (stored,) = transform([{"recordId": "1", "approximateArrivalTimestamp": _now_ms(), "data": sent}]).records
    assert json.loads(base64.b64decode(stored["data"]))["client_ip_prefix"] == "203.0.113.0/24"
    converting = KEY.replace(PROCESSING_FAILED, FORMAT_CONVERSION_FAILED)
    line = {"attemptsMade": 1, "errorCode": "DataFormatConversion.InvalidSchema", "rawData": stored["data"]}
    s3.put_object(Bucket=BUCKET, Key=converting, Body=(json.dumps(line) + "\n").encode())
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=_failed(_event("e-1")).encode())
    # WHEN the errors are redriven
    steps: list[dict[str, Any]] = []
    report = redrive(s3, kinesis, BUCKET, STREAM, progress=steps.append)
    # THEN the already transformed record is not transformed again (which would drop its network): it is
    # named, with what it needs, and stays where it is; the processing failure is redriven
    assert [item["object"] for item in report.not_redriven] == [converting]
    assert "fix the table's schema" in report.not_redriven[0]["reason"]
    assert ("skipped", converting) in [(step["step"], step["object"]) for step in steps]
    assert _on_stream(kinesis) == ["e-1"] and report.objects == 1
    assert converting in _keys(s3)


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
