"""Publishing a checked day: every curated table's new version becomes the day, or none does.

The Glue catalog moves one table's partition at a time (GetPartition/UpdatePartition take one
table), so the catalog alone cannot make four tables change together. The day manifest
(`lake_layout.day_manifest_key`) is the commit: written only once every table's partition points
at the day's new version, it is the one record that the catch-up (`published_days`) and the
analytics (`analytics.lake`) trust. A failure before it is written puts every partition back where
the previous manifest had it (or drops the partitions of a day never published), so the day reads
as it was; older versions are removed only once the catalog is confirmed on the new one, and the
version the catalog or the manifest names is never removed.

Standard library and pyarrow's file systems only, no Spark: the tests drive it against moto's Glue.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import pyarrow.fs as pafs

from shoplake import lake_layout
from shoplake_etl.catalog import partition_values, point_partition


class Catalog(Protocol):
    """A data catalog's partitions of the curated tables, located by lake keys (`curated/<table>/.../`)."""

    def location(self, table: str, day: date) -> str | None:
        """The key `table`'s partition for `day` points at, or None without a partition."""

    def point(self, table: str, day: date, key: str) -> None:
        """Create or move `table`'s partition for `day` to the folder `key`."""

    def drop(self, table: str, day: date) -> None:
        """Remove `table`'s partition for `day`, if there is one."""


@dataclass(frozen=True)
class GlueCatalog:
    """The Glue Data Catalog's partitions (boto3 `glue` client), whose locations are `root` + a lake key.

    `root` is the lake bucket as the catalog names it, `s3://<bucket>/`. Raises the client's errors.
    """

    glue: Any
    database: str
    root: str

    def location(self, table: str, day: date) -> str | None:
        """The key the partition's location names under `root` (a foreign location whole), or None (GetPartition)."""
        try:
            partition = self.glue.get_partition(
                DatabaseName=self.database, TableName=table, PartitionValues=partition_values(day)
            )["Partition"]
        except self.glue.exceptions.EntityNotFoundException:
            return None
        location = str(partition["StorageDescriptor"]["Location"])
        return location.removeprefix(self.root)

    def point(self, table: str, day: date, key: str) -> None:
        """Create or move the partition to `root` + `key` (a location with a scheme is taken as it is)."""
        point_partition(self.glue, self.database, table, day, key if "://" in key else self.root + key)

    def drop(self, table: str, day: date) -> None:
        """DeletePartition; a partition that is not there is no error."""
        with contextlib.suppress(self.glue.exceptions.EntityNotFoundException):
            self.glue.delete_partition(
                DatabaseName=self.database, TableName=table, PartitionValues=partition_values(day)
            )


@dataclass
class MemoryCatalog:
    """A catalog kept in a dict, {(table, day): key}: for runs that register no Glue table (benchmarks, tests)."""

    partitions: dict[tuple[str, date], str] = field(default_factory=dict)

    def location(self, table: str, day: date) -> str | None:
        """The key the partition points at, or None."""
        return self.partitions.get((table, day))

    def point(self, table: str, day: date, key: str) -> None:
        """Create or move the partition to `key`."""
        self.partitions[(table, day)] = key

    def drop(self, table: str, day: date) -> None:
        """Forget the partition, if there is one."""
        self.partitions.pop((table, day), None)


@dataclass(frozen=True)
class LakeFiles:
    """The lake bucket (or a local directory standing for it) through pyarrow's file systems.

    `root` is the bucket or directory without a scheme (`bucket`, `/tmp/lake`); keys are relative to it.
    """

    filesystem: pafs.FileSystem
    root: str

    @classmethod
    def from_uri(cls, lake_root: str) -> LakeFiles:
        """`s3://bucket/` (S3, credentials from the environment) or `file:///dir/`; pyarrow's errors otherwise."""
        filesystem, root = pafs.FileSystem.from_uri(lake_root)
        return cls(filesystem, root.rstrip("/"))

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
        """Write `key` whole (on S3 one PutObject: readers see the old object or the new one).

        A local directory gets the key's parent folders first. S3 has none to make, and pyarrow's create_dir
        there first sends HeadBucket, which IAM authorises as s3:ListBucket of the whole bucket: the job roles
        may list only their own prefixes, so on S3 the PutObject is all that is sent.
        """
        if self.filesystem.type_name != "s3":
            self.filesystem.create_dir(self.path(key).rsplit("/", 1)[0], recursive=True)
        with self.filesystem.open_output_stream(self.path(key)) as stream:
            stream.write(text.encode())

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


