"""A button press as Slack sends it to an app's interactivity request URL: a signed `block_actions` request.

The payload is Slack's `block_actions` interaction payload
(https://docs.slack.dev/reference/interaction-payloads/block_actions-payload): type, user {id, username,
name, team_id}, api_app_id, token, container {type: message, message_ts, channel_id, is_ephemeral}, trigger_id,
team {id, domain}, enterprise, is_enterprise_install, channel {id, name}, message (the message as it is now),
state, response_url, and actions [{action_id, block_id, text, value, type: button, action_ts}].

The request is Slack's (https://docs.slack.dev/authentication/verifying-requests-from-slack): a POST whose body
is `application/x-www-form-urlencoded` `payload=<the JSON>`, with `X-Slack-Request-Timestamp` (epoch seconds)
and `X-Slack-Signature`: `v0=` and the hex HMAC-SHA256, keyed with the app's signing secret, of
`v0:<timestamp>:<body>`. Slack waits 3 seconds for the answer.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from slack_sdk.signature import SignatureVerifier

from local_stack.slack_workspace import APP_ID

# Slack shows the person an error when the app has not answered within 3 seconds.
SLACK_WAITS_SECONDS = 3.0
# The deprecated verification token Slack still sends in every payload (checked by nobody; the signature is).
VERIFICATION_TOKEN = "local-verification-token"  # noqa: S105 - a stand-in's, deprecated and never checked
TEAM_DOMAIN = "shoplake-local"


@dataclass(frozen=True)
class Press:
    """One interaction request sent: where, its exact body and headers, its timestamp, and the app's answer."""

    url: str
    body: str
    headers: dict[str, str]
    timestamp: int
    status: int
    answer: str


def signature(signing_secret: str, timestamp: int | str, body: str) -> str:
    """Slack's `X-Slack-Signature` of `body` sent at `timestamp` (epoch seconds): `v0=` + hex HMAC-SHA256,
    as slack_sdk's SignatureVerifier makes it."""
    return str(SignatureVerifier(signing_secret).generate_signature(timestamp=str(timestamp), body=body))


def signed_headers(signing_secret: str, timestamp: int | str, body: str) -> dict[str, str]:
    """The headers Slack sends with an interaction request whose form body is `body`."""
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(signing_secret, timestamp, body),
    }


def _button(message: dict[str, Any], action_id: str) -> tuple[str, dict[str, Any]]:
    """The block_id and the button element of `action_id` in `message` (a made-up block when there is none)."""
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if block.get("type") == "actions" and element.get("action_id") == action_id:
                return str(block.get("block_id") or "actions"), element
    return "actions", {"text": {"type": "plain_text", "text": action_id, "emoji": True}}


def block_actions(
    *,
    action_id: str,
    value: str,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    message: dict[str, Any],
    team_id: str,
    response_url: str,
    action_ts: float,
) -> dict[str, Any]:
    """Slack's `block_actions` payload for a press of button `action_id` carrying `value` on `message`.

    `message` is the message as Slack's Web API shows it (at least `ts`); `channel_name` without `#`.
    """
    block_id, button = _button(message, action_id)
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel_id,
        "is_ephemeral": False,
    }
    if message.get("thread_ts") and message.get("thread_ts") != message["ts"]:
        container["thread_ts"] = message["thread_ts"]
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "text": button.get("text") or {"type": "plain_text", "text": action_id, "emoji": True},
        "value": value,
        "type": "button",
        "action_ts": f"{action_ts:.6f}",
    }
    if button.get("style"):
        action["style"] = button["style"]
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": f"{int(action_ts)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name.lstrip("#")},
        "message": message,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }


def form_body(payload: dict[str, Any]) -> str:
    """The request body Slack sends: `payload=` and the payload's JSON, form-encoded."""
    return urlencode({"payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":"))})


def send(url: str, body: str, headers: dict[str, str], timestamp: int) -> Press:
    """POST the interaction request; the app's answer, whatever its status. Raises TimeoutError past Slack's 3 s."""
    request = Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310 - the test's own URL
    started = time.monotonic()
    try:
        with urlopen(request, timeout=SLACK_WAITS_SECONDS) as response:  # noqa: S310 - as above
            status, answer = response.status, response.read().decode()
    except HTTPError as error:
        status, answer = error.code, error.read().decode()
    except (TimeoutError, URLError) as error:
        if isinstance(error, TimeoutError) or isinstance(getattr(error, "reason", None), TimeoutError):
            raise TimeoutError(f"{url} did not answer within Slack's {SLACK_WAITS_SECONDS:g} s") from error
        raise
    if time.monotonic() - started > SLACK_WAITS_SECONDS:
        raise TimeoutError(f"{url} answered after Slack's {SLACK_WAITS_SECONDS:g} s")
    return Press(url=url, body=body, headers=headers, timestamp=timestamp, status=status, answer=answer)
