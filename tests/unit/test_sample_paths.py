"""Every S3 path a sample event shows is a place the deployed stack has (tests/s3_layout.py).

A sample that names `s3://shoplake-dev-lake/survey/inbox/...` teaches a layout that does not
exist: the buckets are `shoplake-<env>-<purpose>-<account>`, and the survey bucket holds
inbox/, processed/ and quarantine/ while the lake holds surveys/, clickstream/, curated/, ...
"""

from __future__ import annotations

import json

import pytest

from shoplake.s3_notifications import objects_created
from tests.conftest import OUR_EVENTS
from tests.s3_layout import layout_problem, path_problems, strings_in

SAMPLES = sorted(path.relative_to(OUR_EVENTS).as_posix() for path in OUR_EVENTS.rglob("*.json"))


@pytest.mark.parametrize(
    "path",
    [
        "s3://shoplake-dev-surveys-123456789012/inbox/2026-11 설문.xlsx",
        "s3://shoplake-prod-surveys-123456789012/quarantine/a.csv.report.json",
        "s3://shoplake-dev-lake-123456789012/surveys/survey_offline_ads/year=2026/month=11/day=24/part-1.parquet",
        "s3://shoplake-dev-lake-123456789012/curated/sales_fact/",
        "s3://shoplake-dev-lake-123456789012/",
        "s3://shoplake-dev-glue-scripts-123456789012/glue-library/shoplake-0123456789abcdef.zip",
    ],
)
def test_the_deployed_places_pass(path: str) -> None:
    assert path_problems(path) == []


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("s3://shoplake-dev-lake/survey/inbox/a.xlsx", "no bucket of template.yaml is named 'shoplake-dev-lake'"),
        ("s3://shoplake-dev-lake-123456789012/survey/quarantine/a.xlsx", "LakeBucket holds surveys/"),
        ("s3://shoplake-dev-surveys-123456789012/surveys/t/a.parquet", "SurveyBucket holds inbox/"),
        ("s3://shoplake-test-surveys-123456789012/inbox/a.xlsx", "no bucket"),
        ("s3://shoplake-dev-access-logs-123456789012/x", "AccessLogsBucket holds nothing a sample should show"),
        ("the bucket shoplake-dev-survey-123456789012", "no bucket of template.yaml is named so"),
    ],
)
def test_a_place_the_stack_does_not_have_is_named(path: str, named: str) -> None:
    (problem,) = path_problems(path)
    assert named in problem


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_s3_path_in_a_sample_event_follows_the_real_layout(sample: str) -> None:
    # GIVEN a sample event, and the JSON documents inside it (an SNS message is one)
    event = json.loads((OUR_EVENTS / sample).read_text(encoding="utf-8"))
    # THEN every s3:// path and bucket name it shows is one the deployed stack has
    assert [problem for text in strings_in(event) for problem in path_problems(text)] == []
    # AND so is every object an S3 notification in it announces
    for created in objects_created(event):
        assert layout_problem(created.bucket, created.key) is None
