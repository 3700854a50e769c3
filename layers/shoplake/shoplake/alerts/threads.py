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

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from shoplake.alerts.model import Alert, Phase, Severity

ACKNOWLEDGE = "shoplake_acknowledge"
SNOOZE_1H = "shoplake_snooze_1h"
SNOOZE_UNTIL_OK = "shoplake_snooze_until_ok"
BUTTON_ACTIONS = (ACKNOWLEDGE, SNOOZE_1H, SNOOZE_UNTIL_OK)
SNOOZE_1H_SECONDS = 3600.0
# Dedupe keys a thread remembers (the newest), so a redelivered alert changes nothing.
APPLIED_KEPT = 50
_RANK = {Severity.SUCCESS: 0, Severity.INFO: 1, Severity.WARNING: 2, Severity.CRITICAL: 3}
BUTTON_SEVERITIES = (Severity.CRITICAL, Severity.WARNING)


@dataclass(frozen=True)
class Policy:
    """Flapping: more than `flap_changes` state changes within `flap_window_s` seconds; an unacknowledged open
    critical is re-announced every `reannounce_after_s` seconds; a thread record lives `ttl_s` seconds after
    its last change (DynamoDB TTL)."""

    flap_changes: int = 6
    flap_window_s: float = 30 * 60.0
    reannounce_after_s: float = 30 * 60.0
    ttl_s: float = 30 * 24 * 3600.0

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Policy:
        """Read `FLAP_CHANGES` (default 6), `FLAP_WINDOW_MINUTES` (30) and `REANNOUNCE_AFTER_MINUTES` (30).

        Raises ValueError naming the variable when one is set but is not a positive whole number.
        """

        def positive(name: str, default: int) -> int:
            raw = env.get(name, "") or str(default)
            if not raw.strip().isdigit() or int(raw) <= 0:
                raise ValueError(f"{name}: a positive whole number is required, not {raw!r}")
            return int(raw)

        return cls(
            flap_changes=positive("FLAP_CHANGES", 6),
            flap_window_s=positive("FLAP_WINDOW_MINUTES", 30) * 60.0,
            reannounce_after_s=positive("REANNOUNCE_AFTER_MINUTES", 30) * 60.0,
        )


@dataclass(frozen=True)
class Person:
    """Who pressed a button: Slack's user `id` (`U…`/`W…`, as the interaction payload says) and `name`."""

    id: str
    name: str


@dataclass(frozen=True)
class PostParent:
    """Post the thread's parent message (rendered from the thread as it is then); `id` names the action."""

    id: str
    kind: str = "post_parent"


@dataclass(frozen=True)
class UpdateParent:
    """Replace the parent message with the thread as it is now (chat.update)."""

    id: str
    kind: str = "update_parent"


@dataclass(frozen=True)
class Reply:
    """A reply in the thread. `what`: `alert` (an alert's `state`, `title`, `summary`), `resolved` (an alarm's OK),
    `outcome` (how any other happening ended), `flapping_over` (the summary after flapping: `changes`),
    `reannounce`, `acknowledged`, `snoozed_1h`, `snoozed_until_ok`. `severity` of the alert or thread, `at`
    its time, `by` who pressed, `alert` the alert a reply tells of (`Alert.to_dict`), whose facts it shows.
    `broadcast` also shows it in the channel (Slack's `reply_broadcast`)."""

    id: str
    what: str
    severity: Severity
    state: str
    at: float
    broadcast: bool = False
    title: str = ""
    summary: str = ""
    changes: int = 0
    by: Person | None = None
    alert: Mapping[str, Any] | None = None
    kind: str = "reply"


Action = PostParent | UpdateParent | Reply


@dataclass(frozen=True)
class Thread:
    """One happening's Slack thread. `channel` and `ts` are None until the parent is posted (`channel` is then
    the channel id Slack answered); `count` the alerts applied; `opened_at` when this parent's happening
    started, `changed_at` the last state change, `changes` the state-change times within the flap window
    (kept across a close, so flapping spans reopenings); `announced_at` the last time the channel was told
    (parent or broadcast); `closed_at` None while open; `applied` the newest dedupe keys applied; `pending`
    the Slack actions saved but not yet done (the outbox); `seq` numbers actions; `flap_count` the state
    changes since flapping began; `alert` the newest alert applied (`Alert.to_dict`), whose facts the parent
    shows."""

    key: str
    state: str
    severity: Severity
    title: str
    opened_at: float
    changed_at: float
    channel: str | None = None
    ts: str | None = None
    summary: str = ""
    count: int = 1
    changes: tuple[float, ...] = ()
    acknowledged_by: Person | None = None
    acknowledged_at: float | None = None
    snoozed_until: float | None = None
    snooze_until_ok: bool = False
    flapping: bool = False
    announced_at: float | None = None
    closed_at: float | None = None
    applied: tuple[str, ...] = ()
    pending: tuple[Action, ...] = ()
    seq: int = 0
    flap_count: int = 0
    alert: Mapping[str, Any] | None = None

    @property
    def is_open(self) -> bool:
        """True until a CLOSE applied (a flapping thread stays one parent either way)."""
        return self.closed_at is None

    def snoozed(self, now: float) -> bool:
        """Snoozed until OK, or for a time not yet over at `now`."""
        return self.snooze_until_ok or (self.snoozed_until is not None and now < self.snoozed_until)

    def buttons(self) -> bool:
        """Whether the parent carries the Acknowledge/Snooze buttons: open, critical or warning."""
        return self.is_open and self.severity in BUTTON_SEVERITIES

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (severities as their values); `from_dict` reads it back."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Thread:
        """Read `to_dict`'s output (e.g. after a JSON round trip). Raises KeyError/ValueError on another shape."""
        values = dict(data)
        values["severity"] = Severity(values["severity"])
        values["changes"] = tuple(values.get("changes", ()))
        values["applied"] = tuple(values.get("applied", ()))
        values["pending"] = tuple(_action(a) for a in values.get("pending", ()))
        if values.get("acknowledged_by"):
            values["acknowledged_by"] = Person(**values["acknowledged_by"])
        return cls(**values)


def _action(data: Mapping[str, Any]) -> Action:
    values = dict(data)
    kind = values["kind"]
    if kind == "post_parent":
        return PostParent(**values)
    if kind == "update_parent":
        return UpdateParent(**values)
    if kind != "reply":
        raise ValueError(f"unknown action kind {kind!r}")
    values["severity"] = Severity(values["severity"])
    if values.get("by"):
        values["by"] = Person(**values["by"])
    return Reply(**values)


@dataclass(frozen=True)
class Decision:
    """The thread's new state and the Slack actions to take for it, in order (none: nothing changes)."""

    thread: Thread
    actions: tuple[Action, ...] = field(default_factory=tuple)


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
        )
        actions.append(PostParent(ids.next()))
        return Decision(replace(fresh, seq=ids.seq), tuple(actions))
    escalated = alert.severity is Severity.CRITICAL and _RANK[alert.severity] > _RANK[thread.severity]
    closing = ref.phase is Phase.CLOSE
    new = replace(
        thread,
        state=ref.state,
        severity=alert.severity,
        title=alert.title,
        summary=alert.summary,
        alert=alert.to_dict(),
        count=thread.count + 1,
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
