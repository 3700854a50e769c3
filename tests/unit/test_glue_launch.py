"""A new partition starts its quality check with the partition's S3 path."""

from __future__ import annotations

import re

import boto3
import pytest
from moto import mock_aws

from local_stack.template import load_template
from shoplake.glue_launch import UnknownJob, partition_prefix, start_named_job, start_quality_check

KEY = "surveys/survey_offline_ads/year=2026/month=11/day=23/part-f225e615a97e3e7e66b7.parquet"


def test_the_partition_of_a_new_file_is_its_folder() -> None:
    assert partition_prefix(KEY) == ("survey_offline_ads", "surveys/survey_offline_ads/year=2026/month=11/day=23/")


@pytest.mark.parametrize(
    "key", ["survey_rejects/survey_offline_ads/x.json", "surveys/survey_offline_ads/part-x.parquet"]
)
def test_a_file_outside_a_day_partition_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match=key.split("/", maxsplit=1)[0]):
        partition_prefix(key)


@mock_aws
def test_the_job_gets_the_partition_path_table_and_the_object_that_started_it() -> None:
    glue = boto3.client("glue")
    glue.create_job(Name="quality", Role="arn:aws:iam::123456789012:role/glue", Command={"Name": "glueetl"})
    run = start_quality_check(glue, "quality", "lake", KEY)
    arguments = glue.get_job_run(JobName="quality", RunId=run.run_id)["JobRun"]["Arguments"]
    assert arguments == {
        "--input_path": "s3://lake/surveys/survey_offline_ads/year=2026/month=11/day=23/",
        "--table": "survey_offline_ads",
        "--partition_object": f"s3://lake/{KEY}",
    }


@mock_aws
def test_a_named_job_starts_with_its_arguments_and_others_are_refused() -> None:
    glue = boto3.client("glue")
    glue.create_job(Name="shoplake-dev-survey-quality", Role="arn:aws:iam::123456789012:role/g", Command={"Name": "x"})
    known = {"survey-quality": "shoplake-dev-survey-quality"}
    run = start_named_job(glue, known, "survey-quality", {"input_path": "s3://lake/p/", "--table": "t"})
    arguments = glue.get_job_run(JobName=run["job_name"], RunId=run["run_id"])["JobRun"]["Arguments"]
    assert arguments == {"--input_path": "s3://lake/p/", "--table": "t"}
    with pytest.raises(UnknownJob, match="'drop-everything' is not one of shoplake's Glue jobs: survey-quality"):
        start_named_job(glue, known, "drop-everything", {})


def test_the_launcher_may_start_only_the_survey_check_never_a_nightly_etl_job() -> None:
    # GIVEN the template's launcher and its Glue jobs
    resources = load_template()["Resources"]
    launcher = resources["GlueLauncherFunction"]["Properties"]
    etl_jobs = {n for n, spec in resources.items() if spec["Type"] == "AWS::Glue::Job"} - {"SurveyQualityJob"}
    assert {"EtlPublishJob", "EtlExtractJob"} <= etl_jobs
    # THEN its GLUE_JOBS names the survey check only: the ETL's jobs run under the state machine's day lock ...
    named = re.findall(r"\$\{(\w+)\}", launcher["Environment"]["Variables"]["GLUE_JOBS"]["Fn::Sub"])
    assert named == ["SurveyQualityJob"]
    # ... and its role may start that job, and no other
    statements = [s for p in launcher["Policies"] if "Statement" in p for s in p["Statement"]]
    starting = [s for s in statements if "glue:StartJobRun" in str(s["Action"]) or s["Action"] in ("glue:*", "*")]
    (statement,) = starting
    allowed = {re.search(r"job/\$\{(\w+)\}", r["Fn::Sub"])[1] for r in statement["Resource"]}  # type: ignore[index]
    assert allowed == {"SurveyQualityJob"}


def test_one_publish_at_a_time_whoever_starts_it() -> None:
    # GIVEN the publish job; THEN Glue itself refuses a second concurrent run (two runs of a day never swap at once)
    publish = load_template()["Resources"]["EtlPublishJob"]["Properties"]
    assert publish["ExecutionProperty"]["MaxConcurrentRuns"] == 1
