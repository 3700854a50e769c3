"""The Glue jobs' scripts and Python library (`shoplake_etl`, `shoplake` and `tzdata` in one zip), named by content.

Glue runs a job's script from S3 and imports anything else from `--extra-py-files`. A custom
resource (functions/glue_library_publisher) puts both in the Glue scripts bucket, which the
job roles read: the scripts deployed with it and a zip of the very code deployed with it. (`sam
deploy` would upload a local ScriptLocation to SAM's own deployment bucket, which no job role
reads.) The jobs name the objects it returns. Each name carries the content's hash: new code is a
new object, and a job never reads a script or zip that is half replaced.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LIBRARY_PREFIX = "glue-library/"
SCRIPTS_PREFIX = "glue-scripts/"
# The jobs' scripts (ScriptLocation), beside the `shoplake_etl` package: glue/ in the repository,
# the function's package root once built.
JOB_SCRIPTS = ("nightly_etl_job.py", "survey_quality_check.py")
# What the jobs import from the zip: the ETL, the shared package, and the IANA time zone database
# (`shoplake.business` needs Asia/Seoul, and a job's image need not have the system's copy).
LIBRARY_PACKAGES = ("shoplake_etl", "shoplake", "tzdata")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the same code zips to the same bytes, whenever it is zipped


def library_packages() -> dict[str, Path]:
    """The folder of each of `LIBRARY_PACKAGES` as this interpreter imports it: {name: folder}.

    In the publishing function that is its own package (`shoplake_etl`) and the shared layer
    (`shoplake`, `tzdata`); on a developer's machine, the installed project. Raises ImportError if one
    cannot be imported.
    """
    return {name: Path(str(importlib.import_module(name).__file__)).resolve().parent for name in LIBRARY_PACKAGES}


def library_zip(packages: Mapping[str, Path]) -> bytes:
    """A zip (deflated) of each package's files under its name, in a stable order with fixed times.

    `packages` maps the name each package is imported by to its folder; every file under the folder goes in
    except `__pycache__/` and `.pyc` files. The same files give the same bytes (1980-01-01 timestamps).
    Raises OSError if a file cannot be read.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, folder in sorted(packages.items()):
            for path in sorted(folder.rglob("*")):
                if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
                    continue
                entry = zipfile.ZipInfo(f"{name}/{path.relative_to(folder).as_posix()}", date_time=_FIXED_TIME)
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, path.read_bytes())
    return buffer.getvalue()


def library_key(content: bytes) -> str:
    """The S3 key of a library zip: `glue-library/shoplake-<first 16 hex digits of its SHA-256>.zip`."""
    return f"{LIBRARY_PREFIX}shoplake-{hashlib.sha256(content).hexdigest()[:16]}.zip"


def publish(s3: Any, bucket: str, content: bytes) -> str:
    """Put the zip in the bucket under its content's name (once); returns its s3:// URI.

    `s3` is a boto3 S3 client. Any `ClientError` from `HeadObject` (404, but also 403) leads to a
    `PutObject`; errors of the put are raised as they come.
    """
    key = library_key(content)
    _put_once(s3, bucket, key, content, "application/zip")
    return f"s3://{bucket}/{key}"


def _put_once(s3: Any, bucket: str, key: str, content: bytes, content_type: str) -> None:
    """Put `content` at `key` unless `HeadObject` finds it (a key named by its content never changes)."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError:
        s3.put_object(Bucket=bucket, Key=key, Body=content, ContentType=content_type)


def scripts_folder() -> Path:
    """The folder holding `JOB_SCRIPTS`: the one `shoplake_etl` is imported from. Raises ImportError if it cannot be."""
    return library_packages()["shoplake_etl"].parent


def script_key(name: str, content: bytes) -> str:
    """The S3 key of a job script: `glue-scripts/<first 16 hex digits of its SHA-256>/<name>`."""
    return f"{SCRIPTS_PREFIX}{hashlib.sha256(content).hexdigest()[:16]}/{name}"


def script_attribute(name: str) -> str:
    """The custom resource's attribute giving a script's key: `nightly_etl_job.py` -> `NightlyEtlJobKey`."""
    return "".join(part.capitalize() for part in Path(name).stem.split("_")) + "Key"


def publish_scripts(s3: Any, bucket: str, folder: Path) -> dict[str, str]:
    """Put each of `JOB_SCRIPTS` from `folder` in the bucket under its content's name (once).

    Returns {script_attribute(name): key}. `s3` is a boto3 S3 client; as `publish`, a `ClientError` of
    `HeadObject` leads to a `PutObject`, whose errors are raised. OSError if a script cannot be read.
    """
    keys = {}
    for name in JOB_SCRIPTS:
        content = (folder / name).read_bytes()
        key = script_key(name, content)
        _put_once(s3, bucket, key, content, "text/x-python")
        keys[script_attribute(name)] = key
    return keys
