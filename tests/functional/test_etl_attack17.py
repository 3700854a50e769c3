"""Review 17, a stranger's attack on the nightly ETL, against real servers: faults found, each a test failing today.

The ETL's database role on this machine's PostgreSQL, migrated as the tests migrate it, logged in as
the extract logs in; and the S3 requests the publish step's own file I/O (pyarrow) makes, recorded on
moto's server and checked against the publish job's role in template.yaml. Every test is
`xfail(strict=True)`: fixing the fault makes it pass, and strict xfail then fails the run, so whoever
fixes it removes the mark.
"""

from __future__ import annotations

import fnmatch
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
import psycopg
import pytest
from moto.server import ThreadedMotoServer
from psycopg.conninfo import make_conninfo

from local_stack.demo_report import local_lake_filesystem
from local_stack.template import load_template
from shop.app.db.locks import Lock
from shop.migrate import apply_migrations
from shoplake import lake_layout
from shoplake_etl.catalog import MemoryCatalog
from shoplake_etl.publication import DayManifest, LakeFiles, publish_day, version_key
from shoplake_etl.removal import remove_superseded_days
from shoplake_etl.superseded import GRACE
from shoplake_etl.tables import ETL_DATABASE_ROLE


@pytest.fixture
def etl(database: Any, postgres_dsn: str) -> Any:
    """A session of the ETL's role on a freshly migrated shop schema, as the extract opens one."""
    apply_migrations(database)
    schema = database.execute("SELECT current_schema()").fetchone()[0]
    conninfo = make_conninfo(postgres_dsn, user=ETL_DATABASE_ROLE, options=f"-c search_path={schema}")
    with psycopg.connect(conninfo, autocommit=True) as session:
        yield session


def test_the_etl_role_cannot_create_a_temporary_table(etl: Any) -> None:
    # WHEN the ETL's login creates a temporary table THEN PostgreSQL refuses it
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        etl.execute("CREATE TEMPORARY TABLE scratch (x text)")


@pytest.mark.xfail(
    strict=True,
    reason="shop_etl may create large objects (lo_from_bytea): data written into the shop database by the "
    "'read-only' ETL login, kept after its session ends. PUBLIC's EXECUTE on the function belongs to the "
    "bootstrap superuser (rdsadmin on RDS): no migration can revoke it (docs/shop.md)",
)
def test_the_etl_role_cannot_store_a_large_object(etl: Any) -> None:
    # WHEN the ETL's login stores bytes as a large object
    try:
        stored = etl.execute("SELECT lo_from_bytea(0, 'exfiltrated'::bytea)").fetchone()[0]
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction):
        return  # THEN PostgreSQL refuses it
    etl.execute("SELECT lo_unlink(%s)", (stored,))  # (leave the server as it was)
    pytest.fail(f"shop_etl stored large object {stored}")


@pytest.mark.xfail(
    strict=True,
    reason="shop_etl may take the shop's advisory locks (pg_advisory_lock is PUBLIC): the ETL's login can hold "
    "the schema's migration lock (or a login's, a payment's) and stall the shop. PUBLIC's EXECUTE on the "
    "function belongs to the bootstrap superuser (rdsadmin on RDS): no migration can revoke it (docs/shop.md)",
)
def test_the_etl_role_cannot_hold_the_shops_migration_lock(etl: Any) -> None:
    # WHEN the ETL's login takes the advisory lock the shop's migrations wait on (shop.app.db.locks)
    key = "hashtext(concat_ws('/', coalesce(current_schema(), ''), NULL::text))"
    held = etl.execute(f"SELECT pg_try_advisory_lock(%s, {key})", (int(Lock.MIGRATIONS),)).fetchone()[0]
    if held:
        etl.execute(f"SELECT pg_advisory_unlock(%s, {key})", (int(Lock.MIGRATIONS),))
    # THEN it cannot
    assert not held


# ---------------------------------------------------------------- the publish role against its own S3 requests


