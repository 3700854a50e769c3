"""Every principal of the local stack runs as its own role, as `sam deploy` and the services would run it.

The roles are the translated template's (SAM's generated ones too), created in moto's IAM; each principal's
calls are signed with its assumed role's keys, which the ledger maps back to the principal.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

from local_stack.iam.sam_iam import generated_iam
from local_stack.slack_sink import SlackSink
from local_stack.stack import LocalStack

# The tests here start the local Slack on loopback (not in make unit).
pytestmark = pytest.mark.server

WHO_AM_I = """
import boto3

sts = boto3.client("sts")  # made once, at import, as a handler's module-level client is


def handler(event, context):
    return sts.get_caller_identity()["Arn"]
"""


def _used(stack: LocalStack, principal: str) -> set[str]:
    return {use.action for use in stack.iam_ledger.uses if use.principal == principal}


def test_every_translated_role_exists_in_iam_with_its_policies(stack: LocalStack) -> None:
    # GIVEN the roles and policies of the translated template (SAM's generated function roles among them)
    # (those whose Condition holds in dev: the Chatbot role is made only with a Slack workspace id)
    roles = {
        k
        for k, v in generated_iam(stack.stack.translated).items()
        if v["Type"] == "AWS::IAM::Role" and ("Condition" not in v or stack.stack.resolver.condition(v["Condition"]))
    }
    assert {"SlackNotifierFunctionRole", "NightlyEtlStateMachineRole", "NightlyEtlStateMachineNightlyRole"} <= roles
    iam = stack.client("iam")
    for logical_id in roles:
        # WHEN moto's IAM is asked for each THEN it holds the role, its inline policies and its customer managed ones
        made = stack.stack.roles.roles[logical_id]
        assert iam.get_role(RoleName=made.name)["Role"]["Arn"] == made.arn
        assert made.name == f"shoplake-dev-{logical_id}"[:64]
        assert set(iam.list_role_policies(RoleName=made.name)["PolicyNames"]) == set(made.inline)
        attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=made.name)["AttachedPolicies"]}
        assert attached == {arn for arn in made.managed if ":aws:policy/" not in arn}
        assert made.boundary == stack.stack.ref("ApplicationRoleBoundary")


def test_each_principal_has_its_role_policies_and_the_application_boundary(stack: LocalStack) -> None:
    # WHEN the notifier's principal is read THEN it names its role's inline and managed documents, resolved
    notifier = stack.principals.principal("SlackNotifierFunction")
    names = [name for name, _ in notifier.policies]
    assert "SlackNotifierFunctionRolePolicy0" in names
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in names
    assert "Fn::" not in json.dumps([doc for _, doc in notifier.policies])
    assert notifier.boundary is not None and notifier.boundary["Statement"]
    assert notifier.session_arn.endswith(":assumed-role/shoplake-dev-SlackNotifierFunctionRole/SlackNotifierFunction")


def test_two_functions_invoked_in_turn_each_sign_as_their_own_role(stack: LocalStack, tmp_path: Path) -> None:
    # GIVEN two functions whose module-level client asks STS who it is
    (tmp_path / "who").mkdir()
    (tmp_path / "who" / "app.py").write_text(WHO_AM_I, encoding="utf-8")
    names = ("SlackNotifierFunction", "SurveyParserFunction")
    probes = [
        dataclasses.replace(stack.functions[n], handler_path=tmp_path / "who" / "app.py", handler_name="handler")
        for n in names
    ]
    # WHEN each is invoked in turn (the second after the first made the default session)
    arns = [probe.invoke({}) for probe in probes]
    # THEN each signed with its own role's keys, not the other's and not the harness's
    assert arns == [stack.principals.principal(n).session_arn for n in names]
    assert all(_used(stack, n) == {"sts:GetCallerIdentity"} for n in names)


def test_a_state_machine_task_signs_as_the_state_machine_role(stack: LocalStack) -> None:
    # GIVEN a state machine running as NightlyEtlStateMachine's role, with one DynamoDB task
    role = stack.principals.principal("NightlyEtlStateMachine").role_arn
    table = stack.stack.ref("EtlDayLockTable")
    definition = {
        "StartAt": "Read",
        "States": {
            "Read": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:getItem",
                "Parameters": {"TableName": table, "Key": {"run_date": {"S": "2026-11-30"}}},
                "End": True,
            }
        },
    }
    sfn = stack.client("stepfunctions")
    machine = sfn.create_state_machine(name="probe", definition=json.dumps(definition), roleArn=role)
    # WHEN it runs
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    # THEN its DynamoDB call was signed as the state machine's role
    assert sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
    assert "dynamodb:GetItem" in _used(stack, "NightlyEtlStateMachine")


def test_a_glue_job_run_signs_as_its_job_role(stack: LocalStack) -> None:
    # GIVEN a run of the survey quality job, on a prefix that holds nothing
    job = stack.stack.properties["SurveyQualityJob"]["Name"]
    lake = stack.output("LakeBucketName")
    stack.client("glue").start_job_run(JobName=job, Arguments={"--input_path": f"s3://{lake}/surveys/nothing/"})
    # WHEN the local Glue carries it out
    stack.glue.run_new()
    # THEN the job's own reads were signed as its role, the runner's bookkeeping as the harness
    assert "s3:ListBucket" in _used(stack, "SurveyQualityJob")
    assert "glue:GetJobRuns" not in _used(stack, "SurveyQualityJob")


def test_the_firehose_reads_and_writes_as_its_role(stack: LocalStack) -> None:
    # GIVEN a click on the stream
    stream = stack.output("ClickstreamStreamName")
    stack.client("kinesis").put_record(StreamName=stream, Data=b'{"not": "a click"}', PartitionKey="k")
    # WHEN the local Firehose delivers
    stack.firehose.flush()
    # THEN it read Kinesis and wrote S3 as the delivery stream's role
    assert {"kinesis:GetRecords", "s3:PutObject"} <= _used(stack, "ClickstreamDeliveryStream")


def test_a_template_given_as_a_dict_replaces_the_file(tmp_path: Path) -> None:
    # GIVEN the template with one statement removed from the notifier's policies
    from local_stack.template import load_template  # noqa: PLC0415

    template = load_template()
    policies = template["Resources"]["SlackNotifierFunction"]["Properties"]["Policies"]
    removed = policies.pop()
    # WHEN the stack runs it
    with SlackSink() as sink, LocalStack(slack_sink=sink, server=False, work_dir=tmp_path, template=template) as s:
        documents = json.dumps([doc for _, doc in s.principals.principal("SlackNotifierFunction").policies])
    # THEN the notifier's role holds one policy fewer
    assert len(policies) >= 1
    assert json.dumps(removed) not in documents


def test_the_shops_app_task_signs_as_its_task_role_from_the_nested_platform(stack: LocalStack) -> None:
    # GIVEN the task roles of infra_core/compute.yaml, resolved down the CorePlatform chain
    app = stack.principals.principal("AppTaskRole")
    assert {"WebTaskRole", "MigrationTaskRole"} <= set(stack.principals.names())
    assert "stream/shoplake-dev-clickstream" in json.dumps(app.policies)
    # WHEN the shop's code sends a click with its client
    stack.task_client("kinesis").put_records(
        StreamName=stack.output("ClickstreamStreamName"), Records=[{"Data": b"{}", "PartitionKey": "k"}]
    )
    # THEN it signed as the app task's role, under the application's boundary
    assert _used(stack, "AppTaskRole") == {"kinesis:PutRecords"}
    assert app.boundary is not None
