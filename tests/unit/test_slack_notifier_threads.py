"""The notifier's choice between a thread and a message of its own, and its sweep event (moto, a fake Slack)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.provision import REGION
from shoplake.alerts.sources import read_event
from tests.conftest import aws_sample, function_app, lambda_context
from tests.thread_fakes import ALARM_KEY, FakeSlack, alarm, thread_table

ROUTING = {"default": "#shoplake-alerts", "by_severity": {"critical": "#shoplake-oncall"}}


class WebhookSlack(FakeSlack):
    """A webhook installation: no threads."""

    threads = False


def load_notifier(monkeypatch: pytest.MonkeyPatch, slack: FakeSlack, alerts: list[Any]) -> ModuleType:
    for name, value in {
        "ALERT_ROUTING": json.dumps(ROUTING),
        "SLACK_SECRET_NAME": "shoplake/test/slack",
        "IDEMPOTENCY_TABLE_NAME": "shoplake-test-idempotency",
        "THREAD_TABLE_NAME": "shoplake-test-alert-threads",
        "POWERTOOLS_SERVICE_NAME": f"shoplake-{uuid.uuid4().hex[:8]}",
        "POWERTOOLS_METRICS_NAMESPACE": "shoplake",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    thread_table(dynamodb)
    dynamodb.create_table(
        TableName="shoplake-test-idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="shoplake/test/slack", SecretString=json.dumps({"bot_token": "xoxb-test"})
    )
    module = function_app("slack_notifier")
    monkeypatch.setattr(module, "SlackSender", lambda *_, **__: slack)
    monkeypatch.setattr(module, "read_alerts", lambda _: alerts)
    return module


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.mark.usefixtures("aws", "socket_enabled")  # the X-Ray SDK opens a UDP socket at import; tracing off
def test_threaded_alerts_go_to_their_thread_and_others_stay_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    slack = FakeSlack()
    alone = replace(alarm(n=3), thread=None, dedupe_key="alone")
    app = load_notifier(monkeypatch, slack, [alarm(), alarm(n=2), alone])
    answer = app.lambda_handler({"Records": []}, lambda_context("shoplake-test-slack-notifier"))
    first, second, third = answer["delivered"]
    assert (first["via"], first["thread"], second["ts"]) == ("thread", ALARM_KEY, first["ts"])
    assert "thread" not in third and third["via"] == "chat.postMessage"
    assert len(slack.parents()) == 2 and len(slack.thread(first["ts"])) == 1


@pytest.mark.usefixtures("aws", "socket_enabled")
def test_a_webhook_installation_keeps_separate_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    slack = WebhookSlack()
    app = load_notifier(monkeypatch, slack, [alarm(), alarm(n=2)])
    answer = app.lambda_handler({"Records": []}, lambda_context("shoplake-test-slack-notifier"))
    assert [d["via"] for d in answer["delivered"]] == ["chat.postMessage"] * 2
    assert len(slack.parents()) == 2
    assert app.lambda_handler(dict(app.SWEEP_EVENT), lambda_context("shoplake-test-slack-notifier")) == {"swept": []}


@pytest.mark.usefixtures("aws", "socket_enabled")
def test_a_webhook_installation_leaves_out_what_only_threads_tell(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a run's RUNNING and a pipeline stage's result (told only inside their threads), and a run's end
    running, stage, ended = (
        read_event(aws_sample(name))
        for name in (
            "eventbridge_stepfunctions_execution_running__awsdocs.json",
            "eventbridge_codepipeline_stage_stopped__awsdocs.json",
            "eventbridge_stepfunctions_execution_succeeded__awsdocs.json",
        )
    )
    slack = WebhookSlack()
    app = load_notifier(monkeypatch, slack, [running, stage, ended])
    # WHEN they reach a webhook installation
    answer = app.lambda_handler({"Records": []}, lambda_context("shoplake-test-slack-notifier"))
    # THEN only the run's end is a message, as before threads; the others are told to be thread steps
    assert [d["via"] for d in answer["delivered"]] == ["told only in threads"] * 2 + ["chat.postMessage"]
    assert len(slack.parents()) == 1


@pytest.mark.usefixtures("aws", "socket_enabled")
def test_the_sweep_event_reannounces(monkeypatch: pytest.MonkeyPatch) -> None:
    slack = FakeSlack()
    app = load_notifier(monkeypatch, slack, [alarm()])
    first = app.lambda_handler({"Records": []}, lambda_context("shoplake-test-slack-notifier"))["delivered"][0]
    real = app.time
    later = SimpleNamespace(time=lambda: real.time() + 31 * 60, sleep=real.sleep)
    monkeypatch.setattr(app, "time", later)
    answer = app.lambda_handler({"shoplake": "thread-sweep"}, lambda_context("shoplake-test-slack-notifier"))
    assert answer == {"swept": [{"thread": ALARM_KEY, "actions": ["reply"]}]}
    (reannounced,) = slack.thread(first["ts"])
    assert reannounced.broadcast
