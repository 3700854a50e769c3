"""moto's Step Functions parses each valid definition once a process; a bad one is refused every time."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from local_stack.moto_asl import validate_definitions_once
from local_stack.provision import ACCOUNT_ID, REGION

ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/shoplake-test-sfn"
GOOD = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
BAD = json.dumps({"StartAt": "Nowhere", "States": {"Done": {"Type": "Succeed", "Next": 3}}})


def test_a_definition_is_parsed_once_and_a_bad_one_refused_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    validate_definitions_once()
    validate_definitions_once()  # idempotent: one patch, not two
    parsed: list[str] = []
    parse = AmazonStateLanguageParser.parse

    def counting(definition: str) -> Any:
        parsed.append(definition)
        return parse(definition)

    monkeypatch.setattr(AmazonStateLanguageParser, "parse", staticmethod(counting))
    unique = GOOD.replace("Done", "Done-once")  # a text no other test has validated in this process
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # the parser backend, as the stack has
        client = boto3.client("stepfunctions", region_name=REGION)
        # WHEN two machines share a definition, and a bad definition is sent twice
        client.create_state_machine(name="first", definition=unique, roleArn=ROLE)
        client.create_state_machine(name="second", definition=unique, roleArn=ROLE)
        for _ in range(2):
            with pytest.raises(ClientError, match="ASLParserException"):
                client.create_state_machine(name="bad", definition=BAD, roleArn=ROLE)
    # THEN the good one was parsed once for validation, and the bad one each time (and never kept)
    assert parsed.count(unique) == 1
    assert parsed.count(BAD) == 2
