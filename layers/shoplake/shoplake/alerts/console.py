"""Links to the AWS console page where a person can look at what an alert is about.

The console's URL layout is not a documented AWS interface: these links are what the console used when
they were written, and may need updating. Every builder returns None without a region code.
"""

from __future__ import annotations

import re
from urllib.parse import quote

_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")

# The names CloudWatch writes into SNS alarm messages ("Region": "Asia Pacific (Seoul)").
_REGION_NAMES = {
    "US East (N. Virginia)": "us-east-1",
    "US East (Ohio)": "us-east-2",
    "US West (N. California)": "us-west-1",
    "US West (Oregon)": "us-west-2",
    "Canada (Central)": "ca-central-1",
    "South America (Sao Paulo)": "sa-east-1",
    "EU (Ireland)": "eu-west-1",
    "EU (London)": "eu-west-2",
    "EU (Paris)": "eu-west-3",
    "EU (Frankfurt)": "eu-central-1",
    "EU (Stockholm)": "eu-north-1",
    "Asia Pacific (Seoul)": "ap-northeast-2",
    "Asia Pacific (Tokyo)": "ap-northeast-1",
    "Asia Pacific (Singapore)": "ap-southeast-1",
    "Asia Pacific (Sydney)": "ap-southeast-2",
}


def region_code(*candidates: str | None) -> str | None:
    """The first candidate that is, or names, an AWS region code.

    A candidate is a code (`ap-northeast-2`) or one of the region names CloudWatch writes in SNS alarm
    messages (`Asia Pacific (Seoul)`, only those in `_REGION_NAMES`); None when no candidate is either.
    """
    for candidate in candidates:
        if not candidate:
            continue
        if _REGION.match(candidate):
            return candidate
        if candidate in _REGION_NAMES:
            return _REGION_NAMES[candidate]
    return None


def region_of_arn(arn: str | None) -> str | None:
    """The region field of an ARN (`arn:partition:service:region:account:...`), if it holds a region code."""
    parts = (arn or "").split(":")
    return region_code(parts[3]) if len(parts) > 3 else None


def account_of_arn(arn: str | None) -> str | None:
    """The account field of an ARN if it is all digits (a 12-digit account id), else None."""
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def _home(service: str, region: str) -> str:
    return f"https://{region}.console.aws.amazon.com/{service}/home?region={region}"


def cloudwatch_alarm(region: str | None, alarm_name: str) -> str | None:
    """The CloudWatch console page of alarm `alarm_name` (percent-encoded)."""
    if not region:
        return None
    return f"{_home('cloudwatch', region)}#alarmsV2:alarm/{quote(alarm_name, safe='')}"


def codepipeline_execution(region: str | None, pipeline: str, execution_id: str | None) -> str | None:
    """The CodePipeline console page of one execution's timeline, or of the pipeline without an execution id."""
    if not region:
        return None
    base = f"https://{region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/{quote(pipeline)}"
    if execution_id:
        return f"{base}/executions/{execution_id}/timeline?region={region}"
    return f"{base}/view?region={region}"


def glue_job_run(region: str | None, job_name: str, run_id: str | None) -> str | None:
    """The Glue Studio page of one job run (`jr_...`), or of the job's runs without a run id."""
    if not region:
        return None
    tail = f"/run/{run_id}" if run_id else "/runs"
    return f"{_home('gluestudio', region)}#/job/{quote(job_name)}{tail}"


def glue_table_quality(region: str | None, database: str, table: str) -> str | None:
    """The Data quality tab of a Data Catalog table in the Glue console."""
    if not region:
        return None
    view = f"#/v2/data-catalog/tables/view/{quote(table)}?database={quote(database)}&tab=dataQuality"
    return f"{_home('glue', region)}{view}"


def stepfunctions_execution(region: str | None, execution_arn: str) -> str | None:
    """The Step Functions console page of one execution, by its ARN (inserted as is, not encoded)."""
    if not region:
        return None
    return f"{_home('states', region)}#/v2/executions/details/{execution_arn}"


def backup_job(region: str | None, event_type: str, job_id: str | None) -> str | None:
    """The AWS Backup console page of one job, or the jobs list when the type or id is not known.

    `event_type` is the notification's `EventType` attribute: `BACKUP_JOB`, `COPY_JOB` or `RESTORE_JOB`.
    """
    if not region:
        return None
    kind = {"BACKUP_JOB": "backup", "COPY_JOB": "copy", "RESTORE_JOB": "restore"}.get(event_type)
    if kind and job_id:
        return f"{_home('backup', region)}#/jobs/{kind}/details/{job_id}"
    return f"{_home('backup', region)}#/jobs"
