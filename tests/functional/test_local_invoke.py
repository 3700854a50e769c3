"""`make invoke`: every sample event in events/ runs against the local stack, custom resources included.

A sample lives in events/<function>/ (events/slack_notifier/ is SlackNotifierFunction's); a sample
that stands for an S3 upload names the file to upload first (UPLOADS), as `make invoke UPLOAD=...` does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from local_stack import invoke
from local_stack.template import ROOT, load_template
from tests.conftest import OUR_EVENTS, our_event

# The tests here start moto's server, the local Slack and a CloudFormation response receiver (not in make unit).
pytestmark = pytest.mark.server

SAMPLES = sorted(path.relative_to(OUR_EVENTS).as_posix() for path in OUR_EVENTS.rglob("*.json"))
UPLOADS = {"survey_parser/s3_put_korean_key.json": "survey_parser/sample_survey.xlsx"}
GLUE_LIBRARY = "glue_library/create.json"


def function_of(sample: str) -> str:
    """events/slack_notifier/x.json -> SlackNotifierFunction."""
    folder = sample.split("/", 1)[0]
    return "".join(part.title() for part in folder.split("_")) + "Function"


@pytest.fixture(autouse=True)
def _local_slack(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real Slack is only for a person running `make invoke` with these set.
    monkeypatch.delenv("SHOPLAKE_SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("SHOPLAKE_SLACK_BOT_TOKEN", raising=False)


def test_every_sample_belongs_to_a_function_of_the_template() -> None:
    functions = {
        logical_id
        for logical_id, spec in load_template()["Resources"].items()
        if spec["Type"] == "AWS::Serverless::Function"
    }
    assert SAMPLES
    assert sorted({function_of(sample) for sample in SAMPLES} - functions) == []
    assert all((OUR_EVENTS / upload).is_file() for upload in UPLOADS.values())


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_sample_runs_with_make_invoke(sample: str, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a sample event, and the file its upload stands for
    argv = [function_of(sample), str(OUR_EVENTS / sample)]
    if sample in UPLOADS:
        argv += ["--upload", str(OUR_EVENTS / UPLOADS[sample])]
    # WHEN it is invoked as `make invoke FUNCTION=... EVENT=...` invokes it
    status = invoke.main(argv)
    # THEN the function returns, without an unhandled error
    out = capsys.readouterr().out
    assert status == 0, out
    assert '"errorType"' not in out


def test_a_custom_resource_answers_a_local_receiver_and_the_answer_is_printed() -> None:
    # GIVEN CloudFormation's request to create the Glue library, whose ResponseURL is a real presigned URL
    assert our_event(GLUE_LIBRARY)["ResponseURL"].startswith("https://cloudformation-custom-resource-response-")
    # WHEN `make invoke FUNCTION=GlueLibraryFunction EVENT=events/glue_library/create.json` runs it
    run = subprocess.run(  # noqa: S603 - this interpreter, the command `make invoke` runs
        [sys.executable, "-m", "local_stack.invoke", "GlueLibraryFunction", f"events/{GLUE_LIBRARY}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    # THEN the answer reached the local receiver, and it is shown: SUCCESS with the library's URI
    assert run.returncode == 0, run.stdout + run.stderr
    assert "CloudFormation response: SUCCESS for GlueLibrary (physical id GlueLibrary-library)" in run.stdout
    assert "Data.Uri: s3://shoplake-dev-glue-scripts-123456789012/glue-library/shoplake-" in run.stdout


def test_a_failed_custom_resource_shows_its_reason_and_fails_the_invoke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a request naming a bucket that does not exist (and that the function's role may not write)
    event = our_event(GLUE_LIBRARY)
    event["ResourceProperties"]["Bucket"] = "shoplake-dev-no-such-bucket"
    path = tmp_path / "create.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    # WHEN it is invoked
    status = invoke.main(["GlueLibraryFunction", str(path)])
    # THEN CloudFormation's answer is FAILED, with the reason, and the invoke says so by its status
    out = capsys.readouterr().out
    assert status == 1
    assert "CloudFormation response: FAILED for GlueLibrary" in out
    # (S3 authorises before it looks: a role without a grant on the bucket is refused, as in AWS)
    assert "Reason: AccessDenied" in out
    assert "GlueLibraryFunction is not authorized to perform: s3:PutObject" in out


def test_a_function_that_never_answers_cloudformation_fails_the_invoke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a custom-resource request sent to a function that is not a custom resource
    path = tmp_path / "create.json"
    path.write_text(json.dumps(our_event(GLUE_LIBRARY)), encoding="utf-8")
    # WHEN it is invoked
    status = invoke.main(["SlackNotifierFunction", str(path)])
    # THEN the invoke says CloudFormation would still be waiting
    assert status == 1
    assert "no response arrived: CloudFormation would wait" in capsys.readouterr().out
