"""The nightly ETL's steps with their lake reads and writes, for one business day.

`lake_root` is `s3://<lake bucket>/` in Glue and a local directory URI in the tests; the
paths under it come from `shoplake.lake_layout`. Writing a day's partition replaces it, so
re-running a day never duplicates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

from shoplake import business, curated, lake_layout
from shoplake.clickstream.contract import FIELDS
from shoplake.quality.dqdl import evaluate
from shoplake_etl.catalog import Catalog
from shoplake_etl.clean import clean_customers, clean_products, clean_purchases, clean_reviews
from shoplake_etl.clickstream_hourly import hourly_traffic
from shoplake_etl.curate import daily_product_stats, product_dim, review_fact, sales_fact
from shoplake_etl.extract import pseudonymise, read_table
from shoplake_etl.publication import LakeFiles, version_key
from shoplake_etl.repair import publish_run
from shoplake_etl.rulesets import night_ruleset
from shoplake_etl.tables import SOURCE_TABLES


def day_window(run_date: date) -> tuple[datetime, datetime]:
    """The business day, as a UTC interval [since, until) of aware datetimes (24 hours: Seoul has no DST)."""
    start = datetime.combine(run_date, time(), tzinfo=business.TIME_ZONE).astimezone(UTC)
    return start, start + timedelta(days=1)


def table_path(lake_root: str, stage: str, table: str, run_date: date) -> str:
    """`<lake_root><stage><table>/year=YYYY/month=MM/day=DD/`: one table's day folder in one stage.

    `lake_root` ends with `/` (`s3://bucket/` or `file:///...`); `stage` is a `lake_layout` prefix (`raw/`).
    """
    return f"{lake_root}{stage}{table}/{lake_layout.partition_path(run_date)}"


def run_extract(
    spark: SparkSession,
    jdbc_url: str,
    properties: Mapping[str, Any],
    *,
    lake_root: str,
    run_date: date,
    salt: str,
    tables: list[str] | None = None,
    since_date: date | None = None,
) -> dict[str, int]:
    """The named source tables' changes (whole, for small tables) under raw/ for the run's day; returns row counts.

    Large tables give the rows changed in the run's business day, or from the start of
    `since_date` when a scheduled night catches up on nights that failed. Without names,
    every source table; the nightly state machine extracts them in parallel, one job run each.

    `properties` are Spark's JDBC options; a callable value (the RDS IAM token maker) is called just before
    each table's read (`extract.login_now`). Each table is read from the database once and written as Parquet
    under `raw/<table>/<day>/`, replacing that folder; its count is the rows written. Raises ValueError
    naming any unknown table before reading anything; JDBC and write errors come as Spark exceptions.
    """
    since, until = day_window(since_date or run_date)[0], day_window(run_date)[1]
    unknown = set(tables or ()) - {t.name for t in SOURCE_TABLES}
    if unknown:
        raise ValueError(f"not a source table: {', '.join(sorted(unknown))}")
    counts = {}
    for table in SOURCE_TABLES:
        if tables is not None and table.name not in tables:
            continue
        # One read per table, the token made just before it; the rows counted are the rows written, from
        # the written Parquet's footers (counting the frame would query the shop a second time, later).
        path = table_path(lake_root, lake_layout.ETL_RAW, table.name, run_date)
        frame = pseudonymise(read_table(spark, jdbc_url, properties, table, since, until), salt)
        frame.write.mode("overwrite").parquet(path)
        counts[table.name] = spark.read.parquet(path).count()
    return counts


def _raw(spark: SparkSession, lake_root: str, table: str, run_date: date) -> DataFrame:
    return spark.read.parquet(table_path(lake_root, lake_layout.ETL_RAW, table, run_date))


def run_clean(spark: SparkSession, lake_root: str, run_date: date) -> dict[str, int]:
    """The day's raw tables cleaned under clean/ (each day folder replaced); returns row counts by table, and
    `products_of_unknown_category`: products whose category could not be mapped to `business.CATEGORIES`
    (they are `UNKNOWN_CATEGORY`).

    Needs all four raw tables of the day (`customer`, `product`, `purchase`, `review`); a missing one
    raises Spark's AnalysisException (path does not exist).
    """
    cleaned = {
        "customer": clean_customers(_raw(spark, lake_root, "customer", run_date), run_date),
        "product": clean_products(_raw(spark, lake_root, "product", run_date)),
        "purchase": clean_purchases(_raw(spark, lake_root, "purchase", run_date)),
        "review": clean_reviews(_raw(spark, lake_root, "review", run_date)),
    }
    counts = {}
    for name, frame in cleaned.items():
        frame.write.mode("overwrite").parquet(table_path(lake_root, lake_layout.ETL_CLEAN, name, run_date))
        counts[name] = frame.count()
    unknown = F.col("category") == business.UNKNOWN_CATEGORY
    counts["products_of_unknown_category"] = _clean(spark, lake_root, "product", run_date).where(unknown).count()
    return counts


def _clean(spark: SparkSession, lake_root: str, table: str, run_date: date) -> DataFrame:
    return spark.read.parquet(table_path(lake_root, lake_layout.ETL_CLEAN, table, run_date))


def staged_path(lake_root: str, run_id: str, table: str, run_date: date) -> str:
    """`<lake_root>staging/<run_id>/<table>/year=/month=/day=/`: one run's staged table for the day."""
    return table_path(lake_root, lake_layout.staging_prefix(run_id), table, run_date)


