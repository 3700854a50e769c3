"""A service delivers to a function only as the function's Lambda permissions allow (local_stack/event_routing.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.slack_sink import SlackSink
from local_stack.stack import LocalStack
from tests.conftest import our_event

# The tests here start the local Slack on loopback (not in make unit).
pytestmark = pytest.mark.server


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LocalStack]:
    # The test takes the function's permission away and provokes the refusal: not a fault of the template's.
    with (
        SlackSink() as sink,
        LocalStack(slack_sink=sink, server=False, work_dir=tmp_path, expect_refusals=True) as running,
    ):
        yield running


def test_a_delivery_the_functions_permissions_do_not_allow_is_refused(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the Slack notifier's function with no resource policy at all (its SAM-made permissions removed)
    notifier = stack.stack.attr("SlackNotifierFunction", "Arn")
    kept = stack.principals.resource_policy
    monkeypatch.setattr(stack.principals, "resource_policy", lambda arn: None if arn == notifier else kept(arn))
    # WHEN an alarm is published on the alert topic and the router delivers
    message = our_event("slack_notifier/sns_alarm_web_5xx.json")["Records"][0]["Sns"]["Message"]
    stack.client("sns").publish(TopicArn=stack.output("AlertTopicArn"), Message=message)
    delivered = stack.router.deliver_pending()
    # THEN SNS may not invoke it: nothing is delivered, and the refusal is recorded as the service's
    assert not [d for d in delivered if d.function == stack.functions["SlackNotifierFunction"].name]
    refused = [u for u in stack.iam_ledger.uses if u.resource == notifier and u.action == "lambda:InvokeFunction"]
    assert [(u.principal, u.allowed) for u in refused] == [("sns.amazonaws.com", False)]
