"""Firehose transform, one 3 MiB batch of realistic clickstream: ours against AWS's blueprint.

The batch is a day of synthetic shop traffic (local_stack.sample_clickstream), a few
malformed records included, cut at 3 MiB of record data, as Firehose hands it over.

- blueprint: what AWS's Firehose processing blueprint does per record (base64 decode,
  `json.loads`, `datetime.fromisoformat` on the time, `json.dumps`, base64 encode), with no
  validation at all;
- ours: `shoplake.clickstream.transform.transform`, full contract validation and
  normalisation, duplicate dropping and partition keys (canonical records in one msgspec
  decode each, the rest through the general path).

Both run in this process, alternately, 25 times; the median is reported. The output of
ours is checked against the contract applied with the standard library's codecs, so the
fast codecs change nothing. The line reads: records, batch size, each one's milliseconds
per batch (what Lambda bills), and ratio = ours' records/s ÷ the blueprint's.
"""

from __future__ import annotations

import base64
import binascii
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from local_stack.sample_clickstream import day_of_traffic
from shoplake.clickstream.rules import BatchMemo, ContractError, normalise
from shoplake.clickstream.transform import transform

NAME = "firehose_transform"
BATCH_BYTES = 3 * 2**20
ROUNDS = 25
ARRIVAL = datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC)


def batch() -> list[dict[str, Any]]:
    records, size = [], 0
    for i, payload in enumerate(day_of_traffic(datetime(2026, 11, 24), sessions=1500)):
        if size >= BATCH_BYTES:
            break
        records.append(
            {
                "recordId": f"{49546986683135544286507457936321625675700192471156785154 + i}",
                "approximateArrivalTimestamp": int(ARRIVAL.timestamp() * 1000),
                "data": base64.b64encode(payload).decode(),
            }
        )
        size += len(payload)
    return records


def blueprint(records: list[dict[str, Any]]) -> dict[str, Any]:
    output = []
    for record in records:
        try:
            payload = json.loads(base64.b64decode(record["data"]))
            datetime.fromisoformat(payload["event_time"])
        except (ValueError, KeyError, TypeError):
            output.append({"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]})
            continue
        data = base64.b64encode(json.dumps(payload).encode()).decode()
        output.append({"recordId": record["recordId"], "result": "Ok", "data": data})
    return {"records": output}


def ours(records: list[dict[str, Any]]) -> dict[str, Any]:
    return transform(records, now=ARRIVAL).response()


def check(records: list[dict[str, Any]]) -> None:
    """Ours' output is the contract applied with the standard library's codecs, record for record."""
    answer = {r["recordId"]: r for r in ours(records)["records"]}
    assert list(answer) == [r["recordId"] for r in records]
    memo = BatchMemo()
    for record in records:
        result = answer[record["recordId"]]
        try:
            expected = normalise(json.loads(base64.b64decode(record["data"])), int(ARRIVAL.timestamp() * 1000), memo)
        except (ContractError, ValueError):
            assert result["result"] in ("ProcessingFailed", "Dropped"), record
            continue
        if result["result"] == "Ok":
            assert json.loads(binascii.a2b_base64(result["data"])) == expected


def _timed(run: Callable[[list[dict[str, Any]]], dict[str, Any]], records: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    run(records)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    records = batch()
    check(records)
    size = sum(len(base64.b64decode(r["data"])) for r in records) / 2**20
    timings: dict[str, list[float]] = {"ours": [], "blueprint": []}
    for _ in range(ROUNDS):  # alternate, so that both see the same machine
        timings["blueprint"].append(_timed(blueprint, records))
        timings["ours"].append(_timed(ours, records))
    ours_ms, blueprint_ms = statistics.median(timings["ours"]), statistics.median(timings["blueprint"])
    print(
        f"{NAME} records={len(records)} batch={size:.1f}MiB ours={ours_ms:.1f} ms/batch "
        f"blueprint={blueprint_ms:.1f} ms/batch ratio={blueprint_ms / ours_ms:.2f} "
        f"(ours validates the whole contract; the blueprint validates nothing)"
    )


if __name__ == "__main__":
    main()