def _stage(frame: DataFrame, lake_root: str, table: str, run_date: date, run_id: str) -> int:
    frame.write.mode("overwrite").parquet(staged_path(lake_root, run_id, table, run_date))
    return int(frame.count())


def run_curate(spark: SparkSession, lake_root: str, run_date: date, *, run_id: str) -> dict[str, int]:
    """The day's curated tables, staged until they pass their checks; returns row counts.

    Writes `sales_fact`, `review_fact`, `daily_product_stats` and `product_dim` (every product as of the
    day; columns: `shoplake.curated.COLUMNS`) under the run's own `staging/<run_id>/`, replacing the day there.
    Raises Spark's AnalysisException when a clean table is missing, ValueError for a run id
    `lake_layout.staging_prefix` refuses.
    """
    purchases = _clean(spark, lake_root, "purchase", run_date)
    products = _clean(spark, lake_root, "product", run_date)
    customers = _clean(spark, lake_root, "customer", run_date)
    sales = sales_fact(purchases, products, customers)
    reviews = review_fact(_clean(spark, lake_root, "review", run_date), products, customers)
    return {
        "sales_fact": _stage(sales, lake_root, "sales_fact", run_date, run_id),
        "review_fact": _stage(reviews, lake_root, "review_fact", run_date, run_id),
        "daily_product_stats": _stage(
            daily_product_stats(sales, reviews), lake_root, "daily_product_stats", run_date, run_id
        ),
        "product_dim": _stage(product_dim(products), lake_root, "product_dim", run_date, run_id),
    }


def _hadoop(spark: SparkSession, path: str) -> tuple[Any, Any]:
    """A lake path in Hadoop's file system, through Spark's JVM: S3 in Glue, a directory locally."""
    jvm: Any = spark._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark._jsc.hadoopConfiguration()), hadoop_path


def _exists(spark: SparkSession, path: str) -> bool:
    files, hadoop_path = _hadoop(spark, path)
    return bool(files.exists(hadoop_path))


def run_clickstream_hourly(spark: SparkSession, lake_root: str, run_date: date, *, run_id: str) -> int:
    """Visitors, sessions and page views per hour of the Seoul day, from the clickstream's UTC hours.

    The Seoul day spans two UTC days; a UTC day without events has no partition, and no hours.

    Reads the `clickstream/events/` day partitions that exist, keeps events in `day_window`, and stages
    `clickstream_hourly` under the run's `staging/<run_id>/`; returns its row count (hours with traffic, at most 24).
    """
    since, until = day_window(run_date)
    days = {since.date(), (until - timedelta(seconds=1)).date()}
    paths = [f"{lake_root}{lake_layout.CLICKSTREAM_EVENTS}{lake_layout.partition_path(d)}" for d in sorted(days)]
    present = [path for path in paths if _exists(spark, path)]
    if present:
        events = spark.read.option("basePath", f"{lake_root}{lake_layout.CLICKSTREAM_EVENTS}").parquet(*present)
    else:
        events = spark.createDataFrame([], _clickstream_schema())
    in_day = events.where((F.col("event_time") >= F.lit(since)) & (F.col("event_time") < F.lit(until)))
    return _stage(hourly_traffic(in_day), lake_root, "clickstream_hourly", run_date, run_id)


def _clickstream_schema() -> str:
    """The clickstream table's columns as Spark DDL (Glue's type names are Hive's, which Spark reads)."""
    return ", ".join(f"`{field.name}` {field.glue}" for field in FIELDS)


