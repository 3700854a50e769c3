"""One Slack thread per happening: what each alert, button press and sweep does to it. Pure: no I/O.

A `Thread` is the persisted state of one happening's Slack thread (`ThreadRef.key`); `on_alert`, `on_press`
and `on_tick` return a `Decision`: the thread's new state and the Slack actions to take, in order
(`PostParent`, `UpdateParent`, `Reply`). `thread_engine` saves the decision, then performs the actions.

Which replies broadcast to the channel (`reply_broadcast`), never while the thread is snoozed or flapping:
an escalation to critical; a repeated OPEN (a repeat ALARM) of an unacknowledged critical; the summary after
flapping of a thread that settled as an unacknowledged open critical; and the re-announcement of an open,
unacknowledged, unsnoozed critical every `reannounce_after_s` (`on_tick`). Every other reply (progress,
repeats of warnings, acknowledged repeats, the close, presses) stays in the thread.

Flapping: more than `flap_changes` state changes within `flap_window_s` (a CLOSE and the next OPEN count,
so an alarm going ALARM/OK/ALARM keeps one parent; the steps of a pipeline or run, PROGRESS, do not) marks
the thread flapping: the parent says so, replies stop, and once no state has changed for `flap_window_s` one
summary reply follows.

Times are seconds since the Unix epoch (float).
"""

from __future__ import annotations

from dataclasses import replace

from shoplake.alerts.model import Alert, Phase, Severity
from shoplake.alerts.thread_model import (
    _RANK,
    ACKNOWLEDGE,
    APPLIED_KEPT,
    BUTTON_ACTIONS,
    BUTTON_SEVERITIES,
    SNOOZE_1H,
    SNOOZE_1H_SECONDS,
    SNOOZE_UNTIL_OK,
    Action,
    Decision,
    Person,
    Policy,
    PostParent,
    Reply,
    Thread,
    UpdateParent,
)
from shoplake.alerts.timestamps import epoch_seconds

__all__ = [
    "ACKNOWLEDGE",
    "APPLIED_KEPT",
    "BUTTON_ACTIONS",
    "BUTTON_SEVERITIES",
    "SNOOZE_1H",
    "SNOOZE_1H_SECONDS",
    "SNOOZE_UNTIL_OK",
    "Action",
    "Decision",
    "Person",
    "Policy",
    "PostParent",
    "Reply",
    "Thread",
    "UpdateParent",
    "on_alert",
    "on_press",
    "on_settle",
    "on_tick",
]


class _Ids:
    """Numbers a decision's actions `<seq>` after the thread's last."""

    def __init__(self, seq: int) -> None:
        self.seq = seq

    def next(self) -> str:
        self.seq += 1
        return str(self.seq)


