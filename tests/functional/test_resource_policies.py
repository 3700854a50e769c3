"""The resource-based policies of the template, asked the questions no local flow asks.

The hook evaluates these policies on every call the local flows make (local_stack/iam/hook.py); the
cases here are the ones no flow reaches: a caller over plain HTTP, another account, an AWS service
acting for someone else, and every principal asking for the Slack secret. Each is asked of the
evaluator (local_stack/iam/evaluate.py) with the policies the local stack resolved from the template.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_stack.iam.evaluate import Caller, Decision, evaluate
from local_stack.stack import LocalStack

ACCOUNT = "123456789012"
FOREIGN = "999999999999"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(server=False, slack_secret={"webhook_url": "https://hooks.slack.invalid/local"}) as running:
        yield running


def _as(stack: LocalStack, name: str, action: str, resource: str, **context: object) -> Decision:
    principal = stack.principals.principal(name)
    holder = resource.split("/", 1)[0] if resource.startswith("arn:aws:s3:::") else resource
    return evaluate(
        Caller(principal.session_arn, ACCOUNT, principal.role_arn),
        action,
        resource,
        identity=principal.policies,
        boundary=principal.boundary,
        resource_policy=stack.principals.resource_policy(holder),
        context={"aws:SecureTransport": True, **context},  # type: ignore[dict-item]
    )


def _service(stack: LocalStack, service: str, action: str, resource: str, account: str) -> Decision:
    return evaluate(
        Caller("", account, service=service),
        action,
        resource,
        resource_policy=stack.principals.resource_policy(resource),
        context={"aws:SourceAccount": account, "aws:SecureTransport": True},
    )


def test_only_the_slack_functions_can_read_the_slack_secret(stack: LocalStack) -> None:
    # GIVEN the Slack secret, which has no resource policy: only identity policies can grant it
    name = stack.stack.resolver.parameters["SlackSecretName"]
    secret = f"arn:aws:secretsmanager:ap-northeast-2:{ACCOUNT}:secret:{name}-AbCdEf"
    # WHEN every principal of the stack asks for its value
    readers = {p for p in stack.principals.names() if _as(stack, p, "secretsmanager:GetSecretValue", secret).allowed}
    # THEN only the Slack notifier may, and the interactivity endpoint (the signing secret is in it)
    assert readers == {"SlackNotifierFunction", "SlackInteractionsFunction"}


def test_the_buckets_refuse_plain_http_even_to_a_role_that_may_read(stack: LocalStack) -> None:
    # GIVEN an object in the lake that the extract job may read
    lake = stack.output("LakeBucketName")
    key = f"arn:aws:s3:::{lake}/raw/orders/year=2026/month=11/day=30/part-0.parquet"
    assert _as(stack, "EtlExtractJob", "s3:GetObject", key).allowed
    # WHEN it is asked for over plain HTTP
    refused = _as(stack, "EtlExtractJob", "s3:GetObject", key, **{"aws:SecureTransport": False})
    # THEN the bucket policy's explicit deny wins over the role's allow
    assert not refused.allowed
    assert refused.reason == "with an explicit deny in a resource-based policy"


def test_every_bucket_of_the_stack_denies_plain_http(stack: LocalStack) -> None:
    buckets = [stack.stack.ref(b) for b in stack.stack.logical_ids_of_type("AWS::S3::Bucket")]
    for bucket in buckets:
        policy = stack.principals.resource_policy(f"arn:aws:s3:::{bucket}")
        assert policy is not None, f"{bucket} has no bucket policy"
        decision = evaluate(
            Caller(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT),
            "s3:GetObject",
            f"arn:aws:s3:::{bucket}/any",
            identity=[("admin", {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})],
            resource_policy=policy,
            context={"aws:SecureTransport": False},
        )
        assert not decision.allowed, bucket


def test_aws_alert_sources_of_this_account_publish_to_the_topic_and_others_do_not(stack: LocalStack) -> None:
    topic = stack.stack.ref("AlertTopic")
    assert _service(stack, "cloudwatch.amazonaws.com", "sns:Publish", topic, ACCOUNT).allowed
    assert _service(stack, "events.amazonaws.com", "sns:Publish", topic, ACCOUNT).allowed
    # another account's alarm, and a service the policy does not name, are refused
    assert not _service(stack, "cloudwatch.amazonaws.com", "sns:Publish", topic, FOREIGN).allowed
    assert not _service(stack, "s3.amazonaws.com", "sns:Publish", topic, ACCOUNT).allowed


def test_the_alerting_key_serves_alert_sources_of_this_account_only(stack: LocalStack) -> None:
    key = stack.stack.attr("AlertingKey", "Arn")
    assert _service(stack, "cloudwatch.amazonaws.com", "kms:GenerateDataKey", key, ACCOUNT).allowed
    assert not _service(stack, "cloudwatch.amazonaws.com", "kms:GenerateDataKey", key, FOREIGN).allowed
    assert not _service(stack, "cloudwatch.amazonaws.com", "kms:ScheduleKeyDeletion", key, ACCOUNT).allowed


def test_a_role_without_a_key_statement_cannot_use_the_lake_key(stack: LocalStack) -> None:
    # GIVEN the lake key, whose policy hands its use to the account's IAM policies
    key = stack.stack.attr("LakeKey", "Arn")
    # THEN a role that grants it may decrypt, and one that does not (the notifier) may not
    assert _as(stack, "EtlExtractJob", "kms:GenerateDataKey", key).allowed
    assert not _as(stack, "SlackNotifierFunction", "kms:Decrypt", key).allowed


def test_only_the_alert_topic_may_invoke_the_notifier(stack: LocalStack) -> None:
    function = stack.functions["SlackNotifierFunction"].arn
    policy = stack.principals.resource_policy(function)
    assert policy is not None

    def sns(topic: str) -> bool:
        return evaluate(
            Caller("", ACCOUNT, service="sns.amazonaws.com"),
            "lambda:InvokeFunction",
            function,
            resource_policy=policy,
            context={"aws:SourceArn": topic, "aws:SourceAccount": ACCOUNT},
        ).allowed

    assert sns(stack.stack.ref("AlertTopic"))
    assert not sns(f"arn:aws:sns:ap-northeast-2:{FOREIGN}:shoplake-dev-alerts")
