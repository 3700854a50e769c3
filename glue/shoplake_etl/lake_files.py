"""The lake bucket's files, as publish, the manifest back-fill and the analytics read and write them.

One API over S3 and a local directory standing for the bucket: pyarrow's file systems for everything, and for
the one write pyarrow cannot send, a write that must not replace a file another writer put there first, S3's
conditional PutObject (`If-None-Match: *`) through a boto3 client, or a hard link locally.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from shoplake import lake_layout

LOGGER = logging.getLogger(__name__)

# S3's answers to a conditional PutObject that did not write: the key exists (412), or another conditional
# write of it is under way (409, https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
_NOT_WRITTEN = {"PreconditionFailed", "ConditionalRequestConflict"}


@dataclass(frozen=True)
class LakeFiles:
    """The lake bucket (or a local directory standing for it) through pyarrow's file systems.

    `root` is the bucket or directory without a scheme (`bucket`, `/tmp/lake`); keys are relative to it. `s3` is
    a boto3 S3 client, needed on S3 by `write_text_if_absent` only (pyarrow sends no conditional write).
    """

    filesystem: pafs.FileSystem
    root: str
    s3: Any = None

    @classmethod
    def from_uri(cls, lake_root: str, s3: Any = None) -> LakeFiles:
        """`s3://bucket/` (S3, credentials from the environment) or `file:///dir/`; pyarrow's errors otherwise.

        `s3`: a boto3 S3 client for `write_text_if_absent` on S3, or None.
        """
        filesystem, root = pafs.FileSystem.from_uri(lake_root)
        return cls(filesystem, root.rstrip("/"), s3)

    def path(self, key: str) -> str:
        """The file system's path of a lake key: `root/key`, without a trailing slash."""
        return f"{self.root}/{key.strip('/')}"

    def read_text(self, key: str) -> str | None:
        """The UTF-8 text of `key`, or None if there is no such file."""
        if self.filesystem.get_file_info(self.path(key)).type != pafs.FileType.File:
            return None
        with self.filesystem.open_input_stream(self.path(key)) as stream:
            return bytes(stream.read()).decode()

    def write_text(self, key: str, text: str) -> None:
        """Write `key` whole: a reader, and a write that fails halfway, leave the old file or the new one whole.

        On S3 one PutObject (S3 replaces an object whole). pyarrow's create_dir there would first send HeadBucket,
        which IAM authorises as s3:ListBucket of the whole bucket, and the job roles may list only their own
        prefixes, so on S3 the PutObject is all that is sent. Elsewhere the key's folders are made, the text is
        written to a hidden file beside `key` (`.<random>.<name>`), which then replaces `key` (a rename, atomic
        on POSIX): a full disk never leaves a truncated manifest or record where a whole one stood. Raises the
        file system's errors (the hidden file removed).
        """
        if self.filesystem.type_name == "s3":
            with self.filesystem.open_output_stream(self.path(key)) as stream:
                stream.write(text.encode())
            return
        folder, _, name = self.path(key).rpartition("/")
        self.filesystem.create_dir(folder, recursive=True)
        staged = f"{folder}/.{uuid.uuid4().hex}.{name}"
        try:
            with self.filesystem.open_output_stream(staged) as stream:
                stream.write(text.encode())
            self.filesystem.move(staged, self.path(key))
        except BaseException:
            with contextlib.suppress(Exception):
                self.filesystem.delete_file(staged)
            raise

    def write_text_if_absent(self, key: str, text: str) -> bool:
        """Write `key` whole only if no file is there: True if written, False if there was one (left as it is).

        One request no other writer can come between, so a file another writer put there first, however
        shortly before, is never replaced. On S3 one PutObject with `If-None-Match: *` through the client `s3`:
        False on S3's 412 PreconditionFailed (the key exists) and 409 ConditionalRequestConflict (another
        conditional write of it under way). Locally the text goes to a hidden file beside `key`, then is
        hard-linked to `key`, which fails if `key` exists: a reader sees no file or the whole text, never a part.
        Raises ValueError on S3 without an `s3` client or on another file system, and the client's and the
        operating system's other errors.
        """
        if self.filesystem.type_name == "s3":
            if self.s3 is None:
                raise ValueError(f"{key}: a write that must not replace a file needs LakeFiles(..., s3=<client>)")
            bucket, _, name = self.path(key).partition("/")
            try:
                self.s3.put_object(Bucket=bucket, Key=name, Body=text.encode(), IfNoneMatch="*")
            except self.s3.exceptions.ClientError as error:
                if error.response.get("Error", {}).get("Code") in _NOT_WRITTEN:
                    return False
                raise
            return True
        if self.filesystem.type_name != "local":
            raise ValueError(f"{key}: no write that must not replace a file on a {self.filesystem.type_name} lake")
        target = Path(self.path(key))
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as staged:
            staged.write(text.encode())
        try:
            os.link(staged.name, target)
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged.name)
        return True

    def delete_file(self, key: str) -> None:
        """Remove the file `key`; nothing happens if it is not there."""
        if self.filesystem.get_file_info(self.path(key)).type == pafs.FileType.File:
            self.filesystem.delete_file(self.path(key))

    def files(self, prefix: str) -> list[str]:
        """The keys of every file under `prefix`, sorted."""
        selector = pafs.FileSelector(self.path(prefix), recursive=True, allow_not_found=True)
        found = self.filesystem.get_file_info(selector)
        return sorted(i.path.removeprefix(self.root + "/") for i in found if i.type == pafs.FileType.File)

    def folders(self, prefix: str) -> list[str]:
        """The keys of the folders directly under `prefix`, each with a trailing `/`, sorted."""
        selector = pafs.FileSelector(self.path(prefix), allow_not_found=True)
        found = self.filesystem.get_file_info(selector)
        return sorted(i.path.removeprefix(self.root + "/") + "/" for i in found if i.type == pafs.FileType.Directory)

    def delete_folder(self, prefix: str) -> None:
        """Remove `prefix` and everything under it; nothing happens if it is not there."""
        if self.filesystem.get_file_info(self.path(prefix)).type == pafs.FileType.Directory:
            self.filesystem.delete_dir(self.path(prefix))

    def days_with(self, prefix: str, name: str, what: str) -> list[date]:
        """The days that have their file `<prefix>year=YYYY/month=MM/day=DD/<name>`, in order.

        Any other key under `prefix` (a backup copy, `day=24 (copy)/`, a stray file, a folder of a day no
        calendar has such as `month=13`) is no such day: it is logged as not `what`, by its key, and passed over,
        so one stray key never stops a night.
        """
        days = []
        for key in self.files(prefix):
            folders, _, file_name = key.removeprefix(prefix).rpartition("/")
            day = lake_layout.partition_day(folders) if file_name == name else None
            if day is None or f"{prefix}{lake_layout.partition_path(day)}{name}" != key:
                LOGGER.warning("not %s: %s", what, key)
                continue
            days.append(day)
        return sorted(days)
