"""The core platform watched and delivered.

Every alarm tells Slack and links its runbook section; the pipelines build from GitHub and deploy
the images and this application; the app tier may do only what it needs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.template import ROOT, load_template
from tests.infra_core_templates import (
    CHILDREN,
    PLATFORM,
    as_list,
    resources_of,
    statements,
)

# ---------------------------------------------------------------- watched


MONITORING = CHILDREN["Monitoring"]
ALARMS = resources_of(MONITORING, "AWS::CloudWatch::Alarm")
RUNBOOK = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("logical_id", sorted(ALARMS))
def test_every_alarm_tells_the_alarm_topic_and_links_its_runbook_section(logical_id: str) -> None:
    # GIVEN an alarm of the platform
    props = ALARMS[logical_id]["Properties"]
    section = props["AlarmName"]["Fn::Sub"].removeprefix("shoplake-${EnvironmentName}-")

    # THEN it tells the alarm topic (hence Slack) when it fires and when it clears
    assert props["AlarmActions"] == [{"Ref": "AlarmTopicArn"}]
    assert props["OKActions"] == [{"Ref": "AlarmTopicArn"}]
    # AND its description links to the runbook's section of the same name, which exists
    assert props["AlarmDescription"]["Fn::Sub"].endswith(f"Runbook: ${{RunbookUrl}}#{section}")
    assert f"\n### {section}\n" in RUNBOOK
    body = RUNBOOK.split(f"\n### {section}\n", 1)[1].split("\n### ", 1)[0]
    assert "**Means**" in body
    assert "**Check**" in body
    assert "**Do**" in body


def test_the_alarms_cover_what_the_original_design_watches() -> None:
    watched = {(p["Properties"]["Namespace"], p["Properties"]["MetricName"]) for p in ALARMS.values()}
    assert {
        ("AWS/ECS", "CPUUtilization"),
        ("AWS/ECS", "MemoryUtilization"),
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("AWS/ApplicationELB", "UnHealthyHostCount"),
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/RDS", "ReplicaLag"),
    } <= watched
    assert resources_of(MONITORING, "AWS::CloudWatch::Dashboard")


# ---------------------------------------------------------------- deployed by pipeline


def test_pipelines_are_v2_read_github_through_codeconnections_and_are_named_for_the_notifier() -> None:
    cicd = CHILDREN["Cicd"]
    pipelines = resources_of(cicd, "AWS::CodePipeline::Pipeline")
    assert len(pipelines) == 2
    for spec in pipelines.values():
        props = spec["Properties"]
        assert props["PipelineType"] == "V2"
        # The application's EventBridge rule sends pipelines named shoplake-<env>-* to Slack.
        assert props["Name"]["Fn::Sub"].startswith("shoplake-${EnvironmentName}-")
        source = props["Stages"][0]["Actions"][0]
        assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
        assert source["Configuration"]["ConnectionArn"] == {"Ref": "GitHubConnection"}
    assert cicd["Resources"]["GitHubConnection"]["Type"] == "AWS::CodeConnections::Connection"


def test_one_pipeline_deploys_images_to_ecs_and_one_deploys_this_sam_application() -> None:
    cicd = CHILDREN["Cicd"]
    services = cicd["Resources"]["ServicesPipeline"]["Properties"]["Stages"]
    providers = [a["ActionTypeId"]["Provider"] for stage in services for a in stage["Actions"]]
    assert providers.count("ECS") == 2
    builds = resources_of(cicd, "AWS::CodeBuild::Project")
    buildspecs = {Path(b["Properties"]["Source"]["BuildSpec"]) for b in builds.values()}
    texts = [(ROOT / path).read_text(encoding="utf-8") for path in buildspecs]
    assert any("docker push" in text and "imagedefinitions" in text for text in texts)
    assert any("sam deploy" in text and "make build" in text for text in texts)


def test_the_app_tier_sends_the_clickstream_signs_photo_uploads_logs_in_to_its_database_mails_and_nothing_more() -> (
    None
):
    # GIVEN the compute child, as the parent wires it
    compute = CHILDREN["Compute"]
    wired = PLATFORM["Resources"]["Compute"]["Properties"]["Parameters"]
    assert wired["ClickstreamStreamName"] == {"Ref": "ClickstreamStreamName"}
    assert wired["ProductImagesBucketName"] == {"Fn::GetAtt": ["Edge", "Outputs.ProductImagesBucketName"]}
    parent = load_template()["Resources"]["CorePlatform"]["Properties"]["Parameters"]
    assert parent["ClickstreamStreamName"] == {"Ref": "ClickstreamStream"}
    # THEN the app's containers are told where to send events and photos, and may do just that
    (app,) = compute["Resources"]["AppTaskDefinition"]["Properties"]["ContainerDefinitions"]
    names = {e["Name"] for e in app["Environment"]}
    assert {"SHOP_CLICKSTREAM_STREAM", "SHOP_IMAGE_BUCKET", "SHOP_MAIL_FROM", "SHOP_PUBLIC_URL"} <= names
    (policy,) = compute["Resources"]["AppTaskRole"]["Properties"]["Policies"]
    allowed = {a for s in statements(policy["PolicyDocument"]) for a in as_list(s["Action"])}
    assert allowed == {"kinesis:PutRecords", "s3:PutObject", "rds-db:connect", "ses:SendEmail"}
    # AND it mails as the one SES identity, from the one address, as the parent names them
    (mail,) = [s for s in statements(policy["PolicyDocument"]) if s["Action"] == "ses:SendEmail"]
    assert mail["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailIdentityName}"
    }
    assert mail["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "MailFromAddress"}}}
    assert parent["MailFromAddress"] == {"Ref": "CoreMailFromAddress"}
    (web,) = compute["Resources"]["WebTaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert "IMAGE_BASE_URL" in {e["Name"] for e in web["Environment"]}
