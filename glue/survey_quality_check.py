"""Glue job: evaluate a survey table's data-quality ruleset on one new partition.

Glue 5.0 runs `main()`: it reads the partition at --input_path, evaluates the DQDL ruleset
named by --ruleset_name (declared in template.yaml) with Glue Data Quality, and publishes
the results, which EventBridge carries to the Slack notifier. The evaluation context names
the table and partition, so the Slack message says which day of which survey failed, and
the upload that wrote --partition_object (optional: the object whose arrival started the run),
so that the message is a reply in that upload's Slack thread.

The local stack evaluates the same ruleset on the same Parquet files with
`shoplake.quality.dqdl` (see `local_stack/glue_jobs.py`); both name the evaluation with
`shoplake_etl.survey_quality.evaluation_context`, from the job's --extra-py-files.
"""

from __future__ import annotations

import sys


def main() -> None:  # pragma: no cover - needs Glue's runtime, exercised in AWS only
    import boto3  # noqa: PLC0415
    from awsglue.context import GlueContext  # noqa: PLC0415
    from awsglue.job import Job  # noqa: PLC0415
    from awsglue.utils import getResolvedOptions  # noqa: PLC0415
    from awsgluedq.transforms import EvaluateDataQuality  # noqa: PLC0415
    from pyspark.context import SparkContext  # noqa: PLC0415

    from shoplake_etl.survey_quality import evaluation_context, upload_of_object  # noqa: PLC0415

    args = getResolvedOptions(sys.argv, ["JOB_NAME", "input_path", "table", "ruleset_name"])
    # Optional: a run started by name (a re-run) has no object, and its result no upload thread.
    if "--partition_object" in sys.argv:
        args |= getResolvedOptions(sys.argv, ["partition_object"])
    upload = upload_of_object(boto3.client("s3"), args.get("partition_object"))
    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    ruleset = boto3.client("glue").get_data_quality_ruleset(Name=args["ruleset_name"])["Ruleset"]
    frame = glue_context.create_dynamic_frame.from_options(
        connection_type="s3", connection_options={"paths": [args["input_path"]]}, format="parquet"
    )
    EvaluateDataQuality().process_rows(
        frame=frame,
        ruleset=ruleset,
        publishing_options={
            "dataQualityEvaluationContext": evaluation_context(args["table"], args["input_path"], upload),
            "enableDataQualityCloudWatchMetrics": True,
            "enableDataQualityResultsPublishing": True,
        },
    )
    job.commit()


if __name__ == "__main__":  # pragma: no cover
    main()
