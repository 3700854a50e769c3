"""A local SparkSession as Glue 5.0 runs one: Spark 3.5, UTC session time, the PostgreSQL JDBC driver.

The tests, the local stack's Glue runner and the ETL benchmark all start Spark here.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

# Debian's libpostgresql-jdbc-java; `make test` installs it where it can.
JDBC_DRIVER = Path("/usr/share/java/postgresql.jar")
# Spark's own start-up chatter (native-library and default-level notices) stays out of the
# demo's and the tests' output; errors still show.
_LOG4J2 = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
"""
# HotSpot writes each JVM's performance data under /tmp/hsperfdata_<user> whatever TMPDIR or
# java.io.tmpdir say, and leaves that directory behind; nothing here reads it (jstat, jps), so
# neither JVM pyspark starts (spark-submit's launcher, then the driver) writes it.
NO_PERF_DATA = "-XX:-UsePerfData"


def local_spark(app_name: str = "shoplake", *, cores: int = 2, memory: str = "1g") -> Any:
    """The process's SparkSession, started on loopback with workers on this interpreter.

    Its scratch files (shuffle and block files, the JVM's unpacked native libraries) go to this
    process's temporary directory, `tempfile.gettempdir()`, as every other temporary file does, and
    its JVMs write no performance data to /tmp (`NO_PERF_DATA`).
    """
    from pyspark.sql import SparkSession  # noqa: PLC0415 - Spark (and its JVM) only where it is used

    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers on this interpreter, not the machine's default
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # driver and workers talk over loopback only
    # bin/spark-class runs a launcher JVM with $SPARK_LAUNCHER_OPTS to build the driver's command.
    launcher_options = os.environ.get("SPARK_LAUNCHER_OPTS", "")
    if NO_PERF_DATA not in launcher_options.split():
        os.environ["SPARK_LAUNCHER_OPTS"] = f"{launcher_options} {NO_PERF_DATA}".strip()
    scratch = tempfile.gettempdir()
    log_config = Path(scratch) / "shoplake-spark-log4j2.properties"
    log_config.write_text(_LOG4J2, encoding="utf-8")
    builder = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(cores))
        .config("spark.driver.memory", memory)
        .config("spark.local.dir", scratch)
        .config(
            "spark.driver.extraJavaOptions",
            f"-Dlog4j.configurationFile={log_config} -Djava.io.tmpdir={scratch} {NO_PERF_DATA}",
        )
    )
    if JDBC_DRIVER.exists():
        builder = builder.config("spark.jars", str(JDBC_DRIVER))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
