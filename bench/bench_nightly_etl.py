"""The nightly ETL at 1x and 10x: does a ten times bigger day take ten times as long, or worse?

Two shop databases (schemas) are seeded by local_stack.sample_history: 1x is 100,000 order lines on the
business day (20,000 customers, 1,000 products), 10x is 1,000,000 (200,000 customers,
10,000 products), each with one earlier day of history and its reviews. The whole night then
runs for the day through the job's own `run_step`, step by step as the state machine orders
them (extract each table, clean, curate, the hourly clickstream, data quality, publish), on
one local SparkSession (2 cores, as this machine has) over a local lake directory. A small
day first warms the JVM, so that neither measured run pays for start-up.

Reported: seconds for each scale, the peak memory of the whole process tree (Python and
Spark's JVM, sampled every 50 ms), and ratio = 10 / (t10 / t1): 1.0 is linear, below 1 is
worse than linear. The alternative named is linear growth itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import psutil  # type: ignore[import-untyped]  # no stubs in the pinned set
import psycopg

from local_stack.postgres import jdbc_properties, jdbc_url, shop_postgres
from local_stack.sample_history import HistorySize, seed_history
from local_stack.scratch import scratch_directory
from local_stack.spark import local_spark
from local_stack.template import load_template, night_rulesets
from shop.migrate import apply_migrations
from shoplake_etl.catalog import MemoryCatalog
from shoplake_etl.night import STEPS, NightServices, ShopDatabase, run_step
from shoplake_etl.steps import run_quality
from shoplake_etl.tables import ETL_DATABASE_ROLE, SOURCE_TABLES

NAME = "nightly_etl"
DAY = date(2026, 11, 24)
# The quality job's --rulesets, by logical id: every curated table's, as publish requires.
RULESETS = night_rulesets(load_template())


def size(scale: int) -> HistorySize:
    return HistorySize(
        customers=20_000 * scale // 10,
        products=1_000 * scale // 10,
        purchases_on_day=10_000 * scale,
        purchases_per_earlier_day=1_000 * scale,
        earlier_days=1,
    )


class PeakMemory:
    """The highest RSS of this process and its children (Spark's JVM), sampled in the background."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.05):
            try:
                rss = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
            except psutil.Error:
                continue
            self.peak = max(self.peak, rss)

    @contextmanager
    def measuring(self) -> Iterator[PeakMemory]:
        self.peak = 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


def seed(dsn: str, schema: str, scale: int) -> dict[str, int]:
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.execute(f"CREATE SCHEMA {schema}")
        connection.execute(f"SET search_path TO {schema}")
        apply_migrations(connection)
        return seed_history(connection, DAY, size(scale))


def night(spark: Any, shop: ShopDatabase, lake: str) -> float:
    """The whole night for DAY, step by step as the state machine runs it; returns seconds."""
    resources = load_template()["Resources"]

    def evaluate(logical_ids: dict[str, str], run_id: str) -> dict[str, int]:
        texts = {table: str(resources[name]["Properties"]["Ruleset"]) for table, name in logical_ids.items()}
        return run_quality(spark, lake, DAY, texts, run_id=run_id)

    started = time.perf_counter()
    for step in STEPS:
        tables = [t.name for t in SOURCE_TABLES] if step == "extract" else [""]
        for table in tables:  # the state machine extracts the tables as parallel runs
            arguments = {"table": table, "rulesets": json.dumps(RULESETS), "run_id": "bench"}
            run_step(spark, step, DAY, lake, arguments, NightServices(lambda: shop, evaluate, MemoryCatalog))
    return time.perf_counter() - started


def main() -> None:
    memory = PeakMemory()
    # The lakes (350 MB at 10x), Spark's scratch and PostgreSQL, if embedded, all go in here, removed at the end.
    with scratch_directory("bench-etl") as work, shop_postgres(work) as dsn:
        spark = local_spark("shoplake-bench", memory="4g")
        timings: dict[int, tuple[float, int, int]] = {}
        try:
            for scale in (1, 10, 100):  # 1 is the warm-up (10,000 lines); 10 is "1x", 100 is "10x"
                schema = f"bench_etl_{scale}"
                rows = seed(dsn, schema, scale)["purchase"]
                shop = ShopDatabase(jdbc_url(dsn, schema), jdbc_properties(dsn, ETL_DATABASE_ROLE), salt="bench")
                try:
                    with memory.measuring():
                        seconds = night(spark, shop, (work / f"lake-{scale}").as_uri() + "/")
                finally:
                    with psycopg.connect(dsn, autocommit=True) as connection:
                        connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                timings[scale] = (seconds, memory.peak, rows)
        finally:
            spark.stop()
    (t1, peak1, rows1), (t10, peak10, rows10) = timings[10], timings[100]
    print(
        f"{NAME} lines_on_day=100000/1000000 (all order lines {rows1:,}/{rows10:,}) "
        f"t1={t1:.1f}s t10={t10:.1f}s peak1={peak1 / 2**20:.0f}MB peak10={peak10 / 2**20:.0f}MB "
        f"ratio={10 / (t10 / t1):.2f} (10 / (t10/t1): 1.0 is linear; warm-up of 10,000 lines {timings[1][0]:.1f}s)"
    )


if __name__ == "__main__":
    main()
