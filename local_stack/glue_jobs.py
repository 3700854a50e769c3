"""The Glue service, locally: job runs started on moto are carried out here.

moto records `StartJobRun` and reports every run as succeeded without running anything.
The local stack looks for new runs after each delivery round (and at once for a state
machine's `.sync` task) and carries each out with the job's local counterpart, chosen by
its script, then puts on EventBridge what Glue would: the job's state change and, for
data-quality jobs, the evaluation results. A failed run ends FAILED in moto too.

Each run's own calls are made as its job's role (`GlueRunner.job_session`); finding runs
and reporting on them is the Glue service's part, made with the runner's session.

The nightly ETL's job runs its own `run_step` on a local SparkSession. Spark cannot reach
moto's S3, so the job works on a directory kept equal to the lake bucket (`LakeMirror`):
the bucket is copied down before the step and what the step changed is copied back.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq

from local_stack.iam.hook import authorize, may_get_object
from local_stack.iam.model import Ledger
from local_stack.iam.principals import Principals
from local_stack.provision import Stack
from shoplake.quality.dqdl import Evaluation, evaluate
from shoplake_etl.night import ShopDatabase

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
    from shoplake_etl.survey_quality import evaluation_context, upload_of_object  # noqa: PLC0415 - the job's own

    ruleset_name = arguments["--ruleset_name"]
    s3 = runner.job_session.client("s3")
    table = read_parquet_prefix(s3, arguments["--input_path"])
    evaluation = evaluate(table, runner.ruleset(ruleset_name))
    runner.evaluations.append((arguments["--input_path"], evaluation))
    upload = upload_of_object(s3, arguments.get("--partition_object"))
    context = evaluation_context(arguments["--table"], arguments["--input_path"], upload)
    detail = data_quality_results(arguments["JOB_NAME"], run_id, context, ruleset_name, evaluation)
    return [_event("aws.glue-dataquality", "Data Quality Evaluation Results Available", detail)]


# What the copy of the lake holds in place of an object the job's role may not read.
DENIED = b"shoplake local IAM: this job's role may not s3:GetObject this object\n"


class LakeMirror:
    """A directory that Spark reads and writes, kept equal to an S3 bucket around each job run."""

    def __init__(
        self,
        s3: Any,
        bucket: str,
        directory: Path,
        *,
        lister: Any = None,
        may_read: Callable[[str], bool] | None = None,
    ) -> None:
        """`s3` reads and writes as the job's role; `lister` (default `s3`) lists the bucket, as Spark's
        file system does before it reads; `may_read(key)` says whether the role may read an object: one
        it may not is copied as a stand-in file (`DENIED`), so Spark fails on it, as it would on AWS."""
        self.s3, self.bucket, self.directory = s3, bucket, directory
        self.lister, self.may_read = lister or s3, may_read
        self.pulled: dict[str, int] = {}
        self.pulled_at = 0.0
        self.denied: set[str] = set()

    def _local(self) -> dict[str, Path]:
        # Spark's checksum files (.part-*.crc) are its own bookkeeping, not the lake's.
        return {
            path.relative_to(self.directory).as_posix(): path
            for path in self.directory.rglob("*")
            if path.is_file() and not path.name.startswith(".")
        }

    def pull(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pulled = {}
        self.denied = set()
        for page in self.lister.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                key, size = item["Key"], item["Size"]
                self.pulled[key] = size
                path = self.directory / key
                path.parent.mkdir(parents=True, exist_ok=True)
                if self.may_read is not None and not self.may_read(key):
                    self.denied.add(key)
                    path.write_bytes(DENIED)
                elif not path.exists() or path.stat().st_size != size or path.read_bytes() == DENIED:
                    self.s3.download_file(self.bucket, key, str(path))
        for key, path in self._local().items():  # gone from the bucket: gone from the copy
            if key not in self.pulled:
                path.unlink()
        self.pulled_at = max([p.stat().st_mtime for p in self._local().values()], default=0.0)

    def push(self) -> int:
        """Copy back what the step wrote and delete what it deleted; returns the objects written."""
        local = self._local()
        written = 0
        for key, path in local.items():
            if key not in self.pulled or path.stat().st_mtime > self.pulled_at:
                self.s3.upload_file(str(path), self.bucket, key)
                written += 1
        for key in self.pulled.keys() - local.keys():
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        return written


def nightly_etl(runner: GlueRunner, run_id: str, arguments: dict[str, str]) -> list[dict[str, Any]]:
    from local_stack.spark import local_spark  # noqa: PLC0415 - Spark starts only for the ETL
    from shoplake_etl.catalog import GlueCatalog  # noqa: PLC0415
    from shoplake_etl.night import NightServices, read_run_date, run_step  # noqa: PLC0415
    from shoplake_etl.steps import run_quality  # noqa: PLC0415

    bucket = arguments["--lake_root"].removeprefix("s3://").split("/")[0]
    mirror = LakeMirror(
        runner.job_session.client("s3"),
        bucket,
        runner.lake_dir,
        lister=runner.session.client("s3"),
        may_read=runner.may_read(bucket),
    )
    mirror.pull()
    spark, lake = local_spark("shoplake-glue"), runner.lake_dir.as_uri() + "/"
    run_date = read_run_date(arguments["--run_date"])

    def database() -> ShopDatabase:
        if runner.shop_database is None:
            raise RuntimeError("the local stack has no shop database (GlueRunner.shop_database)")
        return runner.shop_database

    def evaluate_rulesets(names: dict[str, str], run_id: str) -> dict[str, int]:
        # The deployed text; run_quality adds the rules composed from shoplake.business (night_ruleset), as Glue's does.
        texts = {table: runner.ruleset(name) for table, name in names.items()}
        return run_quality(spark, lake, run_date, texts, run_id=run_id)

    def in_the_catalog() -> GlueCatalog:
        # The catalog names the bucket's objects, which the mirror is about to upload.
        return GlueCatalog(runner.job_session.client("glue"), arguments["--database"], f"s3://{bucket}/")

    options = {name.removeprefix("--"): value for name, value in arguments.items()}
    services = NightServices(database, evaluate_rulesets, in_the_catalog)
    try:
        result = run_step(spark, options["step"], run_date, lake, options, services)
    except Exception as error:
        runner.refuse_denied_reads(bucket, mirror.denied, str(error))
        raise
    runner.results[run_id] = {"job": arguments["JOB_NAME"], "step": options["step"], "result": result}
    mirror.push()
    return []


LOCAL_JOBS: dict[str, LocalJob] = {
    "glue/survey_quality_check.py": survey_quality_check,
    "glue/nightly_etl_job.py": nightly_etl,
}


@dataclass
class GlueRunner:
    session: boto3.Session
    stack: Stack
    # The nightly ETL's Spark works on this copy of the lake bucket, and extracts from this database.
    lake_dir: Path
    shop_database: ShopDatabase | None = None
    done: set[str] = field(default_factory=set)
    evaluations: list[tuple[str, Evaluation]] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # run id -> its job, step and result
    failures: dict[str, str] = field(default_factory=dict)  # run id -> error message
    # A Parallel state's branches start runs from several threads: runs are carried out one at a
    # time, and a branch goes on only once no run it could be waiting for is still going.
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Each run's own calls (the lake, the catalog) sign as its job's role, when the stack has principals.
    principals: Principals | None = None
    iam_ledger: Ledger | None = None
    keys: Mapping[str, str] = field(default_factory=dict)  # resource ARN -> its KMS key ARN (local_stack.iam.keys)
    _job_session: boto3.Session | None = None
    _job_principal: str | None = None

    def may_read(self, bucket: str) -> Callable[[str], bool] | None:
        """Whether the running job's role may read an object of `bucket` (None: no principals, all)."""
        if self.principals is None or self._job_principal is None or self.iam_ledger is None:
            return None
        return partial(
            may_get_object,
            self.principals,
            self.principals.principal(self._job_principal),
            bucket,
            self.keys,
            ledger=self.iam_ledger,
        )

    def refuse_denied_reads(self, bucket: str, denied: set[str], error: str) -> None:
        """A step that failed on an object its role may not read fails with the AccessDenied AWS would give."""
        for key in sorted(denied):
            if key in error and self.principals and self._job_principal and self.iam_ledger is not None:
                authorize(
                    self.principals,
                    self.iam_ledger,
                    self._job_principal,
                    "s3:GetObject",
                    f"arn:aws:s3:::{bucket}/{key}",
                )

    @property
    def job_session(self) -> boto3.Session:
        """The session of the run being carried out: its job's role, else (no principals) the runner's own."""
        return self._job_session or self.session

    def ruleset(self, name: str) -> str:
        for logical_id in self.stack.logical_ids_of_type("AWS::Glue::DataQualityRuleset"):
            if self.stack.properties[logical_id].get("Name") == name:
                return str(self.stack.properties[logical_id]["Ruleset"])
        raise KeyError(f"no DataQualityRuleset named {name} in the template")

    def run_new(self) -> int:
        """Carry out the job runs started since the last call; returns how many ran."""
        with self._lock:
            return self._run_new()

    def _run_new(self) -> int:
        glue, events = self.session.client("glue"), self.session.client("events")
        ran = 0
        for logical_id in self.stack.logical_ids_of_type("AWS::Glue::Job"):
            props = self.stack.properties[logical_id]
            for run in glue.get_job_runs(JobName=props["Name"])["JobRuns"]:
                if run["Id"] in self.done:
                    continue
                self.done.add(run["Id"])
                ran += 1
                # The script, published as s3://<scripts bucket>/glue-scripts/<hash>/<name>: glue/<name> here.
                job = LOCAL_JOBS.get(f"glue/{PurePosixPath(props['Command']['ScriptLocation']).name}")
                arguments = {**props.get("DefaultArguments", {}), **run.get("Arguments", {}), "JOB_NAME": props["Name"]}
                entries, state, message = [], "SUCCEEDED", ""
                known = self.principals is not None and logical_id in self.principals.names()
                self._job_session = self.principals.session(logical_id) if self.principals and known else None
                self._job_principal = logical_id if known else None
                try:
                    if job is None:
                        raise NotImplementedError(f"no local counterpart for {props['Command']['ScriptLocation']}")
                    entries = job(self, run["Id"], arguments)
                except Exception as error:  # noqa: BLE001 - a failed run is reported as Glue reports it
                    state, message = "FAILED", f"{type(error).__name__}: {error}"
                    self.failures[run["Id"]] = message
                    _fail_in_moto(props["Name"], run["Id"], message)
                finally:
                    self._job_session, self._job_principal = None, None
                detail = {"jobName": props["Name"], "severity": "INFO" if state == "SUCCEEDED" else "ERROR"}
                detail |= {"state": state, "jobRunId": run["Id"], "message": message or "Job run succeeded"}
                entries.append(_event("aws.glue", "Glue Job State Change", detail))
                for entry in entries:
                    entry["Time"] = datetime.now(UTC)
                    entry["Resources"] = []
                events.put_events(Entries=entries)
        return ran


def _fail_in_moto(job_name: str, run_id: str, message: str) -> None:
    """moto's runs always succeed: end this one FAILED, so GetJobRun (and a .sync task) sees the failure."""
    from moto.core.models import DEFAULT_ACCOUNT_ID  # noqa: PLC0415
    from moto.glue.models import glue_backends  # noqa: PLC0415

    from local_stack.provision import REGION  # noqa: PLC0415
    from local_stack.stepfunctions_glue import mark_failed  # noqa: PLC0415

    for run in glue_backends[DEFAULT_ACCOUNT_ID][REGION].jobs[job_name].job_runs:
        if run.job_run_id == run_id:
            mark_failed(run, message)
