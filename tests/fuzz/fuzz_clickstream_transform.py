"""`make fuzz`: coverage-guided fuzzing (atheris, libFuzzer) of the clickstream transform, outside `make test`.

Each input is a small Firehose batch: the fuzzer's bytes split at `SEPARATOR` into record payloads,
the first byte of each choosing how its record is wrapped (base64 forms, odd record ids and arrival
times, as tests/unit/test_clickstream_total.py draws them). The properties are the oracle's
(tests/clickstream_oracle.py): one answer per recordId in input order, no exception, no fault of ours
caught by the safety net, every `Ok` record within the contract. A failing input is written to
`.local/fuzz/crash-*`; the corpus, seeded from the previous release's captured batch, is kept in
`.local/fuzz/corpus` between runs.

    python -m tests.fuzz.fuzz_clickstream_transform --seconds 180
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["shoplake", "ipaddress"]):
    from shoplake.clickstream.transform import transform
    from tests.clickstream_oracle import check_batch
    from tests.unit.test_clickstream_total import ARRIVAL_VALUES, ARRIVED, FORM_NAMES, item

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".local" / "fuzz"
SEED = ROOT / "tests" / "cases" / "clickstream" / "previous_release_batch.jsonl.gz"
SEPARATOR = b"\x00\x1e"
# The wrappings as the property tests draw them, one per value of a record's first byte.
_FORMS = FORM_NAMES
_IDS = [None, "", "same", "🦆", ("raw", 7), ("raw", None)]
_ARRIVALS = ARRIVAL_VALUES


def batch_of(data: bytes) -> list[dict[str, object]]:
    """The Firehose batch a fuzzer input stands for."""
    records = []
    for i, chunk in enumerate(data.split(SEPARATOR)[:16]):
        how, payload = (chunk[0], chunk[1:]) if chunk else (0, b"")
        form = _FORMS[how % len(_FORMS)]
        record_id = _IDS[(how >> 4) % len(_IDS)] if how & 0x80 else None
        arrival = _ARRIVALS[(how >> 3) % len(_ARRIVALS)] if how & 0x40 else _ARRIVALS[0]
        records.append(item(payload, form, record_id, arrival, i))
    return records


def one_input(data: bytes) -> None:
    """libFuzzer's entry: an exception or a broken property is a finding."""
    records = batch_of(data)
    check_batch(records, transform(records, now=ARRIVED), ARRIVED)


def seed_corpus(corpus: Path, count: int = 400) -> None:
    """The first `count` records of the captured batch, one per file, and a few batches of two."""
    corpus.mkdir(parents=True, exist_ok=True)
    with gzip.open(SEED, "rt", encoding="utf-8") as lines:
        payloads = [json.loads(line)["payload"].encode("utf-8") for _, line in zip(range(count), lines, strict=False)]
    for i, payload in enumerate(payloads):
        (corpus / f"seed-{i:04d}").write_bytes(b"\x00" + payload)
    for i in range(0, len(payloads) - 1, 40):
        (corpus / f"seed-pair-{i:04d}").write_bytes(b"\x00" + payloads[i] + SEPARATOR + b"\x00" + payloads[i])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=180, help="how long to fuzz (default 180)")
    args, libfuzzer_args = parser.parse_known_args()
    corpus = WORK / "corpus"
    if not corpus.is_dir():
        seed_corpus(corpus)
    argv = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={args.seconds}",
        f"-artifact_prefix={WORK}/",
        "-max_len=4096",
        *libfuzzer_args,
    ]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