def on_alert(thread: Thread | None, alert: Alert, now: float, policy: Policy | None = None) -> Decision:
    """What `alert` (which must have `thread`) does to `thread` (None: the key has no record yet) at `now`.

    Raises ValueError for an alert without `thread`. An alert whose `dedupe_key` was applied changes nothing.
    """
    policy = policy or Policy()
    ref = alert.thread
    if ref is None:
        raise ValueError(f"alert {alert.dedupe_key!r} belongs to no thread")
    if thread is not None and alert.dedupe_key in thread.applied:
        return Decision(thread)
    ids = _Ids(thread.seq if thread else 0)
    actions: list[Action] = []
    if thread is not None:
        thread, actions = _settle(thread, now, policy, ids)
    applied = ((thread.applied if thread else ()) + (alert.dedupe_key,))[-APPLIED_KEPT:]
    if thread is not None and _late(thread, alert):
        # Older than what the thread already shows, or about a run that has ended: told in the thread, and
        # nothing about the happening's state changes (no reopening by an old ALARM or a late RUNNING).
        late = _reply(ids, "late", alert, ref.state, now)
        changed_thread = replace(thread, count=thread.count + 1, applied=applied, seq=ids.seq)
        return Decision(changed_thread, (*actions, late))
    changed = thread is None or ref.state != thread.state or not thread.is_open
    # A pipeline's or a run's steps are its life, not flapping: only an alarm's progress (INSUFFICIENT_DATA) counts.
    counted = changed and (ref.phase is not Phase.PROGRESS or ref.key.startswith("alarm:"))
    changes = _window((thread.changes if thread else ()) + ((now,) if counted else ()), now, policy)
    flapping = len(changes) > policy.flap_changes
    if thread is None or (not thread.is_open and not thread.flapping and not flapping):
        # A new happening (or the first after the last one closed): a parent of its own.
        fresh = Thread(
            key=ref.key,
            state=ref.state,
            severity=alert.severity,
            title=alert.title,
            summary=alert.summary,
            opened_at=now,
            changed_at=now,
            changes=changes,
            announced_at=now,
            closed_at=now if ref.phase is Phase.CLOSE else None,
            applied=applied,
            alert=alert.to_dict(),
            last_at=_occurred(alert),
        )
        actions.append(PostParent(ids.next()))
        return Decision(replace(fresh, seq=ids.seq), tuple(actions))
    escalated = alert.severity is Severity.CRITICAL and _RANK[alert.severity] > _RANK[thread.severity]
    closing = ref.phase is Phase.CLOSE
    new = replace(
        thread,
        state=ref.state,
        # A step (PROGRESS) may raise the happening's severity, never lower it (a quality check passing
        # does not clear the warning of the upload it checked); an OPEN or a CLOSE sets it.
        severity=max(thread.severity, alert.severity, key=_RANK.__getitem__)
        if ref.phase is Phase.PROGRESS
        else alert.severity,
        # A step (PROGRESS) is told in its reply: the parent keeps naming the happening by its last OPEN or CLOSE.
        title=thread.title if ref.phase is Phase.PROGRESS else alert.title,
        summary=thread.summary if ref.phase is Phase.PROGRESS else alert.summary,
        count=thread.count + 1,
        last_at=_latest(thread.last_at, _occurred(alert)),
        changed_at=now if changed else thread.changed_at,
        changes=changes,
        flapping=flapping or thread.flapping,
        applied=applied,
        closed_at=now if closing else None,
        snooze_until_ok=thread.snooze_until_ok and not closing,
        snoozed_until=None if closing else thread.snoozed_until,
    )
    actions.append(UpdateParent(ids.next()))
    if new.flapping:
        counted_now = thread.flap_count + (1 if counted else 0) if thread.flapping else len(changes)
        new = replace(new, flap_count=counted_now)
    elif closing:
        what = "resolved" if ref.key.startswith("alarm:") else "outcome"
        actions.append(_reply(ids, what, alert, ref.state, now))
    else:
        loud = not new.snoozed(now) and (
            escalated
            or (ref.phase is Phase.OPEN and alert.severity is Severity.CRITICAL and not thread.acknowledged_by)
        )
        actions.append(_reply(ids, "alert", alert, ref.state, now, broadcast=loud))
        if loud:
            new = replace(new, announced_at=now)
    return Decision(replace(new, seq=ids.seq), tuple(actions))


def _reply(ids: _Ids, what: str, alert: Alert, state: str, now: float, *, broadcast: bool = False) -> Reply:
    return Reply(
        id=ids.next(),
        what=what,
        severity=alert.severity,
        state=state,
        at=now,
        broadcast=broadcast,
        title=alert.title,
        summary=alert.summary,
        alert=alert.to_dict(),
    )


def _occurred(alert: Alert) -> float | None:
    """The alert's `occurred_at` in epoch seconds, None when it has none (or it cannot be read)."""
    try:
        return float(epoch_seconds(alert.occurred_at)) if alert.occurred_at else None
    except ValueError:
        return None


def _latest(known: float | None, new: float | None) -> float | None:
    return new if known is None else known if new is None else max(known, new)


def _late(thread: Thread, alert: Alert) -> bool:
    """An alert older than the newest the thread applied, or any alert of a run (not an alarm) that has ended."""
    at = _occurred(alert)
    if at is not None and thread.last_at is not None and at < thread.last_at:
        return True
    return not thread.is_open and not thread.key.startswith("alarm:")


