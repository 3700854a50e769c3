"""Slack interactions: the Acknowledge and Snooze buttons on alert threads, pressed in Slack.

A Lambda function URL (payload 2.0) that Slack posts each press to. `shoplake.alerts.interactions` checks the
request (Slack's signature and its age, a replay, the workspace) and reads the press; the thread engine applies it
and updates the thread's parent. The answer: an empty 200 (Slack wants it within 3 seconds), 401 without a valid
signature or for a replay, 403 from another workspace, 400 for a body that is no Slack interaction, 503 when the
thread is being changed by an alert or Slack refused the update (the person sees the press fail and presses again).
Every press is logged with the user's id and name.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from shoplake.alerts import interactions
from shoplake.alerts.delivery import SlackCredentials, SlackDeliveryError, SlackSender
from shoplake.alerts.routing import Routing
from shoplake.alerts.thread_engine import PressResult, ThreadBusyError, ThreadEngine
from shoplake.alerts.thread_store import ThreadStore
from shoplake.alerts.threads import Policy

logger = Logger()

ROUTING = Routing.from_json(os.environ["ALERT_ROUTING"])
SLACK_SECRET_NAME = os.environ["SLACK_SECRET_NAME"]
POLICY = Policy.from_environment(os.environ)
STORE = ThreadStore(boto3.resource("dynamodb").Table(os.environ["THREAD_TABLE_NAME"]), ttl_s=POLICY.ttl_s)
SECRET_MAX_AGE_SECONDS = 300
# Slack wants the answer within 3 s: wait at most this long for an alert that holds the thread.
BUSY_WAIT_SECONDS = 1.0
# Leave time to answer Slack after the last attempt to update the message.
DEADLINE_MARGIN_SECONDS = 0.5


def thread_engine(credentials: SlackCredentials, remaining: Callable[[], float]) -> ThreadEngine:
    """The thread engine, posting with the secret's bot token within `remaining()` seconds."""
    sender = SlackSender(credentials, remaining=remaining)
    return ThreadEngine(STORE, sender, ROUTING, POLICY, time.time, wait_s=BUSY_WAIT_SECONDS)


@logger.inject_lambda_context
@event_source(data_class=LambdaFunctionUrlEvent)
def lambda_handler(event: LambdaFunctionUrlEvent, context: LambdaContext) -> dict[str, Any]:
    if event.request_context.http.method != "POST":
        return interactions.Answer(405, "Slack posts interactions here.").as_function_url_response()
    credentials = SlackCredentials.from_secret(
        parameters.get_secret(SLACK_SECRET_NAME, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    )
    if not credentials.signing_secret:  # a webhook-only installation: no Slack app, no buttons to press
        logger.warning("Slack interaction refused: the Slack secret has no signing_secret")
        return interactions.Answer(403, "This installation takes no Slack interactions.").as_function_url_response()
    now = time.time()

    def press(found: interactions.Press) -> PressResult:
        engine = thread_engine(
            credentials, remaining=lambda: context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS
        )
        logger.info("Thread button pressed", extra=asdict(found))
        result = engine.press(
            action_id=found.action_id,
            thread_key=found.thread_key,
            user_id=found.user_id,
            user_name=found.user_name,
            channel_id=found.channel_id,
            message_ts=found.message_ts,
            now=now,
        )
        logger.info("Thread button applied", extra={"thread_key": found.thread_key, "result": asdict(result)})
        return result

    try:
        answer, found = interactions.answer(
            event.body,
            bool(event.is_base64_encoded),
            event.headers,
            verification=interactions.Verification.from_credentials(credentials),
            remember=STORE.remember_request,
            press=press,
            now=now,
        )
    except (ThreadBusyError, SlackDeliveryError) as error:
        logger.warning("Thread button not applied; the person may press again", extra={"error": str(error)})
        return interactions.Answer(503, "The alert is busy; press again.").as_function_url_response()
    if answer.status != 200:
        logger.warning(
            "Slack interaction refused",
            extra={"status": answer.status, "reason": answer.body, "source_ip": event.request_context.http.source_ip},
        )
    elif found is None:
        logger.info("Slack interaction ignored: not a button press")
    return answer.as_function_url_response()
