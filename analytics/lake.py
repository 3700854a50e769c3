"""The lake's tables for DuckDB: each a pyarrow dataset of only the days a query needs.

This is the local counterpart of Athena's partition projection: the day folders are computed
from the range (with `lake_layout.partition_path`, the same layout the Glue tables' location
templates spell), never found by listing the whole table, so the files read grow with the days
asked for, not with the size of the lake. Works on any `pyarrow.fs.FileSystem`: a local
directory, or S3 (`pyarrow.fs.S3FileSystem(endpoint_override=..., scheme="http")` for the local stack).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from analytics.queries import DUCKDB_SETTINGS, Query, athena_to_duckdb, parameter_values
from shoplake import business, curated, lake_layout
from shoplake.clickstream import contract
from shoplake.surveys.forms import Form, all_forms
from shoplake_etl.publication import DayManifest, LakeFiles, published_days, read_manifest


@dataclass(frozen=True)
class LakeTable:
    """A Glue table of the lake: its name (as the queries spell it), where it lives, how it is partitioned."""

    name: str
    prefix: str
    partition_keys: tuple[str, ...]
    # The zone whose calendar days the year=/month=/day= folders are.
    partition_time_zone: str
    # The columns, from the one file that declares them.
    schema: pa.Schema

    def partitioning(self) -> ds.Partitioning:
        return ds.partitioning(pa.schema([(key, pa.int32()) for key in self.partition_keys]), flavor="hive")

    def days(self, first_day: date, last_day: date) -> list[date]:
        """The partition days holding the Seoul days first_day..last_day."""
        # The report's days are business days: the ETL's business date, the surveys' partition day.
        shop = business.TIME_ZONE
        since = datetime.combine(first_day, time(), tzinfo=shop)
        until = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=shop) - timedelta(microseconds=1)
        zone = ZoneInfo(self.partition_time_zone)
        first, last = since.astimezone(zone).date(), until.astimezone(zone).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def lake_tables() -> tuple[LakeTable, ...]:
    """Every table the queries may read, from the files that declare them."""
    surveys: dict[str, Form] = {}
    for form in all_forms():  # newest version of each form first: its schema reads the older files too
        surveys.setdefault(form.table, form)
    return (
        LakeTable(
            "clickstream_events",
            lake_layout.CLICKSTREAM_EVENTS,
            contract.PARTITION_KEYS,
            "UTC",
            contract.arrow_schema(),
        ),
        *(
            LakeTable(
                table,
                lake_layout.survey_table_prefix(table),
                lake_layout.PARTITION_KEYS,
                form.timezone,
                form.arrow_schema(),
            )
            for table, form in surveys.items()
        ),
        *(
            LakeTable(
                table,
                f"{lake_layout.ETL_CURATED}{table}/",
                lake_layout.PARTITION_KEYS,
                business.TIME_ZONE.key,
                curated.arrow_schema(table),
            )
            for table in lake_layout.CURATED_TABLES
        ),
    )


@dataclass
class Publications:
    """The day manifests one query reads the curated tables by: each day's is read once, then kept (a snapshot).

    Every table of a query is given the same Publications, so a publish that lands while the query reads its
    tables one by one (the manifest replaced between two of them) never gives it one table of the old
    publication of a day and another of the new: it reads the day as the manifest first read names it.
    Raises `publication.ManifestError`, naming the manifest's key and day, for a manifest that cannot be read.
    """

    files: LakeFiles
    manifests: dict[date, DayManifest | None] = field(default_factory=dict)
    _published: list[date] | None = field(default=None, init=False, repr=False)

    def manifest(self, day: date) -> DayManifest | None:
        """`day`'s manifest as first read by this snapshot; None for a day not published whole then."""
        if day not in self.manifests:
            self.manifests[day] = read_manifest(self.files, day)
        return self.manifests[day]

    def newest(self, table: str, last_day: date) -> date | None:
        """The newest day on or before `last_day` published with `table` (its manifest names it), or None.

        What the queries' `product_dim` CTE picks (analytics/queries/shared/product_dim.sql): Athena lists
        only the partitions publish registered. The days are those with a manifest (`published_days`, one
        listing), each day's manifest read through this snapshot, newest first, until one names `table`.
        """
        if self._published is None:
            self._published = published_days(self.files)
        for day in reversed(self._published):
            manifest = self.manifest(day) if day <= last_day else None
            if manifest is not None and table in manifest.tables:
                return day
        return None