def _window(changes: tuple[float, ...], now: float, policy: Policy) -> tuple[float, ...]:
    return tuple(t for t in changes if now - t < policy.flap_window_s)


def _settle(thread: Thread, now: float, policy: Policy, ids: _Ids) -> tuple[Thread, list[Action]]:
    """End flapping after a stable window (one summary reply), and a snooze whose hour is over."""
    actions: list[Action] = []
    if thread.flapping and now - thread.changed_at >= policy.flap_window_s:
        # Settled in trouble, with nobody on it: the summary is the channel's announcement.
        loud = _unattended(thread, now)
        summary = Reply(
            id=ids.next(),
            what="flapping_over",
            severity=thread.severity,
            state=thread.state,
            at=now,
            broadcast=loud,
            title=thread.title,
            changes=thread.flap_count,
        )
        thread = replace(
            thread,
            flapping=False,
            flap_count=0,
            changes=_window(thread.changes, now, policy),
            announced_at=now if loud else thread.announced_at,
        )
        actions += [UpdateParent(ids.next()), summary]
    if thread.snoozed_until is not None and now >= thread.snoozed_until:
        thread = replace(thread, snoozed_until=None)
        actions.append(UpdateParent(ids.next()))
    return thread, actions


def _unattended(thread: Thread, now: float) -> bool:
    """An open critical that nobody acknowledged or snoozed."""
    return (
        thread.is_open
        and thread.severity is Severity.CRITICAL
        and thread.acknowledged_by is None
        and not thread.snoozed(now)
    )


def on_settle(thread: Thread, now: float, policy: Policy | None = None) -> Decision:
    """Only what time alone does to `thread` at `now`: flapping over (its summary reply), a snooze over. Done
    before an alert is applied, so that the summary goes to the old parent even when the alert opens a new one."""
    ids = _Ids(thread.seq)
    settled, actions = _settle(thread, now, policy or Policy(), ids)
    return Decision(replace(settled, seq=ids.seq), tuple(actions))


def on_tick(thread: Thread, now: float, policy: Policy | None = None) -> Decision:
    """The sweep at `now`: flapping over, snooze over, and re-announcing an open critical nobody acknowledged."""
    policy = policy or Policy()
    ids = _Ids(thread.seq)
    thread, actions = _settle(thread, now, policy, ids)
    last = thread.announced_at if thread.announced_at is not None else thread.opened_at
    if _unattended(thread, now) and not thread.flapping and now - last >= policy.reannounce_after_s:
        actions.append(
            Reply(
                id=ids.next(),
                what="reannounce",
                severity=thread.severity,
                state=thread.state,
                at=now,
                broadcast=True,
                title=thread.title,
            )
        )
        thread = replace(thread, announced_at=now)
    return Decision(replace(thread, seq=ids.seq), tuple(actions))


def on_press(thread: Thread, action: str, user: Person, now: float) -> Decision:
    """A button press (`action` one of BUTTON_ACTIONS) by `user` at `now`.

    A press on a closed thread, or a second Acknowledge, changes nothing. Raises ValueError for another action.
    """
    if action not in BUTTON_ACTIONS:
        raise ValueError(f"unknown button action {action!r}")
    if not thread.is_open or (action == ACKNOWLEDGE and thread.acknowledged_by is not None):
        return Decision(thread)
    ids = _Ids(thread.seq)
    if action == ACKNOWLEDGE:
        new = replace(thread, acknowledged_by=user, acknowledged_at=now)
        what = "acknowledged"
    elif action == SNOOZE_1H:
        new = replace(thread, snoozed_until=now + SNOOZE_1H_SECONDS)
        what = "snoozed_1h"
    else:
        new = replace(thread, snooze_until_ok=True)
        what = "snoozed_until_ok"
    reply = Reply(id="", what=what, severity=thread.severity, state=thread.state, at=now, title=thread.title, by=user)
    actions: tuple[Action, ...] = (UpdateParent(ids.next()), replace(reply, id=ids.next()))
    return Decision(replace(new, seq=ids.seq), actions)
