"""A press of a thread button in Slack, from the HTTP request Slack sends to the interactivity endpoint.

Slack posts each interaction as `application/x-www-form-urlencoded` with one field, `payload`, whose value is
the interaction's JSON (Slack API, "Handling user interaction": block_actions payloads), and signs it:
`X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<raw body>" with the app's signing secret>` and
`X-Slack-Request-Timestamp: <epoch seconds>` (Slack API, "Verifying requests from Slack"; slack_sdk's
`SignatureVerifier` computes it). `answer` takes a request from its headers to its HTTP answer; the handler
passes in what it needs from outside (the secret's values, the replay store, the thread engine).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from shoplake.alerts.delivery import SlackCredentials
from shoplake.alerts.slack_blocks import unescape

# Slack's own bound: a request whose timestamp is further than this from now is refused (SignatureVerifier's).
REQUEST_MAX_AGE_SECONDS = 300
# A signature is remembered past the age at which the timestamp check refuses it anyway.
REMEMBER_SECONDS = REQUEST_MAX_AGE_SECONDS + 60
BLOCK_ACTIONS = "block_actions"


class RequestRefusedError(Exception):
    """The request is not one shoplake acts on; `status` is the HTTP answer (400, 401, 403) and the message why."""

    status = 400


class MalformedRequestError(RequestRefusedError):
    """The body is not a Slack interaction: the message names the field (`payload`, `actions[0].value`, ...)."""

    status = 400


class UnauthenticatedError(RequestRefusedError):
    """No valid Slack signature: missing or bad signature, a timestamp too old or too new, or a replay."""

    status = 401


class ForeignTeamError(RequestRefusedError):
    """A correctly signed press from a workspace other than the one the Slack secret names (`team_id`)."""

    status = 403


@dataclass(frozen=True)
class Press:
    """One button press: Slack's ids as sent (`U…` user, `T…` team, `C…` channel), the message's `ts`.

    `thread_key` is the button's value (shoplake's buttons carry the thread key); `user_name` Slack's `username`
    (the handle), or its `name` when there is none.
    """

    action_id: str
    thread_key: str
    user_id: str
    user_name: str
    team_id: str
    channel_id: str
    message_ts: str


@dataclass(frozen=True)
class Answer:
    """The HTTP answer to Slack: an empty 200 acknowledges (Slack needs it within 3 seconds)."""

    status: int
    body: str = ""

    def as_function_url_response(self) -> dict[str, object]:
        """The Lambda function URL response (payload 2.0): statusCode, headers, body."""
        return {"statusCode": self.status, "headers": {"Content-Type": "text/plain; charset=utf-8"}, "body": self.body}


class _FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def verify_signature(body: str, headers: Mapping[str, str], signing_secret: str, now: float) -> tuple[str, int]:
    """Check Slack's signature on the raw `body` at epoch seconds `now`; return (signature, timestamp).

    `headers` in any case. Raises UnauthenticatedError naming what is wrong: a missing header, a timestamp that is no
    integer or more than REQUEST_MAX_AGE_SECONDS from `now`, or a signature that does not match.
    """
    normalized = {str(name).lower(): str(value) for name, value in headers.items()}
    timestamp = normalized.get("x-slack-request-timestamp", "").strip()
    signature = normalized.get("x-slack-signature", "").strip()
    if not timestamp or not signature:
        raise UnauthenticatedError("missing X-Slack-Request-Timestamp or X-Slack-Signature")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise UnauthenticatedError("X-Slack-Request-Timestamp is not epoch seconds")
    if abs(now - int(timestamp)) > REQUEST_MAX_AGE_SECONDS:
        raise UnauthenticatedError(f"X-Slack-Request-Timestamp is more than {REQUEST_MAX_AGE_SECONDS} s from now")
    if not SignatureVerifier(signing_secret, clock=_FixedClock(now)).is_valid(body, timestamp, signature):
        raise UnauthenticatedError("X-Slack-Signature does not match the body")
    return signature, int(timestamp)


def request_body(body: str | None, is_base64_encoded: bool) -> str:
    """The raw body Slack sent, as the text it signed: base64-decoded when the function URL encoded it.

    Lambda function URLs base64-encode every body that is not text or JSON, Slack's form body included
    (`isBase64Encoded`: Lambda Developer Guide, "Invoking Lambda function URLs", request payload).
    Raises MalformedRequestError when the base64 or the UTF-8 inside it is broken.
    """
    if not body:
        return ""
    if not is_base64_encoded:
        return body
    try:
        return base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # ValueError: text b64decode cannot take (non-ASCII); UnicodeDecodeError
        raise MalformedRequestError("the body is not base64-encoded UTF-8 text") from None


# A button's value is at most 2000 characters (Block Kit, button element): anything longer is no button of ours.
_VALUE_MAX = 2000


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MalformedRequestError(f"field {field!r}: missing or not text")
    if len(value) > _VALUE_MAX:
        raise MalformedRequestError(f"field {field!r}: longer than Slack's {_VALUE_MAX} characters")
    return value


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedRequestError(f"field {field!r}: missing or not an object")
    return value


def read_payload(body: str) -> Mapping[str, Any]:
    """The interaction JSON of a form body `payload=<url-encoded JSON>`.

    Raises MalformedRequestError when the body has no single `payload` field, or it is not a JSON object.
    """
    try:
        fields = parse_qs(body, keep_blank_values=True, strict_parsing=True, max_num_fields=20)
    except ValueError as error:
        raise MalformedRequestError(f"the body is not a form: {error}") from None
    values = fields.get("payload") or []
    if len(values) != 1:
        raise MalformedRequestError("field 'payload': expected exactly one")
    try:
        payload = json.loads(values[0])
    except json.JSONDecodeError as error:
        raise MalformedRequestError(f"field 'payload': not JSON ({error.msg})") from None
    return _object(payload, "payload")


def read_press(payload: Mapping[str, Any]) -> Press | None:
    """The press a `block_actions` interaction carries; None for any other type (nothing to do).

    A press has exactly one action (a button click), the message it was on (`container.message_ts`,
    `container.channel_id`, or `channel.id`), the user and the team. Raises MalformedRequestError naming the field.
    """
    kind = _text(payload.get("type"), "type")
    if kind != BLOCK_ACTIONS:
        return None
    actions = payload.get("actions")
    if not isinstance(actions, list) or len(actions) != 1:
        raise MalformedRequestError("field 'actions': expected exactly one action")
    action = _object(actions[0], "actions[0]")
    user = _object(payload.get("user"), "user")
    container = _object(payload.get("container"), "container")
    channel, team = (part if isinstance(part := payload.get(name), Mapping) else {} for name in ("channel", "team"))
    user_name = user.get("username") or user.get("name")
    return Press(
        action_id=_text(action.get("action_id"), "actions[0].action_id"),
        # The value is the thread key escaped like every other string in the message (thread_render).
        thread_key=unescape(_text(action.get("value"), "actions[0].value")),
        user_id=_text(user.get("id"), "user.id"),
        user_name=_text(user_name, "user.username"),
        team_id=_text(team.get("id") or user.get("team_id"), "team.id"),
        channel_id=_text(container.get("channel_id") or channel.get("id"), "container.channel_id"),
        message_ts=_text(container.get("message_ts"), "container.message_ts"),
    )


def check_team(press: Press, team_id: str | None) -> None:
    """Refuse (ForeignTeamError) a press from another workspace than `team_id`; any team when `team_id` is None."""
    if team_id and press.team_id != team_id:
        raise ForeignTeamError(f"team {press.team_id!r} is not this workspace's")


@dataclass(frozen=True)
class Verification:
    """What the Slack secret holds for the endpoint: the app's `signing_secret`, the workspace's `team_id` (T…)."""

    signing_secret: str
    team_id: str | None = None

    @classmethod
    def from_credentials(cls, credentials: SlackCredentials) -> Verification:
        """The endpoint's checks from the Slack secret as `SlackCredentials` read it (one reader of the secret).

        Raises ValueError when the secret has no `signing_secret` (a deployment fault, not the request's).
        """
        if not credentials.signing_secret:
            raise ValueError("the Slack secret has no 'signing_secret' (the Slack app's, for its buttons)")
        return cls(signing_secret=credentials.signing_secret, team_id=credentials.team_id)


def answer(
    body: str | None,
    is_base64_encoded: bool,
    headers: Mapping[str, str],
    *,
    verification: Verification,
    remember: Callable[[str, int], bool],
    press: Callable[[Press], object],
    now: float,
) -> tuple[Answer, Press | None]:
    """Answer one request to the interactivity endpoint; return the answer and the press acted on (or None).

    `body` and `is_base64_encoded` as the function URL event has them; `now` in epoch seconds. In order: the body
    (400), the signature (401), the replay check `remember(signature, expires_at)` (False: seen before, 401;
    `expires_at` in epoch seconds), the payload (400, or 200 with nothing done for a type other than
    block_actions), the team (403), then `press(Press)`, answered 200 with an empty body. Never raises for what
    the request holds; `remember` and `press` errors propagate (the store's or Slack's fault, not the request's).
    """
    try:
        text = request_body(body, is_base64_encoded)
        signature, timestamp = verify_signature(text, headers, verification.signing_secret, now)
        if not remember(signature, timestamp + REMEMBER_SECONDS):
            raise UnauthenticatedError("replay: this signature was already seen")
        found = read_press(read_payload(text))
        if found is None:
            return Answer(200), None
        check_team(found, verification.team_id)
    except RequestRefusedError as refused:
        return Answer(refused.status, str(refused)), None
    press(found)
    return Answer(200), found
