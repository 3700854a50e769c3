"""The interactivity function: Slack's button press, through the function URL event, to the thread engine.

The engine and its store are fakes here (the engine's own tests cover what a press does to a thread); what is
tested is the handler's wiring: the secret's values, the replay store, the engine's call, the answer and the log.
"""

from __future__ import annotations

import base64
import time
from types import ModuleType
from typing import Any

import pytest

from local_stack.function_urls import slack_signed
from shoplake.alerts.thread_engine import PressResult
from tests.conftest import function_app, lambda_context, our_event

SECRET = {"bot_token": "xoxb-test", "signing_secret": "5c0ffee5c0ffee5c0ffee5c0ffee5c0f", "team_id": "T0LOCAL0001"}
SAMPLE = "slack_interactions/block_actions_acknowledge.json"


class _FakeStore:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def remember_request(self, signature: str, expires_at: int) -> bool:
        if signature in self.seen:
            return False
        self.seen.add(signature)
        return True


class _FakeEngine:
    def __init__(self) -> None:
        self.presses: list[dict[str, Any]] = []

    def press(self, **kwargs: Any) -> PressResult:
        self.presses.append(kwargs)
        return PressResult(accepted=True, reason="", key=kwargs["thread_key"], state="ALARM")


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("ALERT_ROUTING", '{"default": "#shoplake-alerts"}')
    monkeypatch.setenv("SLACK_SECRET_NAME", "shoplake/dev/slack")
    monkeypatch.setenv("THREAD_TABLE_NAME", "shoplake-dev-alert-threads")
    module = function_app("slack_interactions")
    store, engine, made = _FakeStore(), _FakeEngine(), []

    def thread_engine(credentials: Any, remaining: Any) -> _FakeEngine:
        made.append(credentials)
        return engine

    monkeypatch.setattr(module.parameters, "get_secret", lambda *args, **kwargs: SECRET)
    monkeypatch.setattr(module, "STORE", store)
    monkeypatch.setattr(module, "thread_engine", thread_engine)
    # what the tests look at: the fakes, on the module under test
    vars(module).update(store=store, engine=engine, engines_made=made)
    return module


def _press_now() -> dict[str, Any]:
    return slack_signed(our_event(SAMPLE), SECRET["signing_secret"])


def test_a_signed_press_reaches_the_engine_and_is_answered_empty_200_and_logged_with_the_user(
    app: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN Slack's request for a press of Acknowledge, signed now with the app's signing secret
    event = _press_now()
    before = time.time()
    # WHEN the function answers it
    response = app.lambda_handler(event, lambda_context("shoplake-dev-slack-interactions", timeout_s=3))
    # THEN an empty 200
    assert response["statusCode"] == 200 and response["body"] == ""
    # AND the engine applied the press: who, which button, which thread, on which message, when
    (press,) = app.engine.presses
    now = press.pop("now")
    assert before <= now <= time.time()
    assert press == {
        "action_id": "shoplake_acknowledge",
        "thread_key": "alarm:123456789012:ap-northeast-2:shoplake-dev-web-5xx",
        "user_id": "U0LOCAL0042",
        "user_name": "jane.kim",
        "channel_id": "C0LOCAL0001",
        "message_ts": "1796029541.000100",
    }
    # AND the press is logged with the user's id and name
    (entry,) = [r for r in caplog.records if r.getMessage() == "Thread button pressed"]
    logged = vars(entry)
    assert (logged["user_id"], logged["user_name"], logged["action_id"]) == (
        "U0LOCAL0042",
        "jane.kim",
        "shoplake_acknowledge",
    )


def test_a_replayed_press_is_refused_and_the_engine_sees_it_once(app: ModuleType) -> None:
    event = _press_now()
    assert (
        app.lambda_handler(event, lambda_context("shoplake-dev-slack-interactions", timeout_s=3))["statusCode"] == 200
    )
    assert (
        app.lambda_handler(event, lambda_context("shoplake-dev-slack-interactions", timeout_s=3))["statusCode"] == 401
    )
    assert len(app.engine.presses) == 1


def test_a_forged_press_is_refused_401_and_logged_without_the_engine_being_made(
    app: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a press signed with a secret that is not the app's
    event = slack_signed(our_event(SAMPLE), "an-attackers-guess")
    # WHEN the function answers it
    response = app.lambda_handler(event, lambda_context("shoplake-dev-slack-interactions", timeout_s=3))
    # THEN 401; no engine is made, nothing is pressed; the refusal is logged with its reason
    assert response["statusCode"] == 401
    assert app.engines_made == [] and app.engine.presses == []
    (refused,) = [r for r in caplog.records if r.getMessage() == "Slack interaction refused"]
    assert vars(refused)["status"] == 401 and "does not match" in vars(refused)["reason"]


def test_the_sample_event_as_kept_is_refused_as_too_old(app: ModuleType) -> None:
    # The sample's signature is as old as the sample: `make invoke` signs it again; Lambda would refuse it.
    assert (
        app.lambda_handler(our_event(SAMPLE), lambda_context("shoplake-dev-slack-interactions", timeout_s=3))[
            "statusCode"
        ]
        == 401
    )


def test_a_malformed_but_signed_body_is_answered_400(app: ModuleType) -> None:
    event = our_event(SAMPLE)
    event["body"] = base64.b64encode(b"payload=%7Bnot-json").decode()
    response = app.lambda_handler(
        slack_signed(event, SECRET["signing_secret"]), lambda_context("shoplake-dev-slack-interactions", timeout_s=3)
    )
    assert response["statusCode"] == 400 and "'payload'" in response["body"]


def test_anything_but_a_post_is_answered_405(app: ModuleType) -> None:
    event = _press_now()
    event["requestContext"]["http"]["method"] = "GET"
    assert (
        app.lambda_handler(event, lambda_context("shoplake-dev-slack-interactions", timeout_s=3))["statusCode"] == 405
    )
    assert app.engine.presses == []
