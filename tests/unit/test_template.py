"""What template.yaml promises, checked where lint cannot: runtime, logs, failure paths, reasons."""

from __future__ import annotations

import re
from typing import Any

import pytest

from local_stack.template import ROOT, function_properties, load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = sorted(k for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function")
SUPPORTED_RUNTIMES = {"python3.12", "python3.13"}


def test_globals_set_a_supported_runtime_arm64_tracing_and_powertools() -> None:
    function = TEMPLATE["Globals"]["Function"]
    assert function["Runtime"] in SUPPORTED_RUNTIMES
    assert function["Architectures"] == ["arm64"]
    assert function["Tracing"] == "Active"
    variables = function["Environment"]["Variables"]
    assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"} <= set(variables)


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_function_logs_to_a_group_with_retention(logical_id: str) -> None:
    props = function_properties(TEMPLATE, logical_id)
    group = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup"
    assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_function_uses_the_shared_layer(logical_id: str) -> None:
    assert {"Ref": "SharedLayer"} in function_properties(TEMPLATE, logical_id)["Layers"]


def test_undeliverable_alerts_are_kept_and_watched() -> None:
    props = RESOURCES["SlackNotifierFunction"]["Properties"]
    destination = props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": ["AlertDeadLetterQueue", "Arn"]}
    alarm = RESOURCES["AlertDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["AlertDeadLetterQueue", "QueueName"]}
    assert alarm["Threshold"] == 1


def test_dedupe_records_expire() -> None:
    table = RESOURCES["IdempotencyTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_the_slack_credential_never_appears_in_the_template() -> None:
    text = str(TEMPLATE)
    assert not re.search(r"hooks\.slack\.com/services/T\w+", text)
    assert not re.search(r"xox[abp]-\d+-", text)


def _skips(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "checkov":
                found.extend(value.get("skip", []))
            else:
                found.extend(_skips(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_skips(value))
    return found


def test_every_checkov_skip_carries_a_reason() -> None:
    skips = _skips(RESOURCES)
    assert skips
    assert all(len(skip.get("comment", "")) > 20 for skip in skips)


def test_every_parameter_and_output_is_typed_and_described() -> None:
    for name, spec in TEMPLATE["Parameters"].items():
        assert spec.get("Type") and spec.get("Description"), name
    for name, spec in TEMPLATE["Outputs"].items():
        assert spec.get("Description"), name


def test_the_deploy_manual_explains_every_parameter_a_deployer_is_asked_for() -> None:
    # GIVEN the parameter table of docs/deploy.md (the README links it)
    manual = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    table = [line for line in manual.splitlines() if line.startswith("| `")]
    # THEN every parameter of the stack has a row, and every row names a real parameter
    listed = {name for line in table for name in re.findall(r"`([A-Za-z0-9]+)`", line.split("|")[1])}
    assert sorted(set(TEMPLATE["Parameters"]) - listed) == []
    assert sorted(listed - set(TEMPLATE["Parameters"])) == []
