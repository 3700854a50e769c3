"""Fixtures every shoplake test may use: sample events, fake AWS credentials, clean global state."""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

from local_stack.functions import LambdaContext
from local_stack.provision import ACCOUNT_ID, REGION
from local_stack.spark import local_spark
from local_stack.template import ROOT

AWS_SAMPLES = ROOT / "tests" / "events"
OUR_EVENTS = ROOT / "events"


def aws_sample(name: str) -> dict[str, Any]:
    """A public AWS sample event kept in tests/events (its origin in tests/events/SOURCES.md)."""
    return json.loads((AWS_SAMPLES / name).read_text(encoding="utf-8"))


def our_event(path: str) -> dict[str, Any]:
    """One of the sample events in events/, the ones `sam local invoke -e` takes."""
    return json.loads((OUR_EVENTS / path).read_text(encoding="utf-8"))


def fresh_module(path: Path) -> ModuleType:
    """The Python file at `path` run afresh as a module of its own (its clients made now, under the test's mocks)."""
    spec = importlib.util.spec_from_file_location(f"{path.parent.name}_{path.stem}_{uuid.uuid4().hex[:8]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def function_app(directory: str) -> ModuleType:
    """The handler module of the Lambda function in functions/<directory>/app.py, loaded afresh."""
    return fresh_module(ROOT / "functions" / directory / "app.py")


def lambda_context(function_name: str, *, memory_mb: int = 256, timeout_s: int = 30) -> LambdaContext:
    """The context Lambda passes a handler of `function_name` (as deployed: shoplake-dev-…), its clock started now."""
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
    return LambdaContext(function_name, arn, memory_limit_in_mb=memory_mb, timeout_seconds=timeout_s)


def aws_sample_names(*prefixes: str) -> list[str]:
    """The names of the samples in tests/events starting with any of `prefixes`; failing if none does."""
    names = sorted(p.name for p in AWS_SAMPLES.glob("*.json") if p.name.startswith(prefixes))
    if not names:
        raise LookupError(f"no sample event in {AWS_SAMPLES} starts with {prefixes}")
    return names


# The fixtures that need PostgreSQL (tests/functional/conftest.py): this machine's, or an embedded one started.
POSTGRES_FIXTURES = frozenset({"postgres_dsn", "database", "shop"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what keeps a test out of `make unit`: Spark by its fixture, servers by fixture and folder."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "spark" in fixtures:
            item.add_marker(pytest.mark.spark)
        if fixtures & POSTGRES_FIXTURES or "e2e" in item.path.relative_to(ROOT).parts[:2]:
            item.add_marker(pytest.mark.server)


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # No test may reach a real account, whatever the machine's own configuration says.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture(autouse=True)
def _reset_powertools() -> Iterator[None]:
    parameters.clear_caches()
    yield
    parameters.clear_caches()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local SparkSession as Glue 5.0 runs one (local_stack.spark)."""
    session = local_spark("shoplake-tests")
    yield session
    session.stop()


@pytest.fixture
def s3_lake(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    """A lake bucket of its own on moto's server: its `s3://` root, as a Glue job is given it, and its LakeFiles
    (with a boto3 S3 client, for `write_text_if_absent`). Mark the test `server`.

    pyarrow takes the credentials from the environment, as in Glue; the endpoint from the URI's query.
    """
    import uuid  # noqa: PLC0415 - only the tests that take this fixture need these

    import boto3  # noqa: PLC0415
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    from local_stack.stack import LOCAL_CREDENTIALS  # noqa: PLC0415
    from shoplake_etl.lake_files import LakeFiles  # noqa: PLC0415

    for name, value in LOCAL_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        bucket = f"lake-{uuid.uuid4().hex[:8]}"
        s3 = boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name=REGION)
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        root = f"s3://{bucket}/?endpoint_override={host}:{port}&scheme=http&region={REGION}"
        yield root, LakeFiles.from_uri(root, s3)
    finally:
        server.stop()
