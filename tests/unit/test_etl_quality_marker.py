"""The quality step's "checked" marker, as publish reads it: the staging published is the staging checked.

A directory stands for the lake bucket (`LakeFiles`), and moto's server for S3 where pyarrow's S3 file
system itself is what is under test: the marker is written and read through the one `LakeFiles` code path.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pytest

from shoplake import lake_layout
from shoplake_etl.publication import LakeFiles
from shoplake_etl.steps import StagingNotChecked, mark_checked, require_checked, staged_path

DAY = date(2026, 11, 24)
RUN = "night-24"
EVERY_TABLE_CHECKED = dict.fromkeys(lake_layout.CURATED_TABLES, 4)  # as a quality step that passed 4 rules each


def _stage_every_table(files: LakeFiles, rows: str = "rows") -> None:
    for table in lake_layout.CURATED_TABLES:
        files.write_text(_staged(table), f"{table} {rows}")


def _staged(table: str, name: str = "part-00000.parquet") -> str:
    return staged_path("", RUN, table, DAY) + name


@pytest.fixture
def lake(tmp_path: Path) -> tuple[str, LakeFiles]:
    root = f"file://{tmp_path}/"
    return root, LakeFiles.from_uri(root)


def test_a_staging_published_as_it_was_checked_is_taken_as_checked(lake: tuple[str, LakeFiles]) -> None:
    # GIVEN every curated table staged, and checked by rules on each
    root, files = lake
    _stage_every_table(files)
    key = mark_checked(root, DAY, RUN, EVERY_TABLE_CHECKED)
    # WHEN publish asks, THEN it may publish
    require_checked(files, DAY, RUN)
    # AND the marker records each file's size and digest, not its name only
    staged = json.loads(files.read_text(key) or "")["staged"]
    content = b"sales_fact rows"
    assert staged["sales_fact"] == {_staged("sales_fact"): {"size": 15, "sha256": hashlib.sha256(content).hexdigest()}}


def test_a_file_rewritten_in_place_with_as_many_bytes_is_refused_naming_the_table_the_file_and_the_digests(
    lake: tuple[str, LakeFiles],
) -> None:
    # GIVEN a checked staging
    root, files = lake
    _stage_every_table(files)
    mark_checked(root, DAY, RUN, EVERY_TABLE_CHECKED)
    # WHEN one file is rewritten under its key with other bytes of the same length
    files.write_text(_staged("review_fact"), "review_fact ROWS")
    # THEN publish is refused, naming the run, the day, the table, the file and what differs
    with pytest.raises(StagingNotChecked) as refused:
        require_checked(files, DAY, RUN)
    message = str(refused.value)
    assert message.startswith(f"run {RUN}, day {DAY}: nothing published: its staging changed after"), message
    assert f"review_fact: {_staged('review_fact')}: content differs (sha256 " in message, message
    assert "sales_fact" not in message.split("checked it (")[1].split(")", 1)[1], message  # only what changed


def test_a_file_staged_or_removed_after_the_check_is_refused_naming_it(lake: tuple[str, LakeFiles]) -> None:
    # GIVEN a checked staging
    root, files = lake
    _stage_every_table(files)
    mark_checked(root, DAY, RUN, EVERY_TABLE_CHECKED)
    # WHEN a stray write adds a file to one table and removes another table's
    files.write_text(_staged("sales_fact", "part-00001.parquet"), "more rows")
    files.delete_file(_staged("product_dim"))
    # THEN publish is refused, naming both
    with pytest.raises(StagingNotChecked) as refused:
        require_checked(files, DAY, RUN)
    assert f"sales_fact: {_staged('sales_fact', 'part-00001.parquet')}: staged after the check" in str(refused.value)
    assert f"product_dim: {_staged('product_dim')}: removed after the check" in str(refused.value)


@pytest.mark.parametrize("rules", [{}, {"clickstream_hourly": 0}, {"clickstream_hourly": "4"}])
def test_a_curated_table_on_which_no_rule_passed_is_refused_by_name(
    lake: tuple[str, LakeFiles], rules: dict[str, object]
) -> None:
    # GIVEN every table staged, and a marker whose rules passed on every table but clickstream_hourly
    root, files = lake
    _stage_every_table(files)
    passed = {t: n for t, n in EVERY_TABLE_CHECKED.items() if t != "clickstream_hourly"} | rules
    mark_checked(root, DAY, RUN, passed)  # type: ignore[arg-type]  # a marker as a hand could write it
    # WHEN publish asks, THEN it is refused, naming that table only
    with pytest.raises(StagingNotChecked, match=r"nothing published: no rule checked clickstream_hourly \("):
        require_checked(files, DAY, RUN)


def test_a_marker_that_lists_file_names_only_is_not_taken_as_checked(lake: tuple[str, LakeFiles]) -> None:
    # GIVEN a marker as quality steps wrote it before file identities were recorded
    _, files = lake
    _stage_every_table(files)
    staged = {t: [_staged(t)] for t in lake_layout.CURATED_TABLES}
    body = {"run_id": RUN, "day": DAY.isoformat(), "rules_passed": EVERY_TABLE_CHECKED, "staged": staged}
    files.write_text(lake_layout.checked_marker_key(RUN, DAY), json.dumps(body))
    # WHEN publish asks, THEN it is refused: what those files held when checked is not known
    with pytest.raises(StagingNotChecked, match=r"is not a quality marker"):
        require_checked(files, DAY, RUN)


@pytest.mark.server  # moto's server, for pyarrow's S3 filesystem
def test_on_s3_a_file_rewritten_in_place_after_the_check_is_refused(s3_lake: tuple[str, LakeFiles]) -> None:
    # GIVEN a checked staging in an S3 bucket
    root, files = s3_lake
    _stage_every_table(files)
    mark_checked(root, DAY, RUN, EVERY_TABLE_CHECKED)
    require_checked(files, DAY, RUN)
    # WHEN one object is put again under its key, as long as before, within the same second
    files.write_text(_staged("sales_fact"), "sales_fact ROWS")
    # THEN publish is refused, naming it
    with pytest.raises(StagingNotChecked, match=rf"sales_fact: {re.escape(_staged('sales_fact'))}: content differs"):
        require_checked(files, DAY, RUN)
