"""Naming of a survey partition's data-quality evaluation, shared by the Glue job and the local stack."""

from __future__ import annotations


def evaluation_context(table: str, input_path: str) -> str:
    """The evaluation context Glue Data Quality publishes, which the Slack message names.

    `input_path` is the partition's s3:// (or local) folder; its `key=value` parts are kept:
    `evaluation_context("survey_offline_ads", "s3://lake/surveys/offline_ads/year=2026/month=11/day=23/")`
    is `"survey_offline_ads year=2026/month=11/day=23"`.
    """
    partition = "/".join(p for p in input_path.rstrip("/").split("/") if "=" in p)
    return f"{table} {partition}".strip()
