"""What template.yaml declares for Slack threads: the thread table, the sweep, the interactivity endpoint, grants."""

from __future__ import annotations

import json
from typing import Any

from local_stack.template import function_properties, load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
THREAD_ENV = {
    "THREAD_TABLE_NAME": {"Ref": "AlertThreadTable"},
    "FLAP_CHANGES": {"Ref": "AlertFlapChanges"},
    "FLAP_WINDOW_MINUTES": {"Ref": "AlertFlapWindowMinutes"},
    "REANNOUNCE_AFTER_MINUTES": {"Ref": "CriticalReannounceMinutes"},
}


def _statements(function: str) -> list[dict[str, Any]]:
    return [s for p in function_properties(TEMPLATE, function)["Policies"] for s in p.get("Statement", [])]


def _table_actions(function: str) -> set[str]:
    return {
        action
        for statement in _statements(function)
        if statement["Resource"] == {"Fn::GetAtt": ["AlertThreadTable", "Arn"]}
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }


def test_the_thread_table_is_keyed_by_thread_expires_and_is_encrypted_and_recoverable() -> None:
    props = RESOURCES["AlertThreadTable"]["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "thread_key", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "thread_key", "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["KMSMasterKeyId"] == {"Ref": "AlertingKey"}


def test_the_notifier_and_the_interactivity_function_read_the_same_thread_settings() -> None:
    for function in ("SlackNotifierFunction", "SlackInteractionsFunction"):
        variables = function_properties(TEMPLATE, function)["Environment"]["Variables"]
        assert {k: variables[k] for k in THREAD_ENV} == THREAD_ENV, function
    for parameter, default in (
        ("AlertFlapChanges", 6),
        ("AlertFlapWindowMinutes", 30),
        ("CriticalReannounceMinutes", 30),
    ):
        assert TEMPLATE["Parameters"][parameter]["Default"] == default


def test_the_notifier_sweeps_every_five_minutes_with_the_sweep_input() -> None:
    sweep = function_properties(TEMPLATE, "SlackNotifierFunction")["Events"]["ThreadSweep"]
    assert sweep["Type"] == "Schedule"
    assert sweep["Properties"]["Schedule"] == "rate(5 minutes)"
    assert json.loads(sweep["Properties"]["Input"]) == {"shoplake": "thread-sweep"}


def test_the_thread_table_grants_are_what_a_conditional_store_and_a_sweep_need_and_no_more() -> None:
    # The store reads an item and puts it back on a condition (versions, replays); only the sweep scans.
    assert _table_actions("SlackNotifierFunction") == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"}
    assert _table_actions("SlackInteractionsFunction") == {"dynamodb:GetItem", "dynamodb:PutItem"}


def test_the_interactivity_endpoint_is_a_public_url_answering_within_slacks_three_seconds() -> None:
    props = function_properties(TEMPLATE, "SlackInteractionsFunction")
    assert props["FunctionUrlConfig"] == {"AuthType": "NONE"}
    assert props["Timeout"] <= 3
    assert props["ReservedConcurrentExecutions"] >= 1
    assert props["CodeUri"] == "functions/slack_interactions"
    # Anyone may invoke it, but only through its URL (its signature check is the authentication)
    permission = RESOURCES["SlackInteractionsInvokeThroughUrl"]["Properties"]
    assert permission["InvokedViaFunctionUrl"] is True and permission["Action"] == "lambda:InvokeFunction"
    # AND the stack outputs the URL for the Slack app's interactivity settings
    url = TEMPLATE["Outputs"]["SlackInteractivityUrl"]["Value"]
    assert url == {"Fn::GetAtt": ["SlackInteractionsFunctionUrl", "FunctionUrl"]}
    # AND the URL's skip of checkov's "URL with auth" names the signature
    skips = {s["id"]: s["comment"] for s in RESOURCES["SlackInteractionsFunction"]["Metadata"]["checkov"]["skip"]}
    assert "signature" in skips["CKV_AWS_258"]
