"""The Glue jobs' Python library: `shoplake_etl`, `shoplake` and `tzdata` in one zip, named by its content.

Glue runs a job's script from S3 and imports anything else from `--extra-py-files`. `sam
deploy` uploads the scripts but not the packages they import, so a custom resource
(functions/glue_library_publisher) zips the very code that was deployed with it and puts it in the
Glue scripts bucket; the jobs name the zip it returns. The name carries the content's hash:
new code is a new object, and a job never reads a zip that is half replaced.
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
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError:
        s3.put_object(Bucket=bucket, Key=key, Body=content, ContentType="application/zip")
    return f"s3://{bucket}/{key}"
