"""Threads end to end against moto's DynamoDB and an in-memory Slack: nothing posted twice, nothing lost."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from shoplake.alerts.delivery import SlackDeliveryError
from shoplake.alerts.thread_engine import ThreadBusyError, ThreadEngine
from shoplake.alerts.thread_store import ThreadStore
from shoplake.alerts.threads import ACKNOWLEDGE, SNOOZE_1H, Policy
from tests.thread_fakes import (
    ALARM_KEY,
    CHANNEL_ID,
    MIN,
    ROUTING,
    T0,
    Clock,
    Crash,
    FakeSlack,
    alarm,
    atomic_items,
    engine,
)


def test_an_alarm_lives_in_one_thread(store: ThreadStore, clock: Clock) -> None:
    slack = FakeSlack()
    threads = engine(store, slack, clock)
    # WHEN the alarm fires, fires again, someone acknowledges it, and it recovers
    first = threads.deliver(alarm())
    clock.now += 5 * MIN
    threads.deliver(alarm(n=2))
    result = threads.press(
        action_id=ACKNOWLEDGE,
        thread_key=ALARM_KEY,
        user_id="U0ALICE01",
        user_name="alice",
        channel_id=CHANNEL_ID,
        message_ts=first["ts"],
        now=clock.now + MIN,
    )
    clock.now += 20 * MIN
    threads.deliver(alarm("OK", n=3))
    # THEN one parent, in the on-call channel, now resolved, with every step in its thread
    (parent,) = slack.parents()
    assert (parent.channel, first["channel"], first["actions"]) == (CHANNEL_ID, CHANNEL_ID, ["post_parent"])
    assert result.accepted
    assert "resolved" in parent.message.text and len(parent.history) == 3
    assert [m.message.text.split("] ")[1] for m in slack.thread(parent.ts)] == [
        "ALARM: shoplake-dev-web-5xx",
        "acknowledged by alice",
        "resolved (OK) after 25 min",
    ]
    assert [m.broadcast for m in slack.thread(parent.ts)] == [True, False, False]


def test_a_redelivered_alert_posts_nothing(store: ThreadStore, clock: Clock) -> None:
    slack = FakeSlack()
    threads = engine(store, slack, clock)
    threads.deliver(alarm())
    threads.deliver(alarm(n=2))
    calls = len(slack.calls)
    assert threads.deliver(alarm(n=2))["actions"] == []
    assert len(slack.calls) == calls


def test_two_first_events_at_once_make_one_parent(store: ThreadStore, monkeypatch: pytest.MonkeyPatch) -> None:
    atomic_items(monkeypatch)
    # GIVEN a Slack slow enough that the second event arrives while the first parent is being posted
    slack = FakeSlack(delay=0.3)
    results: list[Any] = []
    start = threading.Barrier(2)

    def deliver(n: int) -> None:
        threads = ThreadEngine(store, slack, ROUTING, Policy(), lambda: T0 + n)
        start.wait()
        results.append(threads.deliver(alarm(n=n)))

    racers = [threading.Thread(target=deliver, args=(n,)) for n in (1, 2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    # THEN one parent, and the other event is a reply in its thread
    (parent,) = slack.parents()
    assert len(results) == 2
    assert {r["ts"] for r in results} == {parent.ts}
    assert len(slack.thread(parent.ts)) == 1


def test_a_busy_thread_is_retried_later_not_posted_twice(store: ThreadStore, clock: Clock) -> None:
    # GIVEN the first event crashed while posting its parent, holding the lease
    slack = FakeSlack()
    slack.crash_before_post = True
    with pytest.raises(Crash):
        engine(store, slack, clock).deliver(alarm())
    # WHEN another event comes within the lease: it waits briefly, then asks Lambda to retry
    with pytest.raises(ThreadBusyError):
        engine(store, slack, clock, wait_s=2.0).deliver(alarm(n=2))
    assert slack.parents() == []
    # AND once the lease ran out, the next attempt takes the claim over: one parent, one reply
    clock.now += 61
    engine(store, slack, clock).deliver(alarm(n=2))
    (parent,) = slack.parents()
    assert len(slack.thread(parent.ts)) == 1


def test_a_crash_after_a_reply_was_posted_does_not_post_it_again(store: ThreadStore, clock: Clock) -> None:
    slack = FakeSlack()
    engine(store, slack, clock).deliver(alarm())
    # GIVEN the invocation died after Slack took the reply, before saving that it did
    slack.crash_after_post = True
    with pytest.raises(Crash):
        engine(store, slack, clock).deliver(alarm(n=2))
    # WHEN Lambda retries after the lease
    clock.now += 61
    engine(store, slack, clock).deliver(alarm(n=2))
    # THEN the reply is there once, found by its metadata
    (parent,) = slack.parents()
    assert len(slack.thread(parent.ts)) == 1
    assert "replies" in slack.calls


def test_a_failed_slack_call_is_finished_by_the_retry(store: ThreadStore, clock: Clock) -> None:
    slack = FakeSlack()
    engine(store, slack, clock).deliver(alarm())

    def refuse(*_: Any, **__: Any) -> Any:
        raise SlackDeliveryError("Slack answered 500")

    failing = FakeSlack()
    failing.messages, failing.post = slack.messages, refuse  # type: ignore[method-assign]
    with pytest.raises(SlackDeliveryError):
        engine(store, failing, clock).deliver(alarm(n=2))
    # THEN the retry (a new invocation, no waiting: the failure gave up its lease) posts the reply once
    engine(store, slack, clock, wait_s=0.0).deliver(alarm(n=2))
    (parent,) = slack.parents()
    assert len(slack.thread(parent.ts)) == 1


def test_a_parent_deleted_in_slack_gets_a_new_one(store: ThreadStore, clock: Clock) -> None:
    slack = FakeSlack()
    threads = engine(store, slack, clock)
    first = threads.deliver(alarm())
    slack.delete(first["ts"])
    # WHEN the alarm fires again
    second = threads.deliver(alarm(n=2))
    # THEN a new parent, whose ts the thread keeps, and the reply in its thread
    (parent,) = slack.parents()
    assert second["ts"] == parent.ts != first["ts"]
    assert "*Count:* 2" in parent.message.blocks[1]["text"]["text"]
    assert len(slack.thread(parent.ts)) == 1
    stored = store.get(ALARM_KEY)
    assert stored is not None and stored.thread.ts == parent.ts


def test_a_press_on_another_message_is_refused(store: ThreadStore, clock: Clock) -> None:
    slack = FakeSlack()
    threads = engine(store, slack, clock)
    first = threads.deliver(alarm())
    press: dict[str, Any] = {"action_id": ACKNOWLEDGE, "user_id": "U0MALLORY", "user_name": "mallory", "now": clock.now}
    assert threads.press(thread_key=ALARM_KEY, channel_id="C0OTHER01", message_ts=first["ts"], **press).reason == (
        "not this thread's message"
    )
    assert threads.press(thread_key="alarm:x", channel_id=CHANNEL_ID, message_ts=first["ts"], **press).reason == (
        "unknown thread"
    )
    refused = threads.press(
        thread_key=ALARM_KEY, channel_id=CHANNEL_ID, message_ts=first["ts"], **press | {"action_id": "shoplake_delete"}
    )
    assert refused.reason == "unknown action"
    stored = store.get(ALARM_KEY)
    assert stored is not None and stored.thread.acknowledged_by is None


def test_snooze_posts_repeats_quietly(store: ThreadStore, clock: Clock) -> None:
    slack = FakeSlack()
    threads = engine(store, slack, clock)
    first = threads.deliver(alarm())
    threads.press(
        action_id=SNOOZE_1H,
        thread_key=ALARM_KEY,
        user_id="U0ALICE01",
        user_name="alice",
        channel_id=CHANNEL_ID,
        message_ts=first["ts"],
        now=clock.now,
    )
    clock.now += 10 * MIN
    threads.deliver(alarm(n=2))
    snoozed, repeat = slack.thread(first["ts"])
    assert snoozed.message.text == "[Critical] snoozed for 1 h by alice" and not repeat.broadcast
    assert ":zzz: *Snoozed* until" in slack.parents()[0].message.blocks[1]["text"]["text"]


def test_the_sweep_reannounces_an_unacknowledged_critical(store: ThreadStore, clock: Clock) -> None:
    slack = FakeSlack()
    threads = engine(store, slack, clock)
    first = threads.deliver(alarm())
    threads.deliver(alarm("OK", key="alarm:other"))
    assert threads.sweep(T0 + 29 * MIN) == []
    assert threads.sweep(T0 + 31 * MIN) == [{"thread": ALARM_KEY, "actions": ["reply"]}]
    assert threads.sweep(T0 + 32 * MIN) == []
    (reannounced,) = slack.thread(first["ts"])
    assert reannounced.broadcast and "not acknowledged" in reannounced.message.text


def test_the_sweep_finishes_what_a_crash_left_and_reports_failures(store: ThreadStore, clock: Clock) -> None:
    slack = FakeSlack()
    slack.crash_before_post = True
    with pytest.raises(Crash):
        engine(store, slack, clock).deliver(alarm())
    # WHEN the sweep runs after the crashed invocation's lease
    clock.now = T0 + 2 * MIN
    assert engine(store, slack, clock).sweep(clock.now) == [{"thread": ALARM_KEY, "actions": ["post_parent"]}]
    assert len(slack.parents()) == 1

    # AND when Slack fails the re-announcement, the sweep says so instead of stopping
    def refuse(*_: Any, **__: Any) -> Any:
        raise SlackDeliveryError("Slack answered 500")

    slack.post = refuse  # type: ignore[method-assign]
    clock.now = T0 + 40 * MIN
    (failure,) = engine(store, slack, clock).sweep(clock.now)
    assert failure == {"thread": ALARM_KEY, "error": "SlackDeliveryError: Slack answered 500"}
