"""The core platform's templates hold together: described, wired, tagged, deployed only when asked.

Each template describes itself and every parameter and output, takes the environment name and
tags what it creates; the parent only wires children that exist; the application deploys the
platform only when asked, passing it the alert topic.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from local_stack.template import ROOT, load_template
from tests.infra_core_templates import (
    ALL,
    CHILD_PATHS,
    CHILDREN,
    INFRA,
    PLATFORM,
    REGION,
)

# ---------------------------------------------------------------- the shape of the templates


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_template_describes_itself_and_every_parameter_and_output(name: str) -> None:
    # GIVEN a template of the core platform
    template = ALL[name]
    text = (INFRA / name).read_text(encoding="utf-8")

    # THEN it opens with a folded description paragraph
    assert re.search(r"^Description: >\n", text, re.MULTILINE)
    assert len(template["Description"]) > 100
    # AND every parameter is typed and described, and every output described
    for parameter, spec in template.get("Parameters", {}).items():
        assert spec.get("Type") and spec.get("Description"), parameter
    for output, spec in template.get("Outputs", {}).items():
        assert spec.get("Description"), output


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_template_takes_the_environment_name(name: str) -> None:
    parameter = ALL[name]["Parameters"]["EnvironmentName"]
    assert parameter["AllowedValues"] == ["dev", "prod"]


def _has_environment_tag(properties: dict[str, Any]) -> bool:
    for key in ("Tags", "BackupVaultTags", "BackupPlanTags"):
        tags = properties.get(key)
        if isinstance(tags, dict) and "shoplake:environment" in tags:
            return True
        if isinstance(tags, list) and any(t.get("Key") == "shoplake:environment" for t in tags):
            return True
    return False


@pytest.mark.parametrize("name", sorted(ALL))
def test_everything_that_can_carry_tags_is_tagged_with_its_environment(name: str) -> None:
    # GIVEN the resources of a template whose type takes tags (CloudFormation's own schema says which)
    untagged = []
    for logical_id, spec in ALL[name]["Resources"].items():
        if spec["Type"].startswith("AWS::Serverless::"):
            taggable = True
        else:
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, spec["Type"]).schema
            taggable = bool({"Tags", "BackupVaultTags", "BackupPlanTags"} & set(schema.get("properties", {})))
        props = spec["Properties"]
        if spec["Type"] == "AWS::Backup::BackupPlan":
            props = props["BackupPlan"] | {"BackupPlanTags": props.get("BackupPlanTags")}
        # THEN each of them carries shoplake:environment
        if taggable and not _has_environment_tag(props):
            untagged.append(logical_id)
    assert untagged == []


def test_the_parent_only_wires_children_that_exist_with_parameters_and_outputs_they_declare() -> None:
    # GIVEN the parent template
    for logical_id, spec in PLATFORM["Resources"].items():
        # THEN every resource is a nested application built from a local child template
        assert spec["Type"] == "AWS::Serverless::Application"
        assert CHILD_PATHS[logical_id].is_file()
        child = CHILDREN[logical_id]
        # AND every parameter it passes is one the child declares, and none the child needs is missing
        passed = set(spec["Properties"]["Parameters"])
        declared = set(child["Parameters"])
        required = {name for name, p in child["Parameters"].items() if "Default" not in p}
        assert passed <= declared, logical_id
        assert required <= passed, logical_id
    # AND every child output it reads (!GetAtt Child.Outputs.X) is one that child declares
    text = (INFRA / "platform.yaml").read_text(encoding="utf-8")
    for child_id, output in re.findall(r"!GetAtt (\w+)\.Outputs\.(\w+)", text):
        assert output in CHILDREN[child_id]["Outputs"], f"{child_id}.{output}"


def test_the_parent_exposes_what_the_nightly_etl_glue_connection_needs() -> None:
    outputs = PLATFORM["Outputs"]
    needed = {
        "VpcId",
        "AppSubnetIds",
        "DbSubnetIds",
        "GlueSubnetId",
        "GlueAvailabilityZone",
        "GlueConnectionSecurityGroupId",
        "DatabaseEndpointAddress",
        "DatabaseEndpointPort",
        "DatabaseMasterSecretArn",
    }
    assert needed <= set(outputs)
    assert outputs["DatabaseMasterSecretArn"]["Value"] == {
        "Fn::GetAtt": ["Database", "Outputs.DatabaseMasterSecretArn"]
    }
    assert CHILDREN["Database"]["Outputs"]["DatabaseMasterSecretArn"]["Value"] == {
        "Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]
    }


def test_the_application_deploys_the_platform_only_when_asked_and_passes_it_the_alert_topic() -> None:
    # GIVEN the application's own template
    template = load_template(ROOT / "template.yaml")
    core = template["Resources"]["CorePlatform"]

    # THEN the platform is one nested application, off by default because it costs money
    assert core["Type"] == "AWS::Serverless::Application"
    assert core["Properties"]["Location"] == "infra_core/platform.yaml"
    assert core["Condition"] == "CorePlatformDeployed"
    assert template["Parameters"]["DeployCorePlatform"]["Default"] == "false"
    # AND its alarms and backups report to the alert topic, which reaches Slack
    passed = core["Properties"]["Parameters"]
    assert passed["AlarmTopicArn"] == {"Ref": "AlertTopic"}
    assert passed["EnvironmentName"] == {"Ref": "EnvironmentName"}
    assert set(passed) <= set(PLATFORM["Parameters"])
    assert set(template["Parameters"]["CorePlatformSizing"]["AllowedValues"]) == set(PLATFORM["Mappings"]["Sizing"])
