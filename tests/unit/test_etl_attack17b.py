"""A hostile review of the nightly ETL's publication (review 17b): each test shows a fault, xfail until fixed.

A directory stands for the lake bucket (`LakeFiles`), a dict for the catalog (`MemoryCatalog`); failures
are injected by wrapping them. Run with --runxfail to see each fail for its stated reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shoplake import lake_layout
from shoplake.alerts.sources import read_alerts
from shoplake_etl.backfill_manifests import backfill_manifests
from shoplake_etl.catalog import MemoryCatalog
from shoplake_etl.publication import DayNotPublished, LakeFiles, publish_day, published_days, read_manifest, version_key
from shoplake_etl.repair import publish_run
from shoplake_etl.steps import StagingNotChecked, mark_checked, require_checked, staged_path
from tests.conftest import aws_sample

DAY = date(2026, 11, 24)
V0, V1, V2 = "20261124T170000000000Z", "20261125T170000000000Z", "20261126T170000000000Z"
FACT = lake_layout.CURATED_TABLES[0]


def _lake(tmp_path: Path) -> tuple[str, LakeFiles]:
    root = f"file://{tmp_path}/"
    return root, LakeFiles.from_uri(root)


def _write_version(files: LakeFiles, table: str, day: date, version: str) -> None:
    files.write_text(version_key(table, day, version) + "part-0.parquet", f"{table} {day} {version}")


def test_a_staged_file_rewritten_after_the_check_is_not_taken_as_checked(tmp_path: Path) -> None:
    # GIVEN a run's staged sales file, checked by its quality step
    root, files = _lake(tmp_path)
    staged = staged_path("", "night-24", FACT, DAY) + "part-00000.parquet"
    files.write_text(staged, "the rows the rules passed")
    mark_checked(root, DAY, "night-24", {FACT: 3})
    # WHEN the same file is rewritten with other rows before publish
    files.write_text(staged, "rows no rule ever saw")
    # THEN publish refuses the staging as unchecked, naming the file and what differs
    with pytest.raises(StagingNotChecked, match=r"sales_fact: \S*/part-00000\.parquet: 25 bytes when checked, 21 now"):
        require_checked(files, DAY, "night-24")


def test_a_first_publish_killed_between_catalog_calls_is_undone_by_the_next_nights_publish(tmp_path: Path) -> None:
    # GIVEN the night of the 24th was killed after pointing only the sales partition at its version (no manifest)
    _, files = _lake(tmp_path)
    catalog = MemoryCatalog()
    for table in lake_layout.CURATED_TABLES:
        _write_version(files, table, DAY, V0)
    catalog.point(FACT, DAY, version_key(FACT, DAY, V0))
    # WHEN the next night publishes the 25th, a day later (its catch-up span holds the 24th)
    nxt = DAY + timedelta(days=1)
    for table in lake_layout.CURATED_TABLES:
        _write_version(files, table, nxt, V1)
    publish_run(catalog, files, nxt, "night-25", V1, datetime(2026, 11, 25, 18, tzinfo=UTC))
    # THEN the 24th, never published whole, is no longer half visible in the catalog
    assert read_manifest(files, DAY) is None
    assert catalog.location(FACT, DAY) is None


@dataclass(frozen=True)
class AmbiguousLake(LakeFiles):
    """The manifest's PutObject lands but raises (a timeout), and the read-back that follows times out too."""

    timed_out: list[str] = field(default_factory=list)

    def write_text(self, key: str, text: str) -> None:
        super().write_text(key, text)
        if key.endswith(lake_layout.DAY_MANIFEST):
            self.timed_out.append(key)
            raise TimeoutError("PutObject timed out")

    def read_text(self, key: str) -> str | None:
        if key in self.timed_out:
            raise TimeoutError("GetObject timed out")
        return super().read_text(key)


def test_an_ambiguous_manifest_write_never_leaves_the_manifest_and_the_catalog_apart(tmp_path: Path) -> None:
    # GIVEN the 24th published as V0, and V1 written for a re-run
    _, plain = _lake(tmp_path)
    catalog = MemoryCatalog()
    for table in lake_layout.CURATED_TABLES:
        _write_version(plain, table, DAY, V0)
        _write_version(plain, table, DAY, V1)
    publish_day(catalog, plain, DAY, "night-24", V0)
    lake = AmbiguousLake(plain.filesystem, plain.root)
    # WHEN the re-run's manifest write lands but times out, and reading it back times out too
    with pytest.raises(DayNotPublished) as raised:
        publish_day(catalog, lake, DAY, "rerun-24", V1)
    # THEN what the error says stands is what the manifest names, and the catalog agrees with it
    manifest = read_manifest(plain, DAY)
    assert manifest is not None
    assert f"version {manifest.version} stands" in str(raised.value)
    assert {catalog.location(t, DAY) for t in lake_layout.CURATED_TABLES} == set(manifest.tables.values())


