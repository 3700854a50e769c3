"""A permission the template forgets fails locally as it would after `sam deploy`.

One statement is taken out of one role (the notifier's DynamoDB grant on the idempotency table,
`KeepIdempotencyRecords`), and an alarm goes through the stack as in the e2e tests:
the notifier fails with the AccessDenied AWS would answer, naming the principal, the action and the
resource; Lambda's retries and the dead-letter queue behave as they would for any other failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.slack_sink import SlackSink
from local_stack.stack import LocalStack
from local_stack.template import load_template
from tests.conftest import our_event

# The tests here start the local Slack on loopback (not in make unit).
pytestmark = pytest.mark.server


def _without_the_notifiers_table_grant() -> dict[str, Any]:
    template = load_template()
    policies = template["Resources"]["SlackNotifierFunction"]["Properties"]["Policies"]
    (records,) = [p for p in policies if any(s.get("Sid") == "KeepIdempotencyRecords" for s in p.get("Statement", []))]
    policies.remove(records)
    return template


def _alarm(stack: LocalStack) -> None:
    message = our_event("slack_notifier/sns_alarm_web_5xx.json")["Records"][0]["Sns"]["Message"]
    stack.client("sns").publish(TopicArn=stack.output("AlertTopicArn"), Message=message)


@pytest.fixture
def sink() -> Iterator[SlackSink]:
    with SlackSink() as running:
        yield running


def test_a_removed_statement_fails_the_run_with_the_access_denied_a_deploy_would_meet(
    sink: SlackSink, tmp_path: Path
) -> None:
    # GIVEN the template without the notifier's grant on its idempotency table
    with LocalStack(
        slack_sink=sink, server=False, work_dir=tmp_path, template=_without_the_notifiers_table_grant()
    ) as stack:
        table = stack.stack.attr("IdempotencyTable", "Arn")
        # WHEN an alarm reaches the notifier
        _alarm(stack)
        (invocation,) = [i for i in stack.deliver_pending() if i.function.endswith("slack-notifier")]
        # THEN it failed on every attempt with AWS's AccessDenied naming who, what and on what
        assert invocation.attempts == 3
        assert invocation.error is not None
        assert "AccessDeniedException" in invocation.error
        role_session = "assumed-role/shoplake-dev-SlackNotifierFunctionRole/SlackNotifierFunction"
        assert f"{role_session} is not authorized to perform: dynamodb:" in invocation.error
        assert f"on resource: {table}" in invocation.error
        # AND nothing reached Slack, and the ledger holds the refusal
        assert sink.messages == []
        refused = {(u.principal, u.resource) for u in stack.iam_ledger.uses if not u.allowed}
        assert ("SlackNotifierFunction", table) in refused


def test_the_same_alarm_with_the_template_as_written_reaches_slack(sink: SlackSink, tmp_path: Path) -> None:
    with LocalStack(slack_sink=sink, server=False, work_dir=tmp_path) as stack:
        _alarm(stack)
        stack.deliver_pending()
        assert [m.channel for m in sink.messages] == ["#shoplake-oncall"]
        assert not [u for u in stack.iam_ledger.uses if not u.allowed]
