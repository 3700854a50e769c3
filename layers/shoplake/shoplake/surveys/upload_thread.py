"""How a survey upload's Slack thread is named, and how its name travels to each partition's quality result.

An upload's thread is `survey:s3://<bucket>/<key>` (the file as uploaded, key decoded). The parser's notice
opens it; each partition the upload wrote carries the upload's URI in its S3 user metadata
(`UPLOAD_METADATA`, percent-encoded: S3 metadata is ASCII); the glue launcher gives the quality job the
partition object that started it (`--partition_object`); the job reads that object's metadata and names the
upload in the evaluation context it publishes (`evaluation_context`); the Slack notifier reads the upload back
from the "Data Quality Evaluation Results Available" event (`read_evaluation_context`) and replies in its thread.

A partition that several uploads wrote is checked once for each of them, whole; each check answers in the
thread of the upload whose object started it.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, unquote

# The S3 user-defined metadata name (sent as `x-amz-meta-shoplake-upload`) of a partition object's upload.
UPLOAD_METADATA = "shoplake-upload"
# S3 allows 2 KB of user-defined metadata in all (Amazon S3 User Guide, "Working with object metadata"), and
# CloudWatch 1,024 characters of a dimension value: an upload whose encoded URI is longer is not named.
MAX_ENCODED_UPLOAD = 1000
# Between the partition and the upload in an evaluation context; neither a table nor a partition holds a space.
_UPLOAD_MARK = " upload="


def upload_name(source: str, upload_id: str) -> str:
    """One upload's name, as it travels: `<source>#<upload_id>` (`source` the file's s3:// URI, `upload_id`
    `ObjectCreated.upload_id`), so that a file uploaded again under the same name is an upload of its own."""
    return f"{source}#{upload_id}" if upload_id else source


def thread_key(upload_uri: str) -> str:
    """The thread of the upload named `upload_uri` (`upload_name`): `survey:s3://<bucket>/<key>#<upload id>`."""
    return f"survey:{upload_uri}"


def _encoded(upload_uri: str) -> str | None:
    # Every character but unreserved ones and "/" and ":" percent-encoded (UTF-8): ASCII without spaces.
    encoded = quote(upload_uri, safe="/:")
    return encoded if len(encoded) <= MAX_ENCODED_UPLOAD else None


def upload_metadata(upload_uri: str) -> dict[str, str]:
    """The S3 `Metadata` a partition object written from `upload_uri` carries: `{UPLOAD_METADATA: <encoded>}`.

    Empty when the encoded URI is longer than `MAX_ENCODED_UPLOAD` (its quality results then have no thread).
    """
    encoded = _encoded(upload_uri)
    return {UPLOAD_METADATA: encoded} if encoded else {}


def upload_of_metadata(metadata: Mapping[str, str]) -> str | None:
    """The upload's s3:// URI from an object's S3 `Metadata` (HeadObject's answer), or None without one."""
    encoded = metadata.get(UPLOAD_METADATA)
    return unquote(encoded) if encoded else None


def evaluation_context(table: str, input_path: str, upload_uri: str | None = None) -> str:
    """The evaluation context Glue Data Quality publishes: the table, the partition and the upload, if known.

    `input_path` is the partition's s3:// (or local) folder; its `key=value` parts are kept:
    `evaluation_context("survey_offline_ads", "s3://lake/surveys/offline_ads/year=2026/month=11/day=23/")` is
    `"survey_offline_ads year=2026/month=11/day=23"`; with `upload_uri="s3://in/inbox/a b.csv"` it ends
    `" upload=s3://in/inbox/a%20b.csv"` (percent-encoded; left out when longer than `MAX_ENCODED_UPLOAD`).
    """
    partition = "/".join(p for p in input_path.rstrip("/").split("/") if "=" in p)
    named = f"{table} {partition}".strip()
    encoded = _encoded(upload_uri) if upload_uri else None
    return f"{named}{_UPLOAD_MARK}{encoded}" if encoded else named


def read_evaluation_context(context: str) -> tuple[str, str | None]:
    """An evaluation context read back: (table and partition, the upload's s3:// URI or None).

    `"survey_offline_ads year=2026/month=11/day=23 upload=s3://in/inbox/a%20b.csv"` gives
    `("survey_offline_ads year=2026/month=11/day=23", "s3://in/inbox/a b.csv")`; a context without an upload
    (any other job's, a re-run by name) is returned whole with None. Never raises.
    """
    named, mark, encoded = context.partition(_UPLOAD_MARK)
    if not mark or not encoded.startswith("s3://"):
        return context, None
    return named, unquote(encoded)
