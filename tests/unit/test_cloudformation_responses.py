"""The local check of a custom resource's answer: what CloudFormation would refuse, named by field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local_stack.cloudformation_responses import MAX_RESPONSE_BYTES, is_custom_resource_request, problems
from shoplake import cfn_response
from tests.conftest import our_event

REQUEST = our_event("glue_library/create.json")


def _answer(**changes: Any) -> bytes:
    body = json.loads(cfn_response.answer(REQUEST, cfn_response.SUCCESS, physical_id="GlueLibrary-library"))
    body.update(changes)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


def test_the_sample_is_a_custom_resource_request_and_an_alarm_is_not() -> None:
    assert is_custom_resource_request(REQUEST)
    assert not is_custom_resource_request(our_event("slack_notifier/eventbridge_alarm_web_5xx.json"))


def test_shoplakes_own_answers_are_accepted() -> None:
    # GIVEN the answers shoplake.cfn_response writes, for success and for failure
    failed = cfn_response.answer(REQUEST, cfn_response.FAILED, physical_id="x", reason="NoSuchBucket: gone")
    # THEN CloudFormation would take either
    assert problems(REQUEST, [_answer()]) == []
    assert problems(REQUEST, [failed]) == []


@pytest.mark.parametrize(
    ("bodies", "named"),
    [
        ([], "no response arrived"),
        ([_answer(), _answer()], "2 responses arrived"),
        ([b"<Error>not json</Error>"], "not JSON"),
        ([b"[1, 2]"], "not a JSON object"),
        ([_answer(Status="OK")], "field 'Status'"),
        ([_answer(PhysicalResourceId=None)], "field 'PhysicalResourceId'"),
        ([_answer(Status="FAILED", Reason=None)], "field 'Reason'"),
        ([_answer(RequestId="someone-else")], "field 'RequestId'"),
        ([_answer(StackId=None)], "field 'StackId'"),
        ([_answer(Data=["a"])], "field 'Data'"),
        ([_answer(Data={"Uri": "x" * MAX_RESPONSE_BYTES})], f"more than {MAX_RESPONSE_BYTES}"),
    ],
)
def test_what_cloudformation_would_refuse_is_named(bodies: list[bytes], named: str) -> None:
    found = problems(REQUEST, bodies)
    assert found and named in " ".join(found), found
