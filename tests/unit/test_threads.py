"""What each alert, press and tick does to a happening's thread (shoplake.alerts.threads, pure)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from shoplake.alerts.model import Phase, Severity
from shoplake.alerts.threads import (
    ACKNOWLEDGE,
    SNOOZE_1H,
    SNOOZE_UNTIL_OK,
    Decision,
    Person,
    Policy,
    Reply,
    Thread,
    UpdateParent,
    on_alert,
    on_press,
    on_tick,
)
from tests.thread_fakes import T0, alarm

MIN = 60.0
ALICE = Person("U0ALICE01", "alice")


def kinds(decision: Decision) -> list[str]:
    return [f"reply:{a.what}{'!' if a.broadcast else ''}" if isinstance(a, Reply) else a.kind for a in decision.actions]


def opened(severity: Severity = Severity.CRITICAL) -> Thread:
    return on_alert(None, alarm(severity=severity), T0).thread


def test_first_alarm_opens_a_parent() -> None:
    decision = on_alert(None, alarm(), T0)
    assert kinds(decision) == ["post_parent"]
    thread = decision.thread
    assert (thread.state, thread.count, thread.opened_at, thread.is_open) == ("ALARM", 1, T0, True)
    assert thread.buttons()


def test_repeat_alarm_replies_and_updates_the_parent_and_wakes_the_channel_while_unacknowledged() -> None:
    decision = on_alert(opened(), alarm(n=2), T0 + 5 * MIN)
    assert kinds(decision) == ["update_parent", "reply:alert!"]
    assert decision.thread.count == 2
    assert decision.thread.announced_at == T0 + 5 * MIN


def test_insufficient_data_replies_quietly_and_moves_since() -> None:
    decision = on_alert(opened(), alarm("INSUFFICIENT_DATA", n=2, severity=Severity.WARNING), T0 + MIN)
    assert kinds(decision) == ["update_parent", "reply:alert"]
    assert (decision.thread.state, decision.thread.changed_at) == ("INSUFFICIENT_DATA", T0 + MIN)


def test_escalation_from_warning_to_critical_is_broadcast() -> None:
    decision = on_alert(opened(Severity.WARNING), alarm(n=2), T0 + MIN)
    assert kinds(decision) == ["update_parent", "reply:alert!"]
    assert decision.thread.severity is Severity.CRITICAL


def test_a_repeated_warning_stays_in_the_thread() -> None:
    decision = on_alert(opened(Severity.WARNING), alarm(n=2, severity=Severity.WARNING), T0 + MIN)
    assert kinds(decision) == ["update_parent", "reply:alert"]


def test_ok_resolves_the_parent_and_says_resolved() -> None:
    decision = on_alert(opened(), alarm("OK", n=2), T0 + 12 * MIN)
    assert kinds(decision) == ["update_parent", "reply:resolved"]
    assert decision.thread.closed_at == T0 + 12 * MIN
    assert not decision.thread.buttons()


def test_a_pipeline_ends_with_its_outcome() -> None:
    started = alarm("STARTED", key="pipeline:web:e-1", phase=Phase.OPEN, severity=Severity.INFO)
    failed = alarm("FAILED", n=2, key="pipeline:web:e-1", phase=Phase.CLOSE)
    decision = on_alert(on_alert(None, started, T0).thread, failed, T0 + 9 * MIN)
    assert kinds(decision) == ["update_parent", "reply:outcome"]


def test_a_close_without_an_open_thread_posts_one_closed_parent() -> None:
    decision = on_alert(None, alarm("OK"), T0)
    assert kinds(decision) == ["post_parent"]
    assert not decision.thread.is_open


def test_the_first_alarm_after_ok_opens_a_new_parent() -> None:
    closed = on_alert(opened(), alarm("OK", n=2), T0 + MIN).thread
    decision = on_alert(closed, alarm(n=3), T0 + 90 * MIN)
    assert kinds(decision) == ["post_parent"]
    assert (decision.thread.count, decision.thread.opened_at, decision.thread.ts) == (1, T0 + 90 * MIN, None)


def test_an_alert_already_applied_changes_nothing() -> None:
    thread = on_alert(opened(), alarm(n=2), T0 + MIN).thread
    decision = on_alert(thread, alarm(n=2), T0 + 2 * MIN)
    assert decision == Decision(thread)


def flap(policy: Policy, changes: int, start: float = T0) -> tuple[Thread, list[list[str]]]:
    """ALARM, OK, ALARM, … : `changes` state changes a minute apart."""
    thread: Thread | None = None
    seen = []
    for n in range(changes):
        decision = on_alert(thread, alarm("ALARM" if n % 2 == 0 else "OK", n=n), start + n * MIN, policy)
        thread = decision.thread
        seen.append(kinds(decision))
    assert thread is not None
    return thread, seen


def test_more_than_n_changes_in_the_window_collapse_into_one_flapping_parent() -> None:
    policy = Policy(flap_changes=6, flap_window_s=30 * MIN)
    thread, seen = flap(policy, 9)
    # THEN the 7th change turns the parent flapping: no reply, no new parent, from then on
    assert seen[6:] == [["update_parent"]] * 3
    assert thread.flapping and len(thread.changes) == 9
    assert sum(k == ["post_parent"] for k in seen) == 3  # ALARM at changes 1, 3 and 5: before it was flapping


def test_flapping_ends_with_one_summary_after_a_stable_window() -> None:
    policy = Policy(flap_changes=6, flap_window_s=30 * MIN)
    thread, _ = flap(policy, 9)
    assert kinds(on_tick(thread, thread.changed_at + 29 * MIN, policy)) == []
    decision = on_tick(thread, thread.changed_at + 30 * MIN, policy)
    # (it settled in ALARM, critical, and nobody acknowledged it: the summary tells the channel)
    assert kinds(decision) == ["update_parent", "reply:flapping_over!"]
    assert not decision.thread.flapping
    reply = decision.actions[1]
    assert isinstance(reply, Reply) and reply.changes == 9
    assert kinds(on_tick(decision.thread, thread.changed_at + 31 * MIN, policy)) == []


def test_the_many_steps_of_a_pipeline_are_not_flapping() -> None:
    key = "pipeline:web:e-1"
    thread = on_alert(None, alarm("STARTED", n=0, key=key, phase=Phase.OPEN, severity=Severity.INFO), T0).thread
    for n in range(1, 10):
        step = alarm(f"Stage{n}: SUCCEEDED", n=n, key=key, phase=Phase.PROGRESS, severity=Severity.INFO)
        decision = on_alert(thread, step, T0 + n * MIN)
        thread = decision.thread
        assert kinds(decision) == ["update_parent", "reply:alert"]
    assert not thread.flapping and thread.changed_at == T0 + 9 * MIN


def test_the_next_alert_after_a_stable_window_summarises_the_flapping_first() -> None:
    policy = Policy(flap_changes=6, flap_window_s=30 * MIN)
    thread, _ = flap(policy, 8)  # ends in OK: the parent is closed but still flapping
    decision = on_alert(thread, alarm(n=99), thread.changed_at + 45 * MIN, policy)
    assert kinds(decision) == ["update_parent", "reply:flapping_over", "post_parent"]


def test_acknowledge_records_who_and_when_and_quietens_repeats() -> None:
    decision = on_press(opened(), ACKNOWLEDGE, ALICE, T0 + MIN)
    assert kinds(decision) == ["update_parent", "reply:acknowledged"]
    assert (decision.thread.acknowledged_by, decision.thread.acknowledged_at) == (ALICE, T0 + MIN)
    assert kinds(on_press(decision.thread, ACKNOWLEDGE, Person("U0BOB0001", "bob"), T0 + 2 * MIN)) == []
    assert kinds(on_alert(decision.thread, alarm(n=2), T0 + 3 * MIN)) == ["update_parent", "reply:alert"]


def test_snooze_for_an_hour_quietens_repeats_until_it_ends() -> None:
    snoozed = on_press(opened(), SNOOZE_1H, ALICE, T0).thread
    assert snoozed.snoozed_until == T0 + 60 * MIN
    assert kinds(on_alert(snoozed, alarm(n=2), T0 + 10 * MIN)) == ["update_parent", "reply:alert"]
    woken = on_tick(snoozed, T0 + 61 * MIN)
    assert woken.thread.snoozed_until is None
    assert kinds(woken)[0] == "update_parent"
    assert kinds(on_alert(woken.thread, alarm(n=3), T0 + 62 * MIN)) == ["update_parent", "reply:alert!"]


def test_snooze_until_ok_holds_until_the_close() -> None:
    snoozed = on_press(opened(), SNOOZE_UNTIL_OK, ALICE, T0).thread
    assert kinds(on_alert(snoozed, alarm(n=2), T0 + 300 * MIN)) == ["update_parent", "reply:alert"]
    assert kinds(on_tick(snoozed, T0 + 300 * MIN)) == []
    closed = on_alert(snoozed, alarm("OK", n=3), T0 + 301 * MIN).thread
    assert not closed.snooze_until_ok


def test_an_unacknowledged_critical_is_reannounced_each_period() -> None:
    policy = Policy(reannounce_after_s=30 * MIN)
    thread = opened()
    assert kinds(on_tick(thread, T0 + 29 * MIN, policy)) == []
    first = on_tick(thread, T0 + 30 * MIN, policy)
    assert kinds(first) == ["reply:reannounce!"]
    assert kinds(on_tick(first.thread, T0 + 59 * MIN, policy)) == []
    assert kinds(on_tick(first.thread, T0 + 60 * MIN, policy)) == ["reply:reannounce!"]


@pytest.mark.parametrize("press", [ACKNOWLEDGE, SNOOZE_1H, SNOOZE_UNTIL_OK])
def test_no_reannouncement_once_someone_is_on_it(press: str) -> None:
    thread = on_press(opened(), press, ALICE, T0 + MIN).thread
    assert kinds(on_tick(thread, T0 + 40 * MIN)) == []


def test_warnings_and_closed_threads_are_not_reannounced() -> None:
    assert kinds(on_tick(opened(Severity.WARNING), T0 + 90 * MIN)) == []
    closed = on_alert(opened(), alarm("OK", n=2), T0 + MIN).thread
    assert kinds(on_tick(closed, T0 + 90 * MIN)) == []


def test_a_press_on_a_closed_thread_changes_nothing_and_an_unknown_one_is_refused() -> None:
    closed = on_alert(opened(), alarm("OK", n=2), T0 + MIN).thread
    assert kinds(on_press(closed, ACKNOWLEDGE, ALICE, T0 + 2 * MIN)) == []
    with pytest.raises(ValueError, match="unknown button"):
        on_press(opened(), "shoplake_delete_everything", ALICE, T0)


def test_an_alert_without_a_thread_is_refused() -> None:
    with pytest.raises(ValueError, match="no thread"):
        on_alert(None, replace(alarm(), thread=None), T0)


def test_every_action_has_its_own_id_across_parents() -> None:
    thread, _ = flap(Policy(flap_changes=100), 5)  # ALARM, OK, ALARM, OK, ALARM: three parents
    decision = on_press(thread, ACKNOWLEDGE, ALICE, T0 + 10 * MIN)
    assert decision.thread.seq == 3 * 1 + 2 * 2 + 2  # a post per parent, update+reply per OK, the press's two
    assert isinstance(decision.actions[0], UpdateParent) and decision.actions[0].id == "8"


def test_a_thread_survives_a_json_round_trip_with_its_outbox() -> None:
    first = on_alert(None, alarm(), T0)
    pressed = on_press(first.thread, ACKNOWLEDGE, ALICE, T0 + MIN)
    thread = replace(pressed.thread, pending=first.actions + pressed.actions)
    assert Thread.from_dict(json.loads(json.dumps(thread.to_dict()))) == thread


def test_policy_from_the_environment() -> None:
    assert Policy.from_environment({}) == Policy()
    policy = Policy.from_environment(
        {"FLAP_CHANGES": "3", "FLAP_WINDOW_MINUTES": "10", "REANNOUNCE_AFTER_MINUTES": "5"}
    )
    assert (policy.flap_changes, policy.flap_window_s, policy.reannounce_after_s) == (3, 600.0, 300.0)
    for bad in ("0", "-1", "six", "2.5"):
        with pytest.raises(ValueError, match="FLAP_CHANGES"):
            Policy.from_environment({"FLAP_CHANGES": bad})