@dataclass(frozen=True)
class DayManifest:
    """One published day: the run that published it, its version, and each curated table's folder (a lake key)."""

    day: date
    run_id: str
    version: str
    tables: Mapping[str, str]

    def to_json(self) -> str:
        """The manifest as JSON: {"day": "YYYY-MM-DD", "run_id", "version", "tables": {table: lake key}}."""
        body = {"day": self.day.isoformat(), "run_id": self.run_id, "version": self.version, "tables": self.tables}
        return json.dumps(body, sort_keys=True, indent=2)

    @classmethod
    def from_json(cls, text: str) -> DayManifest:
        """Raises ValueError (json.JSONDecodeError included) or KeyError for text that is not a manifest."""
        body = json.loads(text)
        tables = {str(table): str(key) for table, key in body["tables"].items()}
        return cls(date.fromisoformat(body["day"]), str(body["run_id"]), str(body["version"]), tables)


def version_key(table: str, day: date, version: str) -> str:
    """`curated/<table>/year=/month=/day=/version=<version>/`: one published version of a table's day."""
    day_folder = f"{lake_layout.ETL_CURATED}{table}/{lake_layout.partition_path(day)}"
    return f"{day_folder}{lake_layout.PUBLISHED_VERSION_KEY}={version}/"


def read_manifest(files: LakeFiles, day: date) -> DayManifest | None:
    """`day`'s manifest, or None for a day never published whole."""
    text = files.read_text(lake_layout.day_manifest_key(day))
    return None if text is None else DayManifest.from_json(text)


def published_days(files: LakeFiles) -> list[date]:
    """The days with a manifest, that is the days published whole, in order: what the catch-up counts from."""
    days = []
    for key in files.files(lake_layout.ETL_PUBLISHED_DAYS):
        if key.endswith("/" + lake_layout.DAY_MANIFEST):
            folders = key.removeprefix(lake_layout.ETL_PUBLISHED_DAYS).split("/")[:-1]
            year, month, day = (int(folder.split("=", 1)[1]) for folder in folders)
            days.append(date(year, month, day))
    return sorted(days)


class PublishNotConfirmed(RuntimeError):  # noqa: N818 - the message says what was not confirmed
    """After the swap, the catalog does not point where this publish put it; nothing was removed."""


def publish_day(catalog: Catalog, files: LakeFiles, day: date, run_id: str, version: str) -> DayManifest:
    """Make `version` of every curated table the published `day`: all the tables, or none.

    Each table's version must already be written at `version_key(table, day, version)`. Points each
    partition at it, writes the manifest (the commit), confirms every partition, then removes the day's
    other versions. On any error before the manifest is written, every partition is put back where the
    previous manifest has it (dropped for a day without one) and the error is raised again. Raises
    PublishNotConfirmed if the catalog reads back otherwise after the manifest, and the catalog's errors.
    """
    previous = read_manifest(files, day)
    manifest = DayManifest(day, run_id, version, {t: version_key(t, day, version) for t in lake_layout.CURATED_TABLES})
    try:
        for table, key in manifest.tables.items():
            catalog.point(table, day, key)
        files.write_text(lake_layout.day_manifest_key(day), manifest.to_json())
    except BaseException:
        restore_day(catalog, day, previous)
        raise
    found = {table: catalog.location(table, day) for table in manifest.tables}
    wrong = {table: key for table, key in found.items() if key != manifest.tables[table]}
    if wrong:
        raise PublishNotConfirmed(f"{day}: the catalog points elsewhere after publishing {version}: {wrong}")
    remove_unpublished_versions(catalog, files, day)
    return manifest


def restore_day(catalog: Catalog, day: date, manifest: DayManifest | None) -> None:
    """Point every curated table's partition for `day` where `manifest` has it; drop them all without one."""
    for table in lake_layout.CURATED_TABLES:
        if manifest is None or table not in manifest.tables:
            catalog.drop(table, day)
        else:
            catalog.point(table, day, manifest.tables[table])


def remove_unpublished_versions(catalog: Catalog, files: LakeFiles, day: date) -> list[str]:
    """Remove the day's version folders that neither the manifest nor the catalog names; returns their keys."""
    manifest = read_manifest(files, day)
    removed = []
    for table in lake_layout.CURATED_TABLES:
        kept = {catalog.location(table, day), manifest.tables.get(table) if manifest else None}
        for folder in files.folders(f"{lake_layout.ETL_CURATED}{table}/{lake_layout.partition_path(day)}"):
            if folder not in kept:
                files.delete_folder(folder)
                removed.append(folder)
    return removed
