"""The Glue service, locally: job runs started on moto are carried out here.

moto records `StartJobRun` and reports every run as succeeded without running anything.
The local stack looks for new runs after each delivery round and carries each out with the
job's local counterpart, chosen by its script, then puts on EventBridge what Glue would:
the job's state change and, for data-quality jobs, the evaluation results.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq

from local_stack.provision import Stack
from shoplake.quality.dqdl import Evaluation, evaluate

LocalJob = Callable[["GlueRunner", str, dict[str, str]], list[dict[str, Any]]]


def _event(source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}


def read_parquet_prefix(s3: Any, s3_path: str) -> pa.Table:
    """Every Parquet file under an s3:// prefix, as one table."""
    bucket, _, prefix = s3_path.removeprefix("s3://").partition("/")
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if item["Key"].endswith(".parquet")
    ]
    tables = [pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) for key in keys]
    return pa.concat_tables(tables, promote_options="default") if tables else pa.table({})


def data_quality_results(
    job_name: str, run_id: str, context: str, ruleset: str, evaluation: Evaluation
) -> dict[str, Any]:
    """What Glue Data Quality puts on EventBridge after a job evaluated a ruleset."""
    return {
        "context": {"contextType": "GLUE_JOB", "jobName": job_name, "jobId": run_id, "evaluationContext": context},
        "resultID": f"dqresult-{uuid.uuid4().hex[:20]}",
        "rulesetNames": [ruleset],
        "state": "SUCCEEDED",
        "score": evaluation.score,
        "rulesSucceeded": len(evaluation.results) - len(evaluation.failed),
        "rulesFailed": len(evaluation.failed),
        "rulesSkipped": 0,
    }


def survey_quality_check(runner: GlueRunner, run_id: str, arguments: dict[str, str]) -> list[dict[str, Any]]:
    from glue.survey_quality_check import evaluation_context  # noqa: PLC0415 - the job's own naming

    ruleset_name = arguments["--ruleset_name"]
    table = read_parquet_prefix(runner.session.client("s3"), arguments["--input_path"])
    evaluation = evaluate(table, runner.ruleset(ruleset_name))
    runner.evaluations.append((arguments["--input_path"], evaluation))
    context = evaluation_context(arguments["--table"], arguments["--input_path"])
    detail = data_quality_results(arguments["JOB_NAME"], run_id, context, ruleset_name, evaluation)
    return [_event("aws.glue-dataquality", "Data Quality Evaluation Results Available", detail)]


LOCAL_JOBS: dict[str, LocalJob] = {"glue/survey_quality_check.py": survey_quality_check}


@dataclass
class GlueRunner:
    session: boto3.Session
    stack: Stack
    done: set[str] = field(default_factory=set)
    evaluations: list[tuple[str, Evaluation]] = field(default_factory=list)

    def ruleset(self, name: str) -> str:
        for logical_id in self.stack.logical_ids_of_type("AWS::Glue::DataQualityRuleset"):
            if self.stack.properties[logical_id].get("Name") == name:
                return str(self.stack.properties[logical_id]["Ruleset"])
        raise KeyError(f"no DataQualityRuleset named {name} in the template")

    def run_new(self) -> int:
        """Carry out the job runs started since the last call; returns how many ran."""
        glue, events = self.session.client("glue"), self.session.client("events")
        ran = 0
        for logical_id in self.stack.logical_ids_of_type("AWS::Glue::Job"):
            props = self.stack.properties[logical_id]
            for run in glue.get_job_runs(JobName=props["Name"])["JobRuns"]:
                if run["Id"] in self.done:
                    continue
                self.done.add(run["Id"])
                ran += 1
                job = LOCAL_JOBS.get(props["Command"]["ScriptLocation"])
                arguments = {**props.get("DefaultArguments", {}), **run.get("Arguments", {}), "JOB_NAME": props["Name"]}
                entries, state, message = [], "SUCCEEDED", ""
                try:
                    if job is None:
                        raise NotImplementedError(f"no local counterpart for {props['Command']['ScriptLocation']}")
                    entries = job(self, run["Id"], arguments)
                except Exception as error:  # noqa: BLE001 - a failed run is reported as Glue reports it
                    state, message = "FAILED", f"{type(error).__name__}: {error}"
                detail = {"jobName": props["Name"], "severity": "INFO" if state == "SUCCEEDED" else "ERROR"}
                detail |= {"state": state, "jobRunId": run["Id"], "message": message or "Job run succeeded"}
                entries.append(_event("aws.glue", "Glue Job State Change", detail))
                for entry in entries:
                    entry["Time"] = datetime.now(UTC)
                    entry["Resources"] = []
                events.put_events(Entries=entries)
        return ran
