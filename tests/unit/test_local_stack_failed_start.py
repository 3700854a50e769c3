"""A local stack that fails to come up leaves nothing running: no moto mock, no patch, no environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from moto.core.models import botocore_stubber

from local_stack.stack import LocalStack
from local_stack.template import load_template


def test_a_stack_whose_template_cannot_be_provisioned_stops_what_it_started(tmp_path: Path) -> None:
    # GIVEN the template with one resource pointing at a parameter it does not declare
    template = dict(load_template())
    template["Resources"] = {"Broken": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Missing"}}}}
    environment = dict(os.environ)
    assert not botocore_stubber.enabled
    # WHEN the stack is brought up, and provisioning fails
    with pytest.raises(Exception, match="Missing"), LocalStack(server=False, template=template, work_dir=tmp_path):
        pass
    # THEN moto no longer intercepts boto3 calls (a later test's real endpoints stay real), and the
    # environment is as it was
    assert not botocore_stubber.enabled
    assert dict(os.environ) == environment
