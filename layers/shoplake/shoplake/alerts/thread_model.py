"""The state of one happening's Slack thread, and the actions decided for it (`threads` decides them).

Times are seconds since the Unix epoch (float). A `Thread` is stored as `to_dict`'s JSON (thread_store).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from shoplake.alerts.model import Severity

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
    `outcome` (how any other happening ended), `late` (an alert older than the thread's news, or of a run
    that has ended: told, changing nothing), `flapping_over` (the summary after flapping: `changes`),
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
    changes since flapping began; `alert` the alert that opened this parent (`Alert.to_dict`), whose facts the
    parent shows (every later alert is a reply); `last_at` the newest `occurred_at` applied, epoch seconds."""

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
    last_at: float | None = None

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
