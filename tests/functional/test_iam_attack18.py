"""Issue 18 attacked on the whole local stack: calls the local runtime makes as a principal that AWS never would.

A strict xfail marks a fault still open (its reason says which).
"""

from __future__ import annotations

import pytest

from local_stack.stack import LocalStack
from tests.conftest import our_event

# The tests here start the local Slack on loopback (not in make unit).
pytestmark = pytest.mark.server


def test_a_nightly_etl_job_run_is_not_refused_for_the_runners_own_mirror(stack: LocalStack) -> None:
    # GIVEN the clean step's job, whose role may list raw/ and clean/ only (ListRawAndClean), and a raw day
    lake = stack.output("LakeBucketName")
    stack.client("s3").put_object(Bucket=lake, Key="raw/orders/dt=2026-01-01/part-0.json", Body=b"{}\n")
    job = stack.stack.properties["EtlCleanJob"]["Name"]
    stack.client("glue").start_job_run(JobName=job, Arguments={"--run_date": "2026-01-01"})
    # WHEN the local Glue carries the run out
    stack.glue.run_new()
    # THEN nothing the job's role is refused is a call Glue's job would not make: in AWS the step reads
    # its own prefixes through Spark; it never lists the whole bucket (s3:ListBucket without s3:prefix)
    refused = [u for u in stack.iam_ledger.uses if u.principal == "EtlCleanJob" and not u.allowed]
    assert not [u for u in refused if u.action == "s3:ListBucket"], refused


def test_the_firehose_invokes_its_transform_as_its_role(stack: LocalStack) -> None:
    # GIVEN a click on the stream, which the delivery stream hands to its transform function
    stream = stack.output("ClickstreamStreamName")
    stack.client("kinesis").put_record(StreamName=stream, Data=b'{"not": "a click"}', PartitionKey="k")
    # WHEN the local Firehose delivers
    stack.firehose.flush()
    # THEN the invocation was authorised as the delivery stream's role, as Firehose's is in AWS (Firehose
    # Developer Guide, "Grant Firehose access to ... Lambda": lambda:InvokeFunction on the transform);
    # without it, removing InvokeTheTransform* from ClickstreamFirehoseRole still transforms locally
    transform = stack.stack.attr("FirehoseTransformFunction", "Arn")
    invoked = [u for u in stack.iam_ledger.uses if u.action == "lambda:InvokeFunction"]
    assert [(u.principal, u.resource.startswith(transform)) for u in invoked] == [("ClickstreamDeliveryStream", True)]


def test_a_topic_delivers_to_a_function_only_as_its_permission_allows(stack: LocalStack) -> None:
    # GIVEN an alarm published on the alert topic, to which the Slack notifier is subscribed
    message = our_event("slack_notifier/sns_alarm_web_5xx.json")["Records"][0]["Sns"]["Message"]
    stack.client("sns").publish(TopicArn=stack.output("AlertTopicArn"), Message=message)
    # WHEN the local router delivers it
    stack.deliver_pending()
    # THEN sns.amazonaws.com's lambda:InvokeFunction was judged against the function's resource policy (the
    # SAM-generated AWS::Lambda::Permission, with its SourceArn), as docs/design/iam-enforced-locally.md 4.5
    # says and as Lambda does ("Granting function access to AWS services"); nothing records that it was
    notifier = stack.stack.attr("SlackNotifierFunction", "Arn")
    assert [u for u in stack.iam_ledger.uses if u.action == "lambda:InvokeFunction" and u.resource == notifier]
