"""The Glue jobs' library: the deployed code, zipped, published by its content, importable by Glue."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.cloudformation_responses import ResponseReceiver, problems
from local_stack.functions import LambdaContext
from local_stack.template import ROOT
from shoplake import glue_library
from tests.conftest import function_app, our_event

# The tests here start a CloudFormation response receiver on loopback (not in make unit).
pytestmark = pytest.mark.server

BUCKET = "shoplake-dev-glue-scripts-123456789012"


@pytest.fixture
def cloudformation() -> Iterator[ResponseReceiver]:
    """Where the custom resource answers: a local stand-in for the presigned response URL."""
    with ResponseReceiver() as receiver:
        yield receiver


def _publisher() -> ModuleType:
    """The function's handler module, loaded afresh (its boto3 client is made under mock_aws)."""
    module = function_app("glue_library_publisher")
    return module


def _invoke(cloudformation: ResponseReceiver, request_type: str = "Create") -> dict[str, Any]:
    """The function's one answer to CloudFormation's request, checked as CloudFormation reads it."""
    handler = _publisher().lambda_handler
    cloudformation.bodies.clear()
    event = cloudformation.addressed_to(our_event("glue_library/create.json") | {"RequestType": request_type})
    context: Any = LambdaContext("shoplake-dev-glue-library", "arn:aws:lambda:local", 256, 60)
    handler(event, context)
    assert problems(event, cloudformation.bodies) == []
    (answer,) = cloudformation.responses()
    return answer


@mock_aws
def test_the_library_is_published_by_content_and_glue_can_import_it(
    cloudformation: ResponseReceiver, tmp_path: Path
) -> None:
    # GIVEN the Glue scripts bucket
    s3 = boto3.client("s3", region_name="ap-northeast-2")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    # WHEN CloudFormation creates the library resource
    answer = _invoke(cloudformation)
    # THEN it answers SUCCESS with the zip's URI, named by its content
    assert answer["Status"] == "SUCCESS" and answer["LogicalResourceId"] == "GlueLibrary"
    uri = answer["Data"]["Uri"]
    assert uri.startswith(f"s3://{BUCKET}/glue-library/shoplake-") and uri.endswith(".zip")
    library = tmp_path / "library.zip"
    library.write_bytes(s3.get_object(Bucket=BUCKET, Key=uri.split("/", 3)[3])["Body"].read())
    names = zipfile.ZipFile(library).namelist()
    assert "shoplake_etl/steps.py" in names and "shoplake/lake_layout.py" in names
    assert "tzdata/zoneinfo/Asia/Seoul" in names
    assert not [n for n in names if "__pycache__" in n]
    # AND Glue's Python, given only the zip (no site-packages, no system time zone database), imports the
    # job's modules from it, the business time zone included
    probe = "import shoplake_etl.tables, shoplake.business as b; print(shoplake_etl.tables.__file__, b.TIME_ZONE.key)"
    imported = subprocess.run(  # noqa: S603 - this interpreter, on our own zip
        [sys.executable, "-S", "-c", probe],
        env={"PYTHONPATH": str(library), "PYTHONTZPATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    where, zone = imported.stdout.split()
    assert where.startswith(str(library)) and zone == "Asia/Seoul"
    # AND publishing the same code again names the same object
    assert _invoke(cloudformation, "Update")["Data"]["Uri"] == uri


@mock_aws
def test_the_job_scripts_are_published_by_content_beside_the_library(cloudformation: ResponseReceiver) -> None:
    # GIVEN the Glue scripts bucket
    s3 = boto3.client("s3", region_name="ap-northeast-2")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    # WHEN CloudFormation creates the library resource
    data = _invoke(cloudformation)["Data"]
    # THEN each job script is in the scripts bucket, byte for byte, under the key its ScriptLocation names
    for name in glue_library.JOB_SCRIPTS:
        key = data[glue_library.script_attribute(name)]
        assert key.startswith(glue_library.SCRIPTS_PREFIX) and key.endswith(f"/{name}")
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == (ROOT / "glue" / name).read_bytes()
    assert {"NightlyEtlJobKey", "SurveyQualityCheckKey"} <= data.keys()


@mock_aws
def test_a_failure_is_answered_so_the_stack_does_not_hang(cloudformation: ResponseReceiver) -> None:
    # GIVEN no bucket to publish to
    # WHEN CloudFormation creates the library resource
    answer = _invoke(cloudformation)
    # THEN it answers FAILED with the reason
    assert answer["Status"] == "FAILED"
    assert "NoSuchBucket" in answer["Reason"]
