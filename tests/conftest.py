"""Fixtures every shoplake test may use: sample events, fake AWS credentials, clean global state."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

from local_stack.provision import REGION
from local_stack.spark import local_spark
from local_stack.template import ROOT

SHARED_EVENTS = ROOT.parent / "shared" / "aws-events"
OUR_EVENTS = ROOT / "events"


def shared_event(name: str) -> dict[str, Any]:
    """A real sample event from ../shared/aws-events (see its SOURCES.md)."""
    return json.loads((SHARED_EVENTS / name).read_text(encoding="utf-8"))


def our_event(path: str) -> dict[str, Any]:
    """One of the sample events in events/, the ones `sam local invoke -e` takes."""
    return json.loads((OUR_EVENTS / path).read_text(encoding="utf-8"))


def shared_event_names(*prefixes: str) -> list[str]:
    return sorted(p.name for p in SHARED_EVENTS.glob("*.json") if p.name.startswith(prefixes))


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
