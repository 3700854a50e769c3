"""Capture the previous release's answers on the benchmark batch: previous_release_batch.jsonl.gz.

The file was produced by this script at commit 8f6f67b (main, "Clickstream: msgspec joins the
transform's dependencies"), the last release of the transform with its compiled canonical path
(`_canonical.c`, `transform.NATIVE` True) beside the general path, before issue 16's rewrite. It
cannot be re-run to the same effect once the transform has changed: run again, it would capture
the new release's answers, not the previous one's. It refuses to run without the compiled path.

Each line (gzipped JSON lines) is one record of `bench/bench_firehose_transform.py`'s `batch()`,
transformed with `now=ARRIVAL`, in input order:

- `recordId`, `approximateArrivalTimestamp`: the input record's, as sent;
- `payload`: the record's data, base64-decoded, as text (every record of the batch is UTF-8);
- `result`: `Ok`, `Dropped` or `ProcessingFailed`;
- `stored`: for `Ok`, the stored record, decoded from the answer's data (else absent);
- `metadata`: for `Ok`, the answer's metadata (the partition keys) (else absent);
- `reason`: for `ProcessingFailed`, the failure's reason from `BatchResult.failures` (else absent).

    .venv/bin/python -m tests.cases.clickstream.capture_previous_release
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

from bench.bench_firehose_transform import ARRIVAL, batch
from shoplake.clickstream import transform as transform_module
from shoplake.clickstream.transform import OK, transform

OUTPUT = Path(__file__).resolve().parent / "previous_release_batch.jsonl.gz"


def captured() -> list[dict[str, Any]]:
    """One line per record of the benchmark batch: the input and the previous release's answer to it."""
    if not getattr(transform_module, "NATIVE", False):  # that release's flag; gone since
        raise RuntimeError("the previous release ran its compiled path: build it (layers/shoplake/build_native.py)")
    records = batch()
    result = transform(records, now=ARRIVAL)
    reasons = dict(result.failures)
    if len(reasons) != len(result.failures):
        raise RuntimeError("two failures share a recordId: the reasons could not be told apart")
    lines = []
    for given, answer in zip(records, result.records, strict=True):
        if answer["recordId"] != given["recordId"]:
            raise RuntimeError(f"answer {answer['recordId']} out of order")
        line: dict[str, Any] = {
            "recordId": given["recordId"],
            "approximateArrivalTimestamp": given["approximateArrivalTimestamp"],
            "payload": base64.b64decode(given["data"], validate=True).decode("utf-8"),
            "result": answer["result"],
        }
        if answer["result"] == OK:
            line["stored"] = json.loads(base64.b64decode(answer["data"], validate=True))
            line["metadata"] = answer["metadata"]
        elif answer["recordId"] in reasons:
            line["reason"] = reasons[answer["recordId"]]
        lines.append(line)
    return lines


def main() -> None:
    text = "".join(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n" for line in captured())
    # mtime=0: the same answers give the same bytes.
    OUTPUT.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


if __name__ == "__main__":
    main()