class NoLakeError(LookupError):
    """There is no shoplake lake where the report was asked to read one."""


@dataclass(frozen=True)
class Lake:
    """A lake on a filesystem; `root` is the bucket or directory ('bucket' or '/tmp/lake'), without a scheme."""

    filesystem: pafs.FileSystem
    root: str
    # False reads every day of each table and leaves the range to the queries' own partition
    # filters, as Athena does: how the tests show those filters are right.
    prune: bool = True
    # The day manifests the curated tables are read by; None reads each table's anew (see `snapshot`).
    publications: Publications | None = field(default=None, compare=False)

    def path(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *[p.strip("/") for p in parts]])

    def tables_found(self) -> list[LakeTable]:
        """The tables whose folder this lake has; NoLakeError if it has none of them, or cannot be read.

        A lake before its first writer ran has no folders yet either: the message says where it looked and for what.
        """
        tables = lake_tables()
        try:
            found = [
                t for t in tables if self.filesystem.get_file_info(self.path(t.prefix)).type != pafs.FileType.NotFound
            ]
        except OSError as error:  # an S3 bucket that does not exist or may not be read
            raise NoLakeError(f"cannot read a lake at {self.root}: {error}") from None
        if not found:
            looked_for = ", ".join(table.prefix for table in tables)
            raise NoLakeError(f"no lake at {self.root}: looked for {looked_for} and found none of them")
        return found

    def _files(self, folder: str) -> Iterator[str]:
        """The Parquet files under `folder`, none in or under a hidden file or folder (a name starting `_` or `.`).

        Spark leaves _SUCCESS and .crc files beside its Parquet, and a failed or running write's output in
        _temporary/ (or .spark-staging-*/): Athena (Trino's Hive connector) skips every path whose part below
        the table's location starts with `_` or `.`, and so does this.
        """
        selector = pafs.FileSelector(folder, recursive=True, allow_not_found=True)
        for info in self.filesystem.get_file_info(selector):
            below = info.path.removeprefix(folder.rstrip("/") + "/").split("/")
            if info.type != pafs.FileType.File or not info.base_name.endswith(".parquet"):
                continue
            if not any(part.startswith(("_", ".")) for part in below):
                yield info.path

    def _published(self, table: LakeTable, files: list[str], publications: Publications) -> list[str]:
        """Of a curated table's files, only those in the version folder its day manifest names for this table
        (curated/<table>/year=/month=/day=/version=<v>/); other tables' files are all kept.

        A day without a manifest was never published whole and gives nothing; a file in the day folder itself,
        outside any version folder, is never read (Athena reads only the folder the catalog points at). So, as
        Athena through the catalog, the local queries read what the ETL published whole
        (`shoplake_etl.publication`): never one table of a day new and another old. Raises
        `publication.ManifestError`, naming the manifest's key and day, for a manifest that cannot be read.
        """
        if not table.prefix.startswith(lake_layout.ETL_CURATED):
            return files
        table_root = self.path(table.prefix) + "/"
        kept = []
        for path in files:
            parts = path.removeprefix(table_root).split("/")
            day = lake_layout.partition_day("/".join(parts[: len(lake_layout.PARTITION_KEYS)]))
            if day is None or len(parts) < len(lake_layout.PARTITION_KEYS) + 2:
                continue  # not in a day's version folder: no catalog partition points there
            manifest = publications.manifest(day)
            folder = f"{table.prefix}{'/'.join(parts[: len(lake_layout.PARTITION_KEYS) + 1])}/"
            if manifest is not None and manifest.tables.get(table.name) == folder:
                kept.append(path)
        return kept

    def _new_publications(self) -> Publications:
        return Publications(LakeFiles(self.filesystem, self.root.rstrip("/")))

    def snapshot(self, tables: list[LakeTable], first_day: date, last_day: date) -> Lake:
        """This lake as one query over `tables` reads it: each day's manifest read once, now, for every table.

        The manifests of the range's days (and, for a dimension, of the day whose dimension names the
        products) are read before any table is, and kept: a publish that lands while the query reads its
        tables changes nothing it reads. A lake without curated tables in `tables` reads no manifest.
        """
        publications = self._new_publications()
        if any(t.prefix.startswith(lake_layout.ETL_CURATED) for t in tables):
            for day in range((last_day - first_day).days + 1):
                publications.manifest(first_day + timedelta(days=day))
        for table in filter(_is_dimension, tables):
            publications.newest(table.name, last_day)
        return replace(self, publications=publications)

    def dataset(self, table: LakeTable, first_day: date, last_day: date) -> ds.Dataset:
        """The table's files for the days asked for, partition columns included.

        A dimension (`curated.DIMENSIONS`, the product list of one day) is read on one day only: the newest
        published on or before `last_day`, the one the queries name products by (`Publications.newest`).
        """
        table_root = self.path(table.prefix)
        publications = self.publications or self._new_publications()
        if self.prune:
            if _is_dimension(table):
                newest = publications.newest(table.name, last_day)
                days = [] if newest is None else [newest]
            else:
                days = table.days(first_day, last_day)
            files = [f for day in days for f in self._files(self.path(table.prefix, lake_layout.partition_path(day)))]
        else:
            files = list(self._files(table_root))
        return ds.dataset(
            self._published(table, files, publications),
            schema=_with_partition_keys(table.schema, table),
            format="parquet",
            filesystem=self.filesystem,
            partitioning=table.partitioning(),
            partition_base_dir=table_root,
        )


