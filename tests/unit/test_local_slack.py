"""The local Slack's workspace and its button presses, without a server: what Slack does, answered as Slack does."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk.signature import Clock, SignatureVerifier

from local_stack.slack_press import block_actions, form_body, signed_headers
from local_stack.slack_render import as_text, thread_text
from local_stack.slack_workspace import SlackError, Workspace, channel_id_for


def _button(action_id: str, label: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "value": "alarm:1:r:x",
        "text": {"type": "plain_text", "text": label},
    }


BUTTONS = {
    "type": "actions",
    "block_id": "shoplake_thread",
    "elements": [_button("shoplake_acknowledge", "Acknowledge"), _button("shoplake_snooze_1h", "Snooze 1 h")],
}
PARENT = {"channel": "#shoplake-oncall", "text": "[Critical] ALARM: web-5xx", "blocks": [BUTTONS]}
METADATA = {"event_type": "shoplake_alert", "event_payload": {"thread": "alarm:1:r:x", "action": "reply-2"}}


def _post(workspace: Workspace, **params: Any) -> dict[str, Any]:
    return workspace.post({**PARENT, **params})


def test_a_channel_name_gets_one_stable_id_and_either_is_accepted() -> None:
    workspace = Workspace()
    answer = _post(workspace)
    # THEN the answer names the channel by its ID, the same in any run and for "#x" and "x"
    assert answer["channel"] == channel_id_for("#shoplake-oncall") == workspace.channel_id("shoplake-oncall")
    assert re.fullmatch(r"C[A-Z0-9]{10}", answer["channel"])
    # AND a reply can name the channel by its ID
    reply = workspace.post({"channel": answer["channel"], "text": "again", "thread_ts": answer["ts"]})
    assert reply["channel"] == answer["channel"]
    assert workspace.messages[-1].channel == "#shoplake-oncall"


def test_an_id_slack_never_gave_is_channel_not_found() -> None:
    with pytest.raises(SlackError, match="channel_not_found"):
        Workspace().post({"channel": "C0NOTACHANNEL", "text": "x"})


def test_every_ts_is_unique_and_increasing() -> None:
    workspace = Workspace()
    stamps = [_post(workspace)["ts"] for _ in range(200)]
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 200


def test_replies_broadcast_and_metadata_come_back_from_conversations_replies() -> None:
    # GIVEN a parent, a quiet reply with metadata, and a reply also sent to the channel
    workspace = Workspace()
    parent = _post(workspace)
    workspace.post({"channel": parent["channel"], "text": "again", "thread_ts": parent["ts"], "metadata": METADATA})
    workspace.post(
        {"channel": "#shoplake-oncall", "text": "re-announced", "thread_ts": parent["ts"], "reply_broadcast": True}
    )
    # WHEN the thread is read with its metadata
    answer = workspace.replies({"channel": parent["channel"], "ts": parent["ts"], "include_all_metadata": "1"})
    # THEN the parent first, with its reply count, then the replies as Slack shows them
    first, quiet, loud = answer["messages"]
    assert (first["ts"], first["reply_count"], first["latest_reply"]) == (parent["ts"], 2, loud["ts"])
    assert quiet["metadata"] == METADATA and quiet["thread_ts"] == parent["ts"] and "subtype" not in quiet
    assert loud["subtype"] == "thread_broadcast"
    # AND without include_all_metadata, no metadata
    plain = workspace.replies({"channel": parent["channel"], "ts": parent["ts"]})
    assert all("metadata" not in m for m in plain["messages"])


def test_a_reply_to_a_thread_that_never_was_is_refused() -> None:
    with pytest.raises(SlackError, match="thread_not_found"):
        _post(Workspace(), thread_ts="1700000000.000100")


def test_replies_come_in_pages_that_a_cursor_follows() -> None:
    # GIVEN a thread of a parent and 7 replies, pages of at most 3
    workspace = Workspace()
    parent = _post(workspace)
    for n in range(7):
        workspace.post({"channel": parent["channel"], "text": f"reply {n}", "thread_ts": parent["ts"]})
    seen: list[str] = []
    params: dict[str, Any] = {"channel": parent["channel"], "ts": parent["ts"], "limit": 3}
    # WHEN every page is read
    while True:
        page = workspace.replies(params)
        seen.extend(m["text"] for m in page["messages"])
        if not page["has_more"]:
            break
        params["cursor"] = page["response_metadata"]["next_cursor"]
    # THEN each message once, in order
    assert seen == [PARENT["text"], *(f"reply {n}" for n in range(7))]


def test_update_replaces_the_message_where_it_stands_and_keeps_its_history() -> None:
    workspace = Workspace()
    parent = _post(workspace)
    answer = workspace.update({"channel": parent["channel"], "ts": parent["ts"], "text": "acknowledged"})
    (message,) = workspace.messages
    assert (answer["ts"], message.text, message.edited, message.blocks) == (
        parent["ts"],
        "acknowledged",
        True,
        [BUTTONS],
    )
    assert [old.text for old in message.history] == [PARENT["text"]]
    assert answer["message"]["edited"]["ts"] == message.edited_ts > parent["ts"]


def test_a_deleted_message_is_not_found_by_update_nor_replies() -> None:
    # GIVEN a parent someone deleted in Slack
    workspace = Workspace()
    parent = _post(workspace)
    workspace.delete("#shoplake-oncall", parent["ts"])
    # THEN chat.update answers message_not_found, conversations.replies thread_not_found, as Slack does
    with pytest.raises(SlackError, match="message_not_found"):
        workspace.update({"channel": parent["channel"], "ts": parent["ts"], "text": "x"})
    with pytest.raises(SlackError, match="thread_not_found"):
        workspace.replies({"channel": parent["channel"], "ts": parent["ts"]})


def test_a_thread_reads_as_a_person_sees_it() -> None:
    # GIVEN a parent updated after two replies, one of them also sent to the channel
    workspace = Workspace()
    parent = _post(workspace)
    workspace.post({"channel": parent["channel"], "text": "fired again", "thread_ts": parent["ts"]})
    workspace.post(
        {"channel": parent["channel"], "text": "still firing", "thread_ts": parent["ts"], "reply_broadcast": "true"}
    )
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "ALARM &amp; acknowledged"}}
    workspace.update({"channel": parent["channel"], "ts": parent["ts"], "blocks": [section, BUTTONS]})
    # WHEN the thread is shown
    shown = thread_text(workspace.thread("#shoplake-oncall", parent["ts"]))
    # THEN the parent as it is now, edited, with its buttons, then the replies, the broadcast one marked
    assert shown.splitlines()[1:] == [
        "ALARM & acknowledged",
        "[Acknowledge] [Snooze 1 h]",
        "(edited)",
        "  2 replies",
        "  ↳ fired again",
        "  ↳ still firing",
        "    (also sent to the channel)",
    ]
    assert as_text(workspace.messages[0]).splitlines()[-1] == "[Acknowledge] [Snooze 1 h]"


def test_a_deleted_parent_shows_as_slack_shows_it() -> None:
    workspace = Workspace()
    parent = _post(workspace)
    workspace.post({"channel": parent["channel"], "text": "fired again", "thread_ts": parent["ts"]})
    workspace.delete(parent["channel"], parent["ts"])
    assert "This message was deleted." in thread_text(workspace.thread(parent["channel"], parent["ts"]))


def test_a_press_is_signed_as_slack_signs_it_and_carries_a_block_actions_payload() -> None:
    # GIVEN the parent as Slack shows it
    workspace = Workspace()
    parent = _post(workspace)
    message = workspace.as_json(workspace.messages[0])
    # WHEN a person presses Acknowledge and the request is built as Slack builds it
    payload = block_actions(
        action_id="shoplake_acknowledge", value="alarm:1:r:x", user_id="U0PRESSER", user_name="mina",
        channel_id=parent["channel"], channel_name="#shoplake-oncall", message=message, team_id="T0LOCAL001",
        response_url="http://127.0.0.1:1/actions/T0LOCAL001/1/x", action_ts=1_700_000_000.5,
    )  # fmt: skip
    body = form_body(payload)
    headers = signed_headers("8f742231b10e8888abcd9900aa1185a5", 1_700_000_000, body)
    # THEN slack_sdk's verifier accepts it with the secret, and refuses it with another secret
    ten_seconds_later = _Clock(1_700_000_010.0)
    assert SignatureVerifier("8f742231b10e8888abcd9900aa1185a5", clock=ten_seconds_later).is_valid_request(
        body, headers
    )
    assert not SignatureVerifier("0" * 32, clock=ten_seconds_later).is_valid_request(body, headers)
    # AND the body is the form Slack sends, holding the payload Slack's reference describes
    sent = json.loads(parse_qs(body)["payload"][0])
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent["type"] == "block_actions"
    assert sent["user"] == {"id": "U0PRESSER", "username": "mina", "name": "mina", "team_id": "T0LOCAL001"}
    assert sent["team"]["id"] == "T0LOCAL001"
    assert sent["channel"] == {"id": parent["channel"], "name": "shoplake-oncall"}
    assert sent["container"] == {
        "type": "message",
        "message_ts": parent["ts"],
        "channel_id": parent["channel"],
        "is_ephemeral": False,
    }
    (action,) = sent["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "shoplake_acknowledge", "shoplake_thread", "alarm:1:r:x", "button"
    )  # fmt: skip
    assert action["text"]["text"] == "Acknowledge"
    assert sent["message"]["ts"] == parent["ts"] and sent["message"]["blocks"] == [BUTTONS]


class _Clock(Clock):
    """slack_sdk's verifier asks its clock for now (epoch seconds)."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now
