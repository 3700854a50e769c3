"""The thread table: conditional writes, one first writer, replayed Slack requests, the sweep's list (moto)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.provision import REGION
from shoplake.alerts.thread_store import REQUEST_PREFIX, ThreadStore, VersionConflictError
from shoplake.alerts.threads import UpdateParent, on_alert
from tests.thread_fakes import ALARM_KEY, T0, alarm, atomic_items, thread_table

TTL = 30 * 86400.0


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        yield thread_table(boto3.resource("dynamodb", region_name=REGION))


@pytest.fixture
def store(table: Any) -> ThreadStore:
    return ThreadStore(table, ttl_s=TTL)


def test_a_saved_thread_reads_back_with_its_version_and_expiry(store: ThreadStore, table: Any) -> None:
    thread = on_alert(None, alarm(), T0).thread
    saved = store.save(thread, version=None, now=T0, lease_owner="me", lease_until=T0 + 60)
    assert store.get(ALARM_KEY) == saved
    assert (saved.version, saved.lease_owner, saved.lease_until) == (1, "me", T0 + 60)
    item = table.get_item(Key={"thread_key": ALARM_KEY})["Item"]
    assert item["expires_at"] == int(T0 + TTL)
    assert store.get("alarm:nothing") is None


def test_a_save_from_a_stale_read_is_refused(store: ThreadStore) -> None:
    thread = on_alert(None, alarm(), T0).thread
    first = store.save(thread, version=None, now=T0)
    store.save(replace(thread, count=2), version=first.version, now=T0)
    # WHEN a second writer saves what it read at version 1
    with pytest.raises(VersionConflictError):
        store.save(replace(thread, count=3), version=first.version, now=T0)
    stored = store.get(ALARM_KEY)
    assert stored is not None and (stored.thread.count, stored.version) == (2, 2)


def test_two_first_writers_at_once_make_one_thread(store: ThreadStore, monkeypatch: pytest.MonkeyPatch) -> None:
    atomic_items(monkeypatch)
    # GIVEN two events of a new happening, each deciding "post a parent" at the same moment
    thread = on_alert(None, alarm(), T0).thread
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def claim(owner: str) -> None:
        start.wait()
        try:
            store.save(thread, version=None, now=T0, lease_owner=owner, lease_until=T0 + 60)
            outcomes.append("won")
        except VersionConflictError:
            outcomes.append("lost")

    racers = [threading.Thread(target=claim, args=(name,)) for name in ("a", "b")]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    # THEN exactly one claims the key
    assert sorted(outcomes) == ["lost", "won"]


def test_a_slack_request_is_remembered_once(store: ThreadStore, table: Any) -> None:
    assert store.remember_request("v0=abc", int(T0) + 600) is True
    assert store.remember_request("v0=abc", int(T0) + 600) is False
    assert store.remember_request("v0=def", int(T0) + 600) is True
    item = table.get_item(Key={"thread_key": REQUEST_PREFIX + "v0=abc"})["Item"]
    assert item["expires_at"] == int(T0) + 600


def test_the_sweep_lists_open_flapping_and_pending_threads_only(store: ThreadStore) -> None:
    open_ = on_alert(None, alarm(key="alarm:a"), T0).thread
    closed = on_alert(None, alarm("OK", key="alarm:b"), T0).thread
    closing = replace(on_alert(None, alarm("OK", key="alarm:c"), T0).thread, pending=(UpdateParent("9"),))
    flapping = replace(closed, key="alarm:d", flapping=True)
    for thread in (open_, closed, closing, flapping):
        store.save(thread, version=None, now=T0)
    store.remember_request("v0=abc", int(T0) + 600)
    assert sorted(s.thread.key for s in store.open_threads()) == ["alarm:a", "alarm:c", "alarm:d"]


def test_the_sweep_reads_every_page(store: ThreadStore) -> None:
    thread = on_alert(None, alarm(), T0).thread
    padding = "x" * 300_000  # about 300 KB each: a scan page holds at most 1 MB
    for n in range(8):
        store.save(replace(thread, key=f"alarm:{n}", summary=padding), version=None, now=T0)
    assert len(store.open_threads()) == 8


def test_a_lease_belongs_to_its_owner_until_it_runs_out(store: ThreadStore) -> None:
    saved = store.save(on_alert(None, alarm(), T0).thread, version=None, now=T0, lease_owner="a", lease_until=T0 + 60)
    assert saved.leased_by_other("b", T0 + 59)
    assert not saved.leased_by_other("a", T0 + 1)
    assert not saved.leased_by_other("b", T0 + 60)
