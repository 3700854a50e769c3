"""Where a path in shoplake's buckets may point: each bucket of template.yaml and the prefixes its writers use.

The buckets' names come from template.yaml (`shoplake-<env>-surveys-<account>`, ...), the prefixes
from shoplake.lake_layout and shoplake.glue_library; `layout_problem` says what is wrong with a
path that a sample or the demo shows, or None when the deployed stack has such a place.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from local_stack.template import load_template
from shoplake import glue_library, lake_layout

PREFIXES_BY_BUCKET: dict[str, tuple[str, ...]] = {
    "SurveyBucket": (
        lake_layout.SURVEY_INBOX,
        lake_layout.SURVEY_PROCESSED,
        lake_layout.SURVEY_QUARANTINE,
        lake_layout.SURVEY_MARKED,
    ),
    "LakeBucket": (
        lake_layout.SURVEY_DATA,
        lake_layout.SURVEY_REJECTS,
        lake_layout.CLICKSTREAM_EVENTS,
        lake_layout.CLICKSTREAM_ERRORS,
        lake_layout.CLICKSTREAM_ERRORS_REDRIVEN,
        lake_layout.CLICKSTREAM_ERRORS_UNREPAIRED,
        lake_layout.ETL_RAW,
        lake_layout.ETL_CLEAN,
        lake_layout.ETL_STAGING,
        lake_layout.ETL_CURATED,
    ),
    "GlueScriptsBucket": (glue_library.LIBRARY_PREFIX, glue_library.SCRIPTS_PREFIX),
}
# shoplake's bucket names end with the account id, which no other name of the stack does.
BUCKET_LIKE = re.compile(r"\bshoplake-[a-z0-9-]+-[0-9]{12}\b")
S3_URI = re.compile(r"s3://([^/\s\"']+)/?([^\s\"']*)")
_PSEUDO = {"${EnvironmentName}": "(?:dev|prod)", "${AWS::AccountId}": "[0-9]{12}", "${AWS::Region}": "[a-z0-9-]+"}


def bucket_names() -> dict[str, re.Pattern[str]]:
    """Each bucket of template.yaml (logical id) and the names it is deployed under, as a pattern."""
    names = {}
    for logical_id, spec in load_template()["Resources"].items():
        if spec["Type"] != "AWS::S3::Bucket":
            continue
        pattern = re.escape(spec["Properties"]["BucketName"]["Fn::Sub"])
        for placeholder, replacement in _PSEUDO.items():
            pattern = pattern.replace(re.escape(placeholder), replacement)
        names[logical_id] = re.compile(pattern)
    return names


BUCKETS = bucket_names()


def bucket_of(name: str) -> str | None:
    """The logical id of the template's bucket deployed as `name`, or None."""
    return next((logical_id for logical_id, pattern in BUCKETS.items() if pattern.fullmatch(name)), None)


def layout_problem(bucket: str, key: str) -> str | None:
    """What is wrong with s3://bucket/key in the deployed layout, or None if such a place exists."""
    logical_id = bucket_of(bucket)
    if logical_id is None:
        return f"s3://{bucket}/{key}: no bucket of template.yaml is named {bucket!r}"
    prefixes = PREFIXES_BY_BUCKET.get(logical_id, ())
    if key and not key.startswith(prefixes):
        shown = ", ".join(prefixes) or "nothing a sample should show"
        return f"s3://{bucket}/{key}: {logical_id} holds {shown}; not {key.split('/', 1)[0]}/"
    return None


def strings_in(node: Any) -> list[str]:
    """Every string in a JSON document, and in the JSON documents its strings hold (an SNS Message)."""
    if isinstance(node, dict):
        return [text for value in node.values() for text in strings_in(value)]
    if isinstance(node, list):
        return [text for value in node for text in strings_in(value)]
    if isinstance(node, str):
        found = [node]
        if node.lstrip().startswith(("{", "[")):
            with contextlib.suppress(ValueError):  # text that only starts like JSON is just text
                found += strings_in(json.loads(node))
        return found
    return []


def path_problems(text: str) -> list[str]:
    """The layout problems of every s3:// path and every shoplake bucket name in `text`."""
    uris = S3_URI.findall(text)
    found = [layout_problem(bucket, key) for bucket, key in uris]
    named = set(BUCKET_LIKE.findall(text)) - {bucket for bucket, _ in uris}
    found += [f"{name}: no bucket of template.yaml is named so" for name in sorted(named) if not bucket_of(name)]
    return [problem for problem in found if problem]
