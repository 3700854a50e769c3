"""A thread button pressed in Slack, read from the request Slack sends: its signature, age, replay, team and shape.

The requests are built as Slack builds them (Slack API, "Handling user interaction" and "Verifying requests from
Slack"): a form body `payload=<JSON>`, signed `v0=HMAC-SHA256("v0:<timestamp>:<body>")` with the signing secret.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from local_stack.slack_press import signed_headers
from shoplake.alerts import interactions
from shoplake.alerts.delivery import SlackCredentials
from shoplake.alerts.interactions import Answer, Press, Verification
from tests.conftest import our_event

# Slack's documented example signing secret, which the sample event is signed with.
SECRET = "8f742231b10e8888abcd99fedcba85a5"
TEAM = "T0LOCAL0001"
NOW = 1_796_029_600
SAMPLE = our_event("slack_interactions/block_actions_acknowledge.json")
PAYLOAD: dict[str, Any] = json.loads(parse_qs(base64.b64decode(SAMPLE["body"]).decode())["payload"][0])


def _form(payload: Any) -> str:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)})


def _signed(body: str, timestamp: int | str = NOW, secret: str = SECRET) -> dict[str, str]:
    return signed_headers(secret, timestamp, body)


def _payload(change: Callable[[dict[str, Any]], object] | None = None) -> dict[str, Any]:
    payload = copy.deepcopy(PAYLOAD)
    if change is not None:
        change(payload)
    return payload


class _Endpoint:
    """`interactions.answer` with a remembering store and a recording engine, as the handler wires them."""

    def __init__(self, team_id: str | None = TEAM) -> None:
        self.seen: set[str] = set()
        self.remembered: list[tuple[str, int]] = []
        self.pressed: list[Press] = []
        self.verification = Verification(SECRET, team_id)

    def remember(self, signature: str, expires_at: int) -> bool:
        self.remembered.append((signature, expires_at))
        if signature in self.seen:
            return False
        self.seen.add(signature)
        return True

    def __call__(
        self, body: str | None, headers: Mapping[str, str], *, base64_encoded: bool = False, now: float = NOW
    ) -> tuple[Answer, Press | None]:
        return interactions.answer(
            body,
            base64_encoded,
            headers,
            verification=self.verification,
            remember=self.remember,
            press=self.pressed.append,
            now=now,
        )

    def send(self, payload: Any, *, now: float = NOW) -> tuple[Answer, Press | None]:
        """A correctly signed request carrying `payload` (JSON-encoded unless it is text)."""
        body = _form(payload)
        return self(body, _signed(body), now=now)


# ---------------------------------------------------------------- a good press


def test_a_signed_press_is_acknowledged_empty_and_handed_on_with_the_user_and_message() -> None:
    # GIVEN Slack's request for a press of Acknowledge, base64-encoded as a function URL passes a form body
    endpoint = _Endpoint()
    body = _form(PAYLOAD)
    encoded = base64.b64encode(body.encode()).decode()
    # WHEN it is answered
    answer, press = endpoint(encoded, _signed(body), base64_encoded=True)
    # THEN an empty 200, and the press names the action, the thread, who pressed it and on which message
    assert answer == Answer(200, "")
    assert answer.as_function_url_response()["statusCode"] == 200
    assert press == Press(
        action_id="shoplake_acknowledge",
        thread_key="alarm:123456789012:ap-northeast-2:shoplake-dev-web-5xx",
        user_id="U0LOCAL0042",
        user_name="jane.kim",
        team_id=TEAM,
        channel_id="C0LOCAL0001",
        message_ts="1796029541.000100",
    )
    assert endpoint.pressed == [press]
    # AND the signature is remembered until after the timestamp check would refuse it anyway
    assert endpoint.remembered == [(_signed(body)["X-Slack-Signature"], NOW + interactions.REMEMBER_SECONDS)]


def test_the_sample_event_is_a_good_press_signed_at_its_own_time() -> None:
    # GIVEN the sample event `sam local invoke -e` takes, answered at the time it was signed
    endpoint = _Endpoint()
    at = int(SAMPLE["headers"]["x-slack-request-timestamp"])
    # WHEN it is answered
    answer, press = endpoint(SAMPLE["body"], SAMPLE["headers"], base64_encoded=SAMPLE["isBase64Encoded"], now=at)
    # THEN it is a good press of Acknowledge
    assert answer.status == 200
    assert press is not None and press.action_id == "shoplake_acknowledge"


def test_the_user_is_named_by_name_when_slack_sends_no_username() -> None:
    _, press = _Endpoint().send(_payload(lambda p: p["user"].pop("username")))
    assert press is not None and press.user_name == "jane.kim"


def test_the_channel_is_read_from_the_payload_when_the_container_lacks_it() -> None:
    _, press = _Endpoint().send(_payload(lambda p: p["container"].pop("channel_id")))
    assert press is not None and press.channel_id == "C0LOCAL0001"


def test_an_interaction_other_than_a_button_press_is_acknowledged_and_nothing_done() -> None:
    # GIVEN a correctly signed interaction of another type (a shortcut)
    endpoint = _Endpoint()
    # WHEN it is answered
    answer, press = endpoint.send({"type": "shortcut", "callback_id": "x", "user": {"id": "U1"}})
    # THEN 200, and nothing is handed to the engine
    assert (answer.status, press, endpoint.pressed) == (200, None, [])


# ---------------------------------------------------------------- the signature


def test_a_bad_signature_is_refused_401_before_anything_is_remembered_or_pressed() -> None:
    # GIVEN a press signed with another secret
    endpoint = _Endpoint()
    body = _form(PAYLOAD)
    # WHEN it is answered
    answer, press = endpoint(body, _signed(body, secret="not-the-apps-secret"))
    # THEN 401, and neither the store nor the engine hears of it
    assert answer.status == 401 and "does not match" in answer.body
    assert (press, endpoint.remembered, endpoint.pressed) == (None, [], [])


def test_a_body_changed_after_signing_is_refused() -> None:
    endpoint = _Endpoint()
    body = _form(PAYLOAD)
    tampered = _form(_payload(lambda p: p["actions"][0].update(value="alarm:123456789012:ap-northeast-2:other")))
    answer, _ = endpoint(tampered, _signed(body))
    assert answer.status == 401 and endpoint.pressed == []


@pytest.mark.parametrize("age", [301, 3600, -301])
def test_a_request_more_than_five_minutes_from_now_is_refused_even_correctly_signed(age: int) -> None:
    # GIVEN a press correctly signed `age` seconds ago (negative: in the future)
    endpoint = _Endpoint()
    body = _form(PAYLOAD)
    # WHEN it is answered now
    answer, _ = endpoint(body, _signed(body, timestamp=NOW - age))
    # THEN 401: Slack's five-minute bound, against replays of an old capture
    assert answer.status == 401 and "300 s" in answer.body
    assert endpoint.remembered == [] and endpoint.pressed == []


def test_a_request_just_within_five_minutes_is_accepted() -> None:
    endpoint = _Endpoint()
    body = _form(PAYLOAD)
    answer, _ = endpoint(body, _signed(body, timestamp=NOW - 300))
    assert answer.status == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": str(NOW)},
        {"X-Slack-Request-Timestamp": "1.7e9", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "١٧٩٦٠٢٩٦٠٠", "X-Slack-Signature": "v0=00"},  # Arabic-Indic digits
        {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""},
    ],
)
def test_a_request_without_a_usable_signature_or_timestamp_is_refused_401(headers: dict[str, str]) -> None:
    answer, _ = _Endpoint()(_form(PAYLOAD), headers)
    assert answer.status == 401


def test_header_names_are_matched_in_any_case_as_function_urls_lowercase_them() -> None:
    endpoint = _Endpoint()
    body = _form(PAYLOAD)
    answer, _ = endpoint(body, {k.lower(): v for k, v in _signed(body).items()})
    assert answer.status == 200


# ---------------------------------------------------------------- replay and team


def test_the_same_signed_request_twice_is_refused_the_second_time() -> None:
    # GIVEN a press that was answered
    endpoint = _Endpoint()
    body = _form(PAYLOAD)
    first, _ = endpoint(body, _signed(body))
    # WHEN the very same request arrives again within the five minutes (a replay by whoever captured it)
    second, press = endpoint(body, _signed(body))
    # THEN it is refused, and the engine saw the press once
    assert (first.status, second.status, press) == (200, 401, None)
    assert "replay" in second.body and len(endpoint.pressed) == 1


def test_a_press_from_another_workspace_is_refused_403() -> None:
    # GIVEN a correctly signed press whose team is not the secret's (an app installed in two workspaces)
    endpoint = _Endpoint()
    answer, press = endpoint.send(_payload(lambda p: p["team"].update(id="T0OTHER0001")))
    # THEN it is refused, naming the team, and nothing is pressed
    assert answer.status == 403 and "T0OTHER0001" in answer.body
    assert (press, endpoint.pressed) == (None, [])


def test_without_a_team_in_the_secret_any_team_may_press() -> None:
    endpoint = _Endpoint(team_id=None)
    answer, _ = endpoint.send(_payload(lambda p: p["team"].update(id="T0OTHER0001")))
    assert answer.status == 200


# ---------------------------------------------------------------- malformed bodies: 400 naming the field


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (_payload(lambda p: p.pop("actions")), "actions"),
        (_payload(lambda p: p.update(actions=[])), "actions"),
        (_payload(lambda p: p.update(actions=[p["actions"][0], p["actions"][0]])), "actions"),
        (_payload(lambda p: p.update(actions=["shoplake_acknowledge"])), "actions[0]"),
        (_payload(lambda p: p["actions"][0].pop("value")), "actions[0].value"),
        (_payload(lambda p: p["actions"][0].update(value="   ")), "actions[0].value"),
        (_payload(lambda p: p["actions"][0].update(action_id=7)), "actions[0].action_id"),
        (_payload(lambda p: p.pop("user")), "user"),
        (_payload(lambda p: p["user"].pop("id")), "user.id"),
        (_payload(lambda p: p.update(user={"id": "U1", "team_id": TEAM})), "user.username"),
        (_payload(lambda p: p.pop("container")), "container"),
        (_payload(lambda p: p["container"].pop("message_ts")), "container.message_ts"),
        (_payload(lambda p: (p["container"].pop("channel_id"), p.pop("channel"))), "container.channel_id"),
        (_payload(lambda p: (p.pop("team"), p["user"].pop("team_id"))), "team.id"),
        (_payload(lambda p: p.pop("type")), "type"),
        ("[1, 2]", "payload"),
        ("{not json", "payload"),
    ],
)
def test_a_malformed_payload_is_refused_400_naming_the_field(payload: Any, field: str) -> None:
    # GIVEN a correctly signed body that is no well-formed button press
    endpoint = _Endpoint()
    # WHEN it is answered
    answer, press = endpoint.send(payload)
    # THEN 400 naming what is wrong, never a server error, and nothing is pressed
    assert answer.status == 400
    assert f"'{field}'" in answer.body
    assert (press, endpoint.pressed) == (None, [])


@pytest.mark.parametrize(
    "body",
    ["", "payload=a&payload=b", "token=abc", "payload", "%%%", "a=1&" * 30 + "payload=%7B%7D"],
)
def test_a_body_that_is_no_single_payload_form_field_is_refused_400(body: str) -> None:
    answer, _ = _Endpoint()(body, _signed(body))
    assert answer.status == 400


@pytest.mark.parametrize("encoded", ["not base64!", base64.b64encode(b"\xff\xfe payload=").decode()])
def test_a_body_whose_base64_or_utf8_is_broken_is_refused_400(encoded: str) -> None:
    answer, _ = _Endpoint()(encoded, _signed(encoded), base64_encoded=True)
    assert answer.status == 400 and "base64" in answer.body


def test_a_request_without_a_body_is_refused_401_not_500() -> None:
    answer, _ = _Endpoint()(None, {})
    assert answer.status == 401


def test_the_engines_failure_is_not_taken_for_the_requests() -> None:
    # GIVEN an engine that fails (Slack or DynamoDB down)
    def failing(press: Press) -> None:
        raise RuntimeError("Slack is down")

    body = _form(PAYLOAD)
    # WHEN a good press is answered
    # THEN the error propagates (Lambda answers 502 and logs it), rather than a 4xx blaming the request
    with pytest.raises(RuntimeError, match="Slack is down"):
        interactions.answer(
            body, False, _signed(body), verification=Verification(SECRET, TEAM),
            remember=lambda signature, expires_at: True, press=failing, now=NOW,
        )  # fmt: skip


# ---------------------------------------------------------------- the secret


def test_the_secret_gives_the_signing_secret_and_team() -> None:
    secret = {"bot_token": "xoxb-1", "signing_secret": SECRET, "team_id": TEAM}
    assert Verification.from_credentials(SlackCredentials.from_secret(secret)) == Verification(SECRET, TEAM)
    without_team = SlackCredentials.from_secret({"bot_token": "xoxb-1", "signing_secret": SECRET})
    assert Verification.from_credentials(without_team).team_id is None


@pytest.mark.parametrize(
    ("secret", "field"),
    [
        ({"bot_token": "xoxb-1"}, "signing_secret"),
        ({"bot_token": "xoxb-1", "signing_secret": "  "}, "signing_secret"),
        ({"bot_token": "xoxb-1", "signing_secret": 42}, "signing_secret"),
        ({"bot_token": "xoxb-1", "signing_secret": SECRET, "team_id": ["T1"]}, "team_id"),
    ],
)
def test_a_secret_without_a_usable_signing_secret_is_a_deployment_error_naming_the_field(
    secret: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        Verification.from_credentials(SlackCredentials.from_secret(secret))