def test_backfill_manifests_during_a_night_does_not_commit_a_day_being_published(tmp_path: Path) -> None:
    # GIVEN the night of the 24th (first publish of the day) has pointed the sales partition, not yet the others
    _, files = _lake(tmp_path)
    catalog = MemoryCatalog()
    for table in lake_layout.CURATED_TABLES:
        _write_version(files, table, DAY, V2)
    catalog.point(FACT, DAY, version_key(FACT, DAY, V2))
    # WHEN the one-off back-fill of manifests runs at that moment
    backfill_manifests(catalog, files)
    # THEN the half-published day is not taken as published whole
    assert DAY not in published_days(files)


def _intrinsic_fields(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith(".$") and isinstance(value, str) and value.startswith("States."):
                yield f"{path}/{key}", value
            yield from _intrinsic_fields(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _intrinsic_fields(value, f"{path}/{index}")


def test_no_field_of_the_nightly_state_machine_uses_more_than_ten_intrinsic_functions() -> None:
    # GIVEN the nightly ETL's definition
    definition = json.loads((Path(__file__).parents[2] / "statemachines/nightly_etl.asl.json").read_text())
    # WHEN each field's intrinsic functions are counted
    counts = {path: len(re.findall(r"States\.[A-Za-z]+\(", value)) for path, value in _intrinsic_fields(definition)}
    # THEN none has more than Step Functions' limit: "You can nest up to 10 intrinsic functions within a field"
    # (the intrinsic functions page of the Step Functions guide, whose example of nine counts every call)
    assert {path: n for path, n in counts.items() if n > 10} == {}


def test_a_timed_out_night_is_told_with_what_happens_next() -> None:
    # GIVEN Step Functions' event for an execution that timed out, of the nightly ETL (the sample's machine renamed)
    event = aws_sample("eventbridge_stepfunctions_execution_timed_out__awsdocs.json")
    machine = "arn:aws:states:us-east-1:012345678912:stateMachine:shoplake-prod-nightly-etl"
    event["detail"] = {**event["detail"], "stateMachineArn": machine}
    # WHEN the alerter reads it
    (alert,) = read_alerts(event)
    # THEN the Slack text says what happens next: the held days lapse, the day is re-run or caught up
    text = f"{alert.summary} {alert.fields}"
    assert "lapse" in text or "re-run" in text or "catches up" in text, text


def test_an_unreadable_manifest_of_a_neighbouring_day_does_not_stop_a_nights_publish(tmp_path: Path) -> None:
    # GIVEN the 21st's manifest is cut short
    _, files = _lake(tmp_path)
    catalog = MemoryCatalog()
    files.write_text(lake_layout.day_manifest_key(DAY - timedelta(days=3)), '{"day": "2026-11-21", "tab')
    for table in lake_layout.CURATED_TABLES:
        _write_version(files, table, DAY, V0)
    # WHEN the night of the 24th publishes
    repaired = publish_run(catalog, files, DAY, "night-24", V0, datetime(2026, 11, 24, 18, tzinfo=UTC))
    # THEN the 24th is published, and the 21st's manifest is named for someone to mend, not blocking it
    assert read_manifest(files, DAY) is not None
    assert [line for line in repaired if line.startswith("2026-11-21: left as it is")], repaired


def test_a_stray_manifest_key_of_no_date_does_not_stop_the_catch_up(tmp_path: Path) -> None:
    # GIVEN a published day, and a stray key of month 13 beside it
    _, files = _lake(tmp_path)
    files.write_text(lake_layout.day_manifest_key(DAY), "{}")
    files.write_text(f"{lake_layout.ETL_PUBLISHED_DAYS}year=2026/month=13/day=01/{lake_layout.DAY_MANIFEST}", "{}")
    # WHEN the catch-up counts the published days
    # THEN the stray key is passed over (logged), as other keys that are not a day's manifest are
    assert published_days(files) == [DAY]


def test_publish_refuses_a_staged_table_that_no_rule_checked(tmp_path: Path) -> None:
    # GIVEN a run that staged every curated table, whose quality step evaluated rules on all but clickstream_hourly
    root, files = _lake(tmp_path)
    for table in lake_layout.CURATED_TABLES:
        files.write_text(staged_path("", "night-24", table, DAY) + "part-00000.parquet", table)
    checked = {t: 3 for t in lake_layout.CURATED_TABLES if t != "clickstream_hourly"}  # as --rulesets names them
    mark_checked(root, DAY, "night-24", checked)
    # WHEN publish asks whether the staging was checked
    # THEN it is refused: one staged table was never checked
    with pytest.raises(StagingNotChecked, match=r"no rule checked clickstream_hourly \("):
        require_checked(files, DAY, "night-24")
