"""Slack interactions: the Acknowledge and Snooze buttons on alert threads, pressed in Slack.

A Lambda function URL (payload 2.0) that Slack posts each press to. `shoplake.alerts.interactions` checks the
request (Slack's signature and its age, a replay, the workspace) and reads the press; the thread engine applies it
and updates the thread's parent. The answer: an empty 200 (Slack wants it within 3 seconds), 401 without a valid
signature or for a replay, 403 from another workspace, 400 for a body that is no Slack interaction.
Every press is logged with the user's id and name.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, Protocol

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from shoplake.alerts import interactions
from shoplake.alerts.delivery import SlackCredentials, SlackSender
from shoplake.alerts.routing import Routing

logger = Logger()

ROUTING = Routing.from_json(os.environ["ALERT_ROUTING"])
SLACK_SECRET_NAME = os.environ["SLACK_SECRET_NAME"]
THREAD_TABLE = boto3.resource("dynamodb").Table(os.environ["THREAD_TABLE_NAME"])
SECRET_MAX_AGE_SECONDS = 300
# Leave time to answer Slack after the last attempt to update the message.
DEADLINE_MARGIN_SECONDS = 0.5


class Engine(Protocol):
    """What the handler needs of shoplake.alerts.thread_engine.ThreadEngine."""

    def press(
        self, *, action_id: str, thread_key: str, user_id: str, user_name: str, channel_id: str, message_ts: str,
        now: float,
    ) -> Any: ...  # fmt: skip


class Requests(Protocol):
    """What the handler needs of shoplake.alerts.thread_store.ThreadStore: the replay check."""

    def remember_request(self, signature: str, expires_at: int) -> bool: ...


@cache
def _thread_modules() -> tuple[Any, Any, Any]:
    # By name, at first use: shoplake.alerts.threads, thread_store and thread_engine (issue 19's thread engine).
    names = ("threads", "thread_store", "thread_engine")
    threads, store, engine = (importlib.import_module(f"shoplake.alerts.{name}") for name in names)
    return threads, store, engine


@cache
def thread_store() -> Requests:
    """The thread table's store (module-level in effect: made once per execution environment)."""
    threads, store, _ = _thread_modules()
    policy = threads.Policy.from_environment(os.environ)
    return store.ThreadStore(THREAD_TABLE, ttl_s=policy.ttl_s)  # type: ignore[no-any-return]


def thread_engine(secret: Mapping[str, Any], remaining: Callable[[], float]) -> Engine:
    """The thread engine, posting with the secret's bot token within `remaining()` seconds."""
    threads, _, engine = _thread_modules()
    sender = SlackSender(SlackCredentials.from_secret(secret), remaining=remaining)
    policy = threads.Policy.from_environment(os.environ)
    return engine.ThreadEngine(thread_store(), sender, ROUTING, policy, time.time)  # type: ignore[no-any-return]


@logger.inject_lambda_context
@event_source(data_class=LambdaFunctionUrlEvent)
def lambda_handler(event: LambdaFunctionUrlEvent, context: LambdaContext) -> dict[str, Any]:
    if event.request_context.http.method != "POST":
        return interactions.Answer(405, "Slack posts interactions here.").as_function_url_response()
    secret = parameters.get_secret(SLACK_SECRET_NAME, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    now = time.time()

    def press(found: interactions.Press) -> Any:
        engine = thread_engine(secret, lambda: context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS)
        logger.info(
            "Thread button pressed",
            extra={
                "action_id": found.action_id,
                "thread_key": found.thread_key,
                "user_id": found.user_id,
                "user_name": found.user_name,
                "team_id": found.team_id,
                "channel_id": found.channel_id,
                "message_ts": found.message_ts,
            },
        )
        result = engine.press(
            action_id=found.action_id,
            thread_key=found.thread_key,
            user_id=found.user_id,
            user_name=found.user_name,
            channel_id=found.channel_id,
            message_ts=found.message_ts,
            now=now,
        )
        logger.info("Thread button applied", extra={"thread_key": found.thread_key, "result": repr(result)})
        return result

    answer, found = interactions.answer(
        event.body,
        bool(event.is_base64_encoded),
        event.headers,
        verification=interactions.Verification.from_secret(secret),
        remember=lambda signature, expires_at: thread_store().remember_request(signature, expires_at),
        press=press,
        now=now,
    )
    if answer.status != 200:
        logger.warning(
            "Slack interaction refused",
            extra={"status": answer.status, "reason": answer.body, "source_ip": event.request_context.http.source_ip},
        )
    elif found is None:
        logger.info("Slack interaction ignored: not a button press")
    return answer.as_function_url_response()