def _is_dimension(table: LakeTable) -> bool:
    return table.prefix.startswith(lake_layout.ETL_CURATED) and table.name in curated.DIMENSIONS


def _with_partition_keys(schema: pa.Schema, table: LakeTable) -> pa.Schema:
    kept = pa.schema([field for field in schema if field.name not in table.partition_keys], metadata=schema.metadata)
    for key in table.partition_keys:
        kept = kept.append(pa.field(key, pa.int32()))
    return kept


def tables_read_by(query: Query) -> list[LakeTable]:
    return [t for t in lake_tables() if re.search(rf"\b(FROM|JOIN)\s+{t.name}\b", query.sql, flags=re.IGNORECASE)]


def run_query(lake: Lake, query: Query, first_day: date, last_day: date) -> pa.Table:
    """The query's answer over the Seoul days first_day..last_day, computed by DuckDB from the lake's Parquet."""
    connection = duckdb.connect()
    try:
        for setting, value in DUCKDB_SETTINGS.items():
            connection.execute(f"SET {setting} = '{value}'")
        connection.execute("SET threads = 2")
        tables = tables_read_by(query)
        # One snapshot of the day manifests for every table: never two publications of one day in one answer.
        snapshot = lake.snapshot(tables, first_day, last_day)
        for table in tables:
            # Read here, by pyarrow with the GIL released, and hand DuckDB the table in memory. A dataset
            # registered lazily is read from DuckDB's threads through Python callbacks (a PyFileSystem,
            # or moto's server in this process); that deadlocks now and then (duckdb/duckdb#16501 and its
            # kin), and hung CI. The days read are only those asked for.
            connection.register(table.name, snapshot.dataset(table, first_day, last_day).to_table())
        sql = athena_to_duckdb(query.sql)
        return connection.execute(sql, parameter_values(query, first_day, last_day)).to_arrow_table()
    finally:
        connection.close()
