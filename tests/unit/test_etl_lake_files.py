"""The lake's files (`shoplake_etl.lake_files`): a write that never replaces another writer's file, and the day
manifests `publication.read_manifest` follows only when they are the day's own (review 17c)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pyarrow.fs as pafs
import pytest
from moto import mock_aws

from shoplake import lake_layout
from shoplake_etl.backfill_manifests import backfill_manifests
from shoplake_etl.catalog import MemoryCatalog
from shoplake_etl.publication import DayManifest, LakeFiles, ManifestError, read_manifest, version_key

DAY = date(2026, 11, 24)
V0, V1 = "20261124T170000000000Z", "20261125T170000000000Z"
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)  # both versions settled (older than publication.IN_FLIGHT)
KEY = lake_layout.day_manifest_key(DAY)


def _local(tmp_path: Path) -> LakeFiles:
    return LakeFiles(pafs.LocalFileSystem(), str(tmp_path))


def test_a_write_if_absent_never_replaces_a_file_already_there(tmp_path: Path) -> None:
    # GIVEN a local lake without the key
    files = _local(tmp_path)
    # WHEN two writers write it if absent, one after the other
    first, second = files.write_text_if_absent(KEY, "first"), files.write_text_if_absent(KEY, "second")
    # THEN the first writes, the second is told it did not, and the first's text stands with nothing beside it
    assert (first, second) == (True, False)
    assert files.read_text(KEY) == "first"
    assert files.files(lake_layout.ETL_PUBLISHED_DAYS) == [KEY]


@pytest.fixture
def s3_files() -> Iterator[tuple[LakeFiles, Any]]:
    """A lake bucket in moto (in process): LakeFiles with the boto3 client its conditional write uses."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="ap-northeast-2")
        s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
        # pyarrow cannot reach moto in process: only the conditional write, which goes through `s3`, is used here
        filesystem = pafs.S3FileSystem(region="ap-northeast-2", access_key="testing", secret_key="testing")
        yield LakeFiles(filesystem, "lake", s3), s3


def test_on_s3_a_write_if_absent_is_a_conditional_put_that_never_replaces_an_object(
    s3_files: tuple[LakeFiles, Any],
) -> None:
    # GIVEN the lake bucket without the key
    files, s3 = s3_files
    # WHEN two writers write it if absent, one after the other
    first, second = files.write_text_if_absent(KEY, "first"), files.write_text_if_absent(KEY, "second")
    # THEN S3 refuses the second (412 PreconditionFailed): the first's object stands
    assert (first, second) == (True, False)
    assert s3.get_object(Bucket="lake", Key=KEY)["Body"].read() == b"first"


def test_on_s3_a_write_if_absent_without_a_client_is_refused_before_anything_is_sent(
    s3_files: tuple[LakeFiles, Any],
) -> None:
    # GIVEN LakeFiles on S3 made without a boto3 client
    files, s3 = s3_files
    # WHEN a write that must not replace a file is asked for, THEN it is refused, and nothing is written
    with pytest.raises(ValueError, match="needs LakeFiles"):
        LakeFiles(files.filesystem, files.root).write_text_if_absent(KEY, "text")
    assert s3.list_objects_v2(Bucket="lake").get("KeyCount") == 0


@pytest.mark.server  # moto's server, so that pyarrow's S3 file system and boto3 see one bucket
def test_on_s3_the_back_fill_leaves_a_manifest_a_publish_wrote_first(s3_lake: tuple[str, LakeFiles]) -> None:
    # GIVEN the lake bucket on moto's server, a legacy day in the catalog, and the day's manifest a publish wrote
    _, files = s3_lake
    catalog = MemoryCatalog()
    for table in lake_layout.CURATED_TABLES:
        files.write_text(version_key(table, DAY, V0) + "part-0.parquet", "legacy")
        catalog.point(table, DAY, version_key(table, DAY, V0))
    published = DayManifest(DAY, "rerun-24", V1, {t: version_key(t, DAY, V1) for t in lake_layout.CURATED_TABLES})

    @dataclass(frozen=True)
    class PublishLandsFirst(LakeFiles):
        def write_text_if_absent(self, key: str, text: str) -> bool:
            files.write_text(key, published.to_json())  # the re-run's manifest lands just before
            return super().write_text_if_absent(key, text)

    # WHEN the back-fill writes the day's manifest
    done = backfill_manifests(catalog, PublishLandsFirst(files.filesystem, files.root, files.s3), now=NOW)
    # THEN S3 refused its conditional put: the publish's manifest stands, and the day is said skipped
    assert files.read_text(KEY) == published.to_json()
    assert done.written == []
    assert "a publish wrote its manifest meanwhile" in done.skipped[DAY]


def _manifest(day: date = DAY, **changes: Any) -> str:
    tables = {t: version_key(t, day, V1) for t in lake_layout.CURATED_TABLES}
    body = {"day": day.isoformat(), "run_id": "night-24", "version": V1, "tables": tables} | changes
    return json.dumps(body)


def _tables(**changes: str) -> dict[str, str]:
    return {t: version_key(t, DAY, V1) for t in lake_layout.CURATED_TABLES} | changes


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (_manifest(DAY - timedelta(days=1)), "it is the manifest of 2026-11-23"),
        (
            _manifest(tables=_tables(sales_fact=version_key("sales_fact", DAY - timedelta(days=1), V1))),
            "sales_fact: curated/sales_fact/year=2026/month=11/day=23/",
        ),
        (_manifest(tables=_tables(sales_fact=version_key("review_fact", DAY, V1))), "sales_fact: curated/review_fact/"),
        (_manifest(tables=_tables(sales_fact=version_key("sales_fact", DAY, "20261124T170000000000Z"))), "sales_fact"),
        (_manifest(tables=_tables(sales_fact="s3://elsewhere/sales/")), "sales_fact: s3://elsewhere/sales/"),
        (_manifest(tables=_tables(secrets=version_key("secrets", DAY, V1))), "not curated tables: secrets"),
        (_manifest(version=""), "no version folder's name"),
        (_manifest(version=f"{V1}/x", tables=_tables(sales_fact=version_key("sales_fact", DAY, f"{V1}/x"))), "/x"),
    ],
    ids=[
        "another-day",
        "another-days-folder",
        "another-tables-folder",
        "another-version",
        "foreign",
        "unknown-table",
        "no-version",
        "version-with-slash",
    ],
)
def test_a_manifest_that_is_not_the_days_own_is_refused_naming_its_key(tmp_path: Path, text: str, said: str) -> None:
    # GIVEN the day's manifest key holding a manifest of another day, or naming folders not its own
    files = _local(tmp_path)
    files.write_text(KEY, text)
    # WHEN it is read, THEN it is refused, naming the key and what is wrong
    with pytest.raises(ManifestError, match=KEY) as refused:
        read_manifest(files, DAY)
    assert said in str(refused.value)


def test_a_manifest_without_some_table_is_still_the_days_own(tmp_path: Path) -> None:
    # GIVEN a back-filled manifest of a day before product_dim existed (`--allow-missing product_dim`)
    files = _local(tmp_path)
    tables = {t: version_key(t, DAY, V1) for t in lake_layout.CURATED_TABLES if t != "product_dim"}
    files.write_text(KEY, DayManifest(DAY, "backfill-manifests", V1, tables).to_json())
    # WHEN it is read, THEN it is followed, naming those tables only
    manifest = read_manifest(files, DAY)
    assert manifest is not None
    assert dict(manifest.tables) == tables