def run_publish(  # noqa: PLR0917 - one run's own parameters
    spark: SparkSession, lake_root: str, run_date: date, catalog: Catalog, version: str, run_id: str
) -> dict[str, Any]:
    """Publish the run's checked day: every curated table at once, or none (`publication.publish_day`).

    Copies each table staged under `staging/<run_id>/` to `curated/<table>/<day>/version=<version>/`, then
    points all partitions at them and writes the day manifest; until then readers keep the previous day
    whole. First reconciles the catalog with the manifests of the catch-up span; then removes the run's
    staging and the versions no longer published past their grace (`repair.publish_run`). `version` must be
    new for the day (Spark's `errorifexists` mode raises if its folder exists). Returns each table's published
    rows, and `repaired`: one line per partition moved back to its manifest, day undone, or version folder
    removed. Raises StagingNotChecked, before writing anything, unless the quality step marked exactly this
    staging as checked for this run and day (`mark_checked`); and what `publish_run` raises.
    """
    files = LakeFiles.from_uri(lake_root)
    require_checked(files, run_date, run_id)
    counts = {}
    for table in lake_layout.CURATED_TABLES:
        staged = spark.read.parquet(staged_path(lake_root, run_id, table, run_date))
        staged.write.mode("errorifexists").parquet(f"{lake_root}{version_key(table, run_date, version)}")
        counts[table] = staged.count()
    repaired = publish_run(catalog, files, run_date, run_id, version, datetime.now(UTC))
    return {**counts, "repaired": repaired}


class DayFailedChecks(RuntimeError):  # noqa: N818 - "the day failed its checks" is the message
    """A staged table broke a data-quality rule: the day is not published. The message names each rule."""


def run_quality(
    spark: SparkSession, lake_root: str, run_date: date, rulesets: dict[str, str], *, run_id: str
) -> dict[str, int]:
    """Evaluate each table the run staged with its DQDL ruleset; raise naming every failed rule, else return
    rules passed.

    `rulesets` maps table -> DQDL text (the deployed template.yaml text, not a ruleset name as in Glue),
    completed by `night_ruleset` with the rules composed from `shoplake.business`. In Glue, Glue Data
    Quality evaluates the same rulesets; this is how the tests and the local stack do. Collects each staged
    table to the driver as Arrow. Returns {table: rules passed}. Raises DayFailedChecks listing every failed
    rule with its measure, and DqdlError for a rule the local evaluator does not support.
    """
    failed: list[str] = []
    passed: dict[str, int] = {}
    for table, ruleset in rulesets.items():
        staged = spark.read.parquet(staged_path(lake_root, run_id, table, run_date))
        batches = staged._collect_as_arrow()
        # A table without rows that day (no reviews) comes back without batches: its declared columns, empty.
        arrow = pa.Table.from_batches(batches) if batches else curated.arrow_schema(table).empty_table()
        evaluation = evaluate(arrow, night_ruleset(table, ruleset))
        failed += [f"{table}: {result.rule} ({result.detail})" for result in evaluation.failed]
        passed[table] = len(evaluation.results) - len(evaluation.failed)
    if failed:
        raise DayFailedChecks(f"{run_date}: {len(failed)} data-quality rule(s) failed: " + "; ".join(failed))
    return passed


class StagingNotChecked(RuntimeError):  # noqa: N818 - "staging not checked" is the message
    """Publish was asked for a run's staged day that its quality step did not mark as checked: nothing is published."""


class FileIdentity(NamedTuple):
    """A staged file as its quality step saw it: its size in bytes and the hex SHA-256 of its content."""

    size: int
    sha256: str


def _file_identity(files: LakeFiles, key: str) -> FileIdentity:
    """`key`'s size and SHA-256, read through the lake's file system (a streamed GetObject on S3).

    The content itself, the same way on S3 and a local directory: pyarrow's listing gives no ETag (which on S3
    depends on how the object was uploaded, whole or in parts), and S3 keeps modification times to the second,
    so a file put again within the same second at the same size would look unchanged.
    """
    digest, size = hashlib.sha256(), 0
    with files.filesystem.open_input_stream(files.path(key)) as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return FileIdentity(size, digest.hexdigest())


def _staged_files(files: LakeFiles, run_date: date, run_id: str) -> dict[str, dict[str, FileIdentity]]:
    """{table: {key: identity}} of every file staged for the day; Spark names every write's files anew."""
    return {
        t: {key: _file_identity(files, key) for key in files.files(staged_path("", run_id, t, run_date))}
        for t in lake_layout.CURATED_TABLES
    }


