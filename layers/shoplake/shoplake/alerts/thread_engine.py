"""Threads in Slack: apply `threads`' decisions with the store as an outbox, then perform them in Slack.

Each change is saved first, with the Slack actions it needs (`Thread.pending`) and a lease naming this
invocation; then each action is performed and the thread saved again without it. A retry after a crash
(Lambda's retry, the next alert of the thread, or the sweep once the lease ran out) finishes the pending
actions; a reply already posted is recognised by its message metadata (`conversations.replies`), so it is
not posted twice. While another invocation holds the lease, a new event waits briefly, then raises
`ThreadBusyError` for Lambda to retry. A parent deleted in Slack (`MessageNotFound`) gets a new one.

Slack's message metadata: https://api.slack.com/metadata/using (`event_type` `shoplake_alert`,
`event_payload` `{"thread": <key>, "action": <action id>}`).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from shoplake.alerts.delivery import MessageNotFound, Receipt
from shoplake.alerts.model import Alert
from shoplake.alerts.routing import Routing
from shoplake.alerts.slack_blocks import SlackMessage
from shoplake.alerts.thread_render import render_parent, render_reply
from shoplake.alerts.thread_store import StoredThread, ThreadStore, VersionConflictError
from shoplake.alerts.threads import (
    BUTTON_ACTIONS,
    Action,
    Decision,
    Person,
    Policy,
    PostParent,
    Reply,
    Thread,
    UpdateParent,
    on_alert,
    on_press,
    on_settle,
    on_tick,
)

EVENT_TYPE = "shoplake_alert"
# Version conflicts retried before giving up (each re-reads the thread and decides again).
MAX_ATTEMPTS = 5
# How far before the decision a retried parent is looked for in the channel's history (seconds).
HISTORY_SLACK_S = 60.0
# The sweep rewrites an open thread this long before DynamoDB's TTL would delete it.
KEEP_ALIVE_BEFORE_S = 24 * 3600.0
_POLL_S = 0.2


class ThreadSender(Protocol):
    """What performs the Slack side (`delivery.SlackSender` with a bot token, or a test's stand-in)."""

    @property
    def threads(self) -> bool:
        """True when the sender can reply in threads and update messages (a bot token)."""
        ...

    def post(
        self,
        message: SlackMessage,
        channel: str,
        *,
        thread_ts: str | None = None,
        broadcast: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> Receipt:
        """chat.postMessage; `Receipt.channel` is the channel id Slack answered."""
        ...

    def update(self, message: SlackMessage, channel: str, ts: str) -> Receipt:
        """chat.update; raises MessageNotFound when the message is gone."""
        ...

    def replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """conversations.replies with metadata, every page; raises MessageNotFound when the parent is gone."""
        ...

    def history(self, channel: str, oldest: str) -> list[dict[str, Any]]:
        """conversations.history with metadata, newest first; raises MessageNotFound for an unknown channel."""
        ...


class ThreadBusyError(RuntimeError):
    """Another invocation is performing this thread's Slack actions; retry later (Lambda retries)."""


@dataclass(frozen=True)
class PressResult:
    """What a button press did: `accepted`, and `reason` when not (`unknown thread`, `not this thread's
    message`, `unknown action`, `no change`), with the thread's `key` and its `state` afterwards (None when
    unknown)."""

    accepted: bool
    reason: str
    key: str
    state: str | None = None


def _existing(thread: Thread | None) -> Thread:
    if thread is None:  # `_run(create=False)` decides only for a stored thread
        raise LookupError("no such thread")
    return thread


def metadata(thread: Thread, action: Action) -> dict[str, Any]:
    """The message metadata naming `action` of `thread`, by which a retry finds what it already posted."""
    return {"event_type": EVENT_TYPE, "event_payload": {"thread": thread.key, "action": action.id}}


class ThreadEngine:
    """Delivers alerts, presses and sweeps to threads. `clock()` gives epoch seconds; `sleep(s)` waits;
    a lease lasts `lease_s` seconds; a busy thread is waited for at most `wait_s` seconds."""

    def __init__(
        self,
        store: ThreadStore,
        sender: ThreadSender,
        routing: Routing,
        policy: Policy,
        clock: Callable[[], float],
        *,
        sleep: Callable[[float], None] = time.sleep,
        lease_s: float = 60.0,
        wait_s: float = 5.0,
    ) -> None:
        self.store = store
        self.sender = sender
        self.routing = routing
        self.policy = policy
        self.clock = clock
        self.sleep = sleep
        self.lease_s = lease_s
        self.wait_s = wait_s
        self.owner = uuid.uuid4().hex

    def deliver(self, alert: Alert) -> dict[str, Any]:
        """Apply `alert` (with `thread`) to its thread and perform the Slack actions; returns
        `{"dedupe_key", "thread", "channel", "ts", "via": "thread", "actions": [kinds]}` for the log.

        Raises ValueError for an alert without `thread`, ThreadBusyError (retryable) when the thread stays busy or
        keeps changing, and the sender's errors (SlackDeliveryError): the saved actions are done on retry.
        """
        if alert.thread is None:
            raise ValueError(f"alert {alert.dedupe_key!r} belongs to no thread")
        channel = self.routing.channel_for(alert)
        key = alert.thread.key
        # Flapping that has ended is told to its own parent first: the alert may open a new one.
        _, settled = self._run(
            key, lambda thread, now: on_settle(_existing(thread), now, self.policy), channel=channel, create=False
        )
        stored, actions = self._run(key, lambda thread, now: on_alert(thread, alert, now, self.policy), channel=channel)
        actions = settled + actions
        thread = stored.thread if stored else None
        return {
            "dedupe_key": alert.dedupe_key,
            "thread": alert.thread.key,
            "channel": thread.channel if thread else None,
            "ts": thread.ts if thread else None,
            "via": "thread",
            "actions": [action.kind for action in actions],
        }

    def press(
        self,
        *,
        action_id: str,
        thread_key: str,
        user_id: str,
        user_name: str,
        channel_id: str,
        message_ts: str,
        now: float,
    ) -> PressResult:
        """Apply a button press (Slack's `block_actions`: the button's `action_id` and `value`, the presser,
        the message's channel id and ts) and update the parent. A press naming a message other than the
        thread's parent is refused. Raises ThreadBusyError and the sender's errors like `deliver`."""
        stored = self.store.get(thread_key)
        if stored is None:
            return PressResult(False, "unknown thread", thread_key)
        if (stored.thread.channel, stored.thread.ts) != (channel_id, message_ts):
            return PressResult(False, "not this thread's message", thread_key, stored.thread.state)
        if action_id not in BUTTON_ACTIONS:
            return PressResult(False, "unknown action", thread_key, stored.thread.state)
        person = Person(user_id, user_name)
        after, actions = self._run(
            thread_key, lambda thread, at: on_press(_existing(thread), action_id, person, at), now=now, create=False
        )
        state = after.thread.state if after else None
        return PressResult(bool(actions), "" if actions else "no change", thread_key, state)

    def sweep(self, now: float) -> list[dict[str, Any]]:
        """Tick every thread the store lists as open: flapping over, snooze over, re-announcement, and pending
        actions left by a crash. Returns `{"thread", "actions"}` or `{"thread", "error"}` per thread that did
        something or failed; one thread's failure does not stop the others."""
        results: list[dict[str, Any]] = []
        for listed in self.store.open_threads():
            key = listed.thread.key
            try:
                stored, actions = self._run(
                    key, lambda thread, at: on_tick(_existing(thread), at, self.policy), now=now, create=False
                )
                self._keep_alive(stored, now)
            # One thread's Slack or DynamoDB trouble must not keep the sweep from the others; the next sweep retries.
            except Exception as error:  # noqa: BLE001
                results.append({"thread": key, "error": f"{type(error).__name__}: {error}"})
                continue
            if actions:
                results.append({"thread": key, "actions": [action.kind for action in actions]})
        return results

    def _keep_alive(self, stored: StoredThread | None, now: float) -> None:
        """An open thread must outlive its TTL (an alarm may stay in ALARM for months): within a day of its
        expiry, the sweep writes it again, which moves the expiry on by the TTL."""
        if stored is None or not stored.thread.is_open or stored.expires_at is None:
            return
        if stored.expires_at - now < KEEP_ALIVE_BEFORE_S:
            with contextlib.suppress(VersionConflictError):  # someone else just wrote it: its expiry is fresh
                self.store.save(stored.thread, version=stored.version, now=now)

    def _run(
        self,
        key: str,
        decide: Callable[[Thread | None, float], Decision],
        *,
        channel: str | None = None,
        now: float | None = None,
        create: bool = True,
    ) -> tuple[StoredThread | None, tuple[Action, ...]]:
        done: tuple[Action, ...] = ()
        for _ in range(MAX_ATTEMPTS):
            stored = self._available(key)
            try:
                if stored is not None and stored.thread.pending:
                    if stored.thread.ts is None and channel is not None and stored.thread.channel != channel:
                        # A parent never posted goes where routing says now (a channel fixed after channel_not_found).
                        stored = replace(stored, thread=replace(stored.thread, channel=channel))
                    done += stored.thread.pending
                    stored = self._perform_pending(stored, inherited=True)
                if stored is None and not create:
                    return None, done
                at = self.clock() if now is None else now
                decision = decide(stored.thread if stored else None, at)
                if not decision.actions:
                    return stored, done
                thread = decision.thread
                if thread.ts is None and channel is not None:
                    thread = replace(thread, channel=channel)
                saved = self.store.save(
                    replace(thread, pending=decision.actions),
                    version=stored.version if stored else None,
                    now=self.clock(),
                    lease_owner=self.owner,
                    lease_until=self.clock() + self.lease_s,
                )
                return self._perform_pending(saved, inherited=False), done + decision.actions
            except VersionConflictError:
                continue
        raise ThreadBusyError(f"thread {key!r} kept changing: {MAX_ATTEMPTS} attempts")

    def _available(self, key: str) -> StoredThread | None:
        """The stored thread once no other invocation holds its lease; ThreadBusyError after `wait_s`."""
        deadline = self.clock() + self.wait_s
        while True:
            stored = self.store.get(key)
            if stored is None or not stored.leased_by_other(self.owner, self.clock()):
                return stored
            if self.clock() >= deadline:
                raise ThreadBusyError(f"thread {key!r} is being posted by another invocation; retry")
            self.sleep(_POLL_S)

    def _perform_pending(self, stored: StoredThread, *, inherited: bool) -> StoredThread:
        """Perform `stored`'s pending actions in order, saving after each; `inherited`: left by another attempt
        (take its lease first, and look for replies it may already have posted)."""
        if inherited:
            stored = self._save(stored, stored.thread, lease=True)
        posted: set[str] | None = None if inherited else set()
        while stored.thread.pending:
            action, *rest = stored.thread.pending
            try:
                if isinstance(action, Reply) and posted is None:
                    posted = self._posted_actions(stored.thread)
                thread = self._perform(stored.thread, action, posted or set(), retry=inherited)
            except Exception:
                self._release(stored)
                raise
            stored = self._save(stored, replace(thread, pending=tuple(rest)), lease=bool(rest))
        return stored

    def _release(self, stored: StoredThread) -> None:
        """Give up the lease after a failed Slack call, so that a retry need not wait for it to run out."""
        with contextlib.suppress(VersionConflictError):  # someone took over: the lease is no longer ours
            self._save(stored, stored.thread, lease=False)

    def _save(self, stored: StoredThread, thread: Thread, *, lease: bool) -> StoredThread:
        now = self.clock()
        return self.store.save(
            thread,
            version=stored.version,
            now=now,
            lease_owner=self.owner if lease else None,
            lease_until=now + self.lease_s if lease else None,
        )

    def _posted_actions(self, thread: Thread) -> set[str]:
        if thread.channel is None or thread.ts is None:
            return set()
        try:
            messages = self.sender.replies(thread.channel, thread.ts)
        except MessageNotFound:
            return set()
        found = set()
        for message in messages:
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if message.get("ts") == thread.ts:  # the parent itself, which conversations.replies lists first
                continue
            if meta.get("event_type") == EVENT_TYPE and payload.get("thread") == thread.key:
                found.add(str(payload.get("action")))
        return found

    def _perform(self, thread: Thread, action: Action, posted: set[str], *, retry: bool = False) -> Thread:
        if isinstance(action, PostParent):
            return self._post_parent(thread, action, retry=retry)
        if thread.ts is None:  # the parent was never posted (a record from before its post): post it now
            thread = self._post_parent(thread, action, retry=retry)
            if isinstance(action, UpdateParent):
                return thread
        assert thread.channel is not None and thread.ts is not None
        if isinstance(action, UpdateParent):
            try:
                message = render_parent(thread, flap_window_s=self.policy.flap_window_s)
                self.sender.update(message, thread.channel, thread.ts)
            except MessageNotFound:
                return self._post_parent(thread, action, retry=retry)
            return thread
        if action.id in posted:
            return thread
        try:
            self._post_reply(thread, action)
        except MessageNotFound:  # the parent was deleted in Slack: a new parent, and the reply in its thread
            thread = self._post_parent(thread, action, retry=retry)
            self._post_reply(thread, action)
        return thread

    def _posted_parent(self, thread: Thread, action: Action, channel: str) -> str | None:
        """The ts of a parent already posted for `action` of `thread` in `channel` (an ID), or None."""
        if channel.startswith("#"):
            return None
        try:
            messages = self.sender.history(channel, oldest=f"{thread.changed_at - HISTORY_SLACK_S:.6f}")
        except MessageNotFound:  # a channel name, or a channel gone: nothing to find
            return None
        for message in messages:
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == EVENT_TYPE and (payload.get("thread"), str(payload.get("action"))) == (
                thread.key,
                action.id,
            ):
                return str(message["ts"])
        return None

    def _post_reply(self, thread: Thread, reply: Reply) -> None:
        assert thread.channel is not None and thread.ts is not None
        self.sender.post(
            render_reply(thread, reply),
            thread.channel,
            thread_ts=thread.ts,
            broadcast=reply.broadcast,
            metadata=metadata(thread, reply),
        )

    def _post_parent(self, thread: Thread, action: Action, *, retry: bool = False) -> Thread:
        """Post the parent as the thread is now (a first parent, or a new one for a parent deleted in Slack).

        On a retry, a parent the failed attempt posted (found by its metadata in the channel's recent history)
        is taken rather than posted again; Slack lists history by channel ID only, so a channel routed by name
        is not looked up.
        """
        channel = thread.channel or self.routing.default
        found = self._posted_parent(thread, action, channel) if retry else None
        if found is not None:
            return replace(thread, channel=channel, ts=found)
        receipt = self.sender.post(
            render_parent(thread, flap_window_s=self.policy.flap_window_s), channel, metadata=metadata(thread, action)
        )
        if receipt.ts is None:
            raise ValueError("threads need a bot token: the sender answered no message ts")
        return replace(thread, channel=receipt.channel, ts=receipt.ts)
