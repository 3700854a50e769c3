"""Fixtures shared by the unit tests of alert threads (tests/thread_fakes.py holds the stand-ins themselves)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shoplake.alerts.thread_store import ThreadStore
from tests.thread_fakes import Clock, memory_store


@pytest.fixture
def store() -> Iterator[ThreadStore]:
    """The thread table in moto, keeping a thread as long as the deployed functions do (Policy.ttl_s)."""
    with memory_store() as threads:
        yield threads


@pytest.fixture
def clock() -> Clock:
    """A clock at T0 that the test moves, and that the engine's sleeps move."""
    return Clock()