def mark_checked(lake_root: str, run_date: date, run_id: str, passed: dict[str, int]) -> str:
    """Record that the run's staged day passed its checks; returns the marker's lake key.

    Written by the quality step once every rule passed: `lake_layout.checked_marker_key`, JSON
    {"run_id", "day": "YYYY-MM-DD", "rules_passed": {table: n}, "staged": {table: {file key: {"size": bytes,
    "sha256": hex}}}}. Each staged file is read to take its digest (on S3, GetObject of staging/), so that
    staging rewritten after the checks, even in place under the same key, is not taken as checked.
    """
    files = LakeFiles.from_uri(lake_root)
    key = lake_layout.checked_marker_key(run_id, run_date)
    staged = {
        t: {k: i._asdict() for k, i in keys.items()} for t, keys in _staged_files(files, run_date, run_id).items()
    }
    body = {"run_id": run_id, "day": run_date.isoformat(), "rules_passed": passed, "staged": staged}
    files.write_text(key, json.dumps(body, indent=2))
    return key


def _unchecked_tables(rules_passed: Mapping[str, Any]) -> list[str]:
    """The curated tables (all of which publish publishes) on which the marker says no rule was evaluated."""
    return [t for t in lake_layout.CURATED_TABLES if not (type(rules_passed.get(t)) is int and rules_passed[t] > 0)]


def _changes(
    checked: Mapping[str, Mapping[str, FileIdentity]], now: Mapping[str, Mapping[str, FileIdentity]]
) -> list[str]:
    """One line per staged file that is not as it was checked: `table: key: what differs`."""
    changes = []
    for table in sorted(set(checked) | set(now)):
        before, after = checked.get(table, {}), now.get(table, {})
        for key in sorted(set(before) | set(after)):
            was, is_ = before.get(key), after.get(key)
            if was is None:
                changes.append(f"{table}: {key}: staged after the check")
            elif is_ is None:
                changes.append(f"{table}: {key}: removed after the check")
            elif was.size != is_.size:
                changes.append(f"{table}: {key}: {was.size} bytes when checked, {is_.size} now")
            elif was.sha256 != is_.sha256:
                changes.append(f"{table}: {key}: content differs (sha256 {was.sha256[:12]}… when checked, "
                               f"{is_.sha256[:12]}… now)")  # fmt: skip
    return changes


def _read_marker(text: str) -> tuple[str, str, dict[str, Any], dict[str, dict[str, FileIdentity]]]:
    """(run id, day, rules passed, staged files) of a marker's text; ValueError, KeyError or TypeError if
    it is not one `mark_checked` writes (an older marker that lists file names only included)."""
    body = json.loads(text)
    staged = {
        str(table): {str(key): FileIdentity(int(i["size"]), str(i["sha256"])) for key, i in keys.items()}
        for table, keys in body["staged"].items()
    }
    return str(body["run_id"]), str(body["day"]), dict(body["rules_passed"]), staged


def require_checked(files: LakeFiles, run_date: date, run_id: str) -> None:
    """Raise StagingNotChecked, naming the run and the day, unless the run's staging for the day is what its
    quality step marked as checked (`mark_checked`): the marker exists and names this run and day, some rule
    was evaluated on every curated table, and the files staged now are those it lists, each of the same size
    and SHA-256. The message names each table no rule checked and each file changed, and how."""
    key = lake_layout.checked_marker_key(run_id, run_date)
    text = files.read_text(key)
    where = f"run {run_id}, day {run_date}: nothing published:"
    if text is None:
        raise StagingNotChecked(f"{where} its staging was not checked by its quality step (no {key})")
    try:
        marked_run, marked_day, rules_passed, staged = _read_marker(text)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise StagingNotChecked(f"{where} {key} is not a quality marker ({error!r})") from error
    if (marked_run, marked_day) != (run_id, run_date.isoformat()):
        raise StagingNotChecked(f"{where} {key} marks run {marked_run}, day {marked_day}")
    problems = []
    unchecked = _unchecked_tables(rules_passed)
    if unchecked:
        problems.append(
            f"no rule checked {', '.join(unchecked)} (each needs a ruleset in the quality job's --rulesets)"
        )
    changes = _changes(staged, _staged_files(files, run_date, run_id))
    if changes:
        problems.append(f"its staging changed after its quality step checked it ({key}): " + "; ".join(changes))
    if problems:
        raise StagingNotChecked(f"{where} " + "; and ".join(problems))