class _Requests(logging.Handler):
    """The request lines moto's server logs (werkzeug): "HEAD /bucket HTTP/1.1"."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if '"' in message:
            self.lines.append(message.split('"')[1])


@pytest.fixture
def recorded_lake() -> Iterator[tuple[LakeFiles, _Requests]]:
    """A lake bucket on moto's server, pyarrow's S3 filesystem on it, and the requests it receives."""
    requests = _Requests()
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.addHandler(requests)
    werkzeug.setLevel(logging.INFO)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=True)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint, bucket = f"http://{host}:{port}", f"lake-{uuid.uuid4().hex[:8]}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="ap-northeast-2")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
        yield LakeFiles(local_lake_filesystem(endpoint), bucket), requests
    finally:
        server.stop()
        werkzeug.removeHandler(requests)
        werkzeug.setLevel(level)


def _needs(line: str, bucket: str) -> tuple[str, str | None, str | None] | None:
    """(IAM action, object key or None for the bucket, s3:prefix or None) a request line needs; None for
    requests to other buckets (pyarrow's backend probe, which may fail) and for DeleteObjects (POST ?delete),
    whose keys, each needing s3:DeleteObject, the line does not show: they are the keys just listed."""
    method, target, _ = line.split(" ")
    url = urlsplit(target)
    name, _, key = url.path.lstrip("/").partition("/")
    if name != bucket:
        return None
    query = parse_qs(url.query, keep_blank_values=True)
    if not key:
        if method == "GET":  # ListObjectsV2
            return "s3:ListBucket", None, query.get("prefix", [""])[0]
        if method == "HEAD":  # HeadBucket: AWS asks for s3:ListBucket, with no prefix
            return "s3:ListBucket", None, None
        return None
    action = {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "DELETE": "s3:DeleteObject"}.get(method, "s3:PutObject")
    return action, unquote(key), None


def _publish_role_allows(action: str, key: str | None, prefix: str | None) -> bool:
    resources = load_template()["Resources"]
    statements = resources["EtlPublishRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if statement["Effect"] != "Allow" or action not in actions:
            continue
        targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for target in targets:
            if key is None and target == {"Fn::GetAtt": ["LakeBucket", "Arn"]}:
                patterns = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
                if patterns is None or (prefix is not None and any(fnmatch.fnmatchcase(prefix, p) for p in patterns)):
                    return True
            text = target.get("Fn::Sub", "") if isinstance(target, dict) else ""
            if (
                key is not None
                and text.startswith("${LakeBucket.Arn}/")
                and fnmatch.fnmatchcase(key, text.removeprefix("${LakeBucket.Arn}/"))
            ):
                return True
    return False


@pytest.mark.server  # moto's server, for pyarrow's S3 filesystem
def test_the_publish_role_allows_every_s3_request_of_publishing_a_day(
    recorded_lake: tuple[LakeFiles, _Requests],
) -> None:
    # GIVEN a run's versions written and an older version of the day beside them
    files, requests = recorded_lake
    day, catalog = date(2026, 11, 24), MemoryCatalog()
    v1, v2 = "20261124T170000000000Z", "20261125T170000000000Z"
    for table in lake_layout.CURATED_TABLES:
        for version in (v1, v2):
            files.write_text(version_key(table, day, version) + "part-00000.parquet", "rows")
    files.write_text(f"{lake_layout.staging_prefix('run-2')}sales_fact/part-00000.parquet", "rows")
    requests.lines.clear()
    # WHEN the publish step's file I/O publishes v2, removes its run's staging and, past the grace, the
    # superseded v1, as publish_run does
    published_at = datetime(2026, 11, 25, 18, tzinfo=UTC)
    manifest = publish_day(catalog, files, day, "run-2", v2, published_at)
    files.delete_folder(lake_layout.staging_prefix("run-2"))
    assert remove_superseded_days(catalog, files, [day], published_at + GRACE)[1] == []
    assert files.files(version_key("sales_fact", day, v1)) == []
    assert DayManifest.from_json(files.read_text(lake_layout.day_manifest_key(day)) or "") == manifest
    # THEN the publish job's role allows every S3 request that took
    needed = {n for line in requests.lines if (n := _needs(line, files.root)) is not None}
    assert needed, requests.lines
    refused = sorted((a, k or "", p or "") for a, k, p in needed if not _publish_role_allows(a, k, p))
    assert not refused, refused
