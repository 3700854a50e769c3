"""The nightly ETL's Python library for Glue: `shoplake_etl` and `shoplake` in one zip, named by its content.

Glue runs a job's script from S3 and imports anything else from `--extra-py-files`. `sam
deploy` uploads the scripts but not the packages they import, so a custom resource
(functions/glue_library_publisher) zips the very code that was deployed with it and puts it in the
Glue scripts bucket; the jobs name the zip it returns. The name carries the content's hash:
new code is a new object, and a job never reads a zip that is half replaced.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LIBRARY_PREFIX = "glue-library/"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the same code zips to the same bytes, whenever it is zipped


def library_zip(packages: Mapping[str, Path]) -> bytes:
    """A zip of each package's Python files under its name, in a stable order with fixed times."""
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
    return f"{LIBRARY_PREFIX}shoplake-{hashlib.sha256(content).hexdigest()[:16]}.zip"


def publish(s3: Any, bucket: str, content: bytes) -> str:
    """Put the zip in the bucket under its content's name (once); returns its s3:// URI."""
    key = library_key(content)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError:
        s3.put_object(Bucket=bucket, Key=key, Body=content, ContentType="application/zip")
    return f"s3://{bucket}/{key}"
