"""`make demo`, whole: every stage runs with IAM enforced, and no principal is refused anything.

The one test that runs the demo as `make demo` does (local_stack.demo.main), so it also checks what
the demo prints about S3 against the deployed layout (tests/s3_layout.py), and leaves its IAM ledger
for `make iam-report` beside the tests' own.
"""

from __future__ import annotations

import pytest

from local_stack import demo
from local_stack.iam.ledger_file import ledger_dir, read_run
from tests.s3_layout import S3_URI, path_problems

# The demo starts moto's server, nginx, the shop and the local Slack, and runs the Glue jobs on Spark.
pytestmark = [pytest.mark.server, pytest.mark.spark]

# Every principal the demo's stages exercise, each as its own role.
DEMO_PRINCIPALS = {
    "SlackNotifierFunction",
    "SurveyParserFunction",
    "SurveyDownloadFunction",
    "GlueLibraryFunction",
    "SurveyQualityJob",
    "EtlExtractJob",
    "EtlCleanJob",
    "EtlCurateJob",
    "EtlQualityJob",
    "EtlPublishJob",
    "NightlyEtlStateMachine",
    "ClickstreamDeliveryStream",
    "AppTaskRole",
}


def test_the_whole_demo_runs_as_the_templates_roles_and_nothing_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    before = set(ledger_dir().glob("*.json"))
    # WHEN the demo runs, every stage
    assert demo.main([]) == 0
    printed = capsys.readouterr().out
    # THEN every request of every principal was allowed, and each principal of its stages made some
    (path,) = set(ledger_dir().glob("*.json")) - before
    uses = read_run(path).uses
    assert [u for u in uses if not u.allowed and u.via != "harness"] == []
    assert {u.principal for u in uses if u.allowed} >= DEMO_PRINCIPALS
    assert "no request of any principal was refused" in printed
    # AND the S3 places it prints are places the stack has
    buckets = {bucket for bucket, _ in S3_URI.findall(printed)}
    assert {"shoplake-dev-surveys-123456789012", "shoplake-dev-lake-123456789012"} <= buckets
    assert path_problems(printed) == []
