"""The busiest hours: distinct visitors, sessions and page views per hour, from the clickstream in the lake."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

from shoplake.business import EventType

PAGE_VIEWS = (EventType.PAGE_VIEW.value, EventType.PRODUCT_VIEW.value)


def distinct_events(events: DataFrame) -> DataFrame:
    """One row per `event_id`: the clickstream is at least once, and each event counts once.

    The same event reaches the lake more than once when the producer resends a batch Kinesis took
    but did not answer, or a redrive cut off before moving its error object is run again. Of the
    rows sharing an `event_id`, the one with the earliest `event_time` is kept (then the least by
    every other column, so the choice never depends on how Spark split the rows). Rows without an
    `event_id` (none: the transform requires one) are each kept. Same columns as `events`.
    """
    others = [name for name in events.columns if name not in ("event_id", "event_time")]
    first = F.min(F.struct("event_time", *others)).alias("first")
    with_id = events.where(F.col("event_id").isNotNull()).groupBy("event_id").agg(first)
    chosen = with_id.select("event_id", "first.*").select(*events.columns)
    return chosen.unionByName(events.where(F.col("event_id").isNull()))


def hourly_traffic(events: DataFrame) -> DataFrame:
    """Per UTC hour, people only (crawlers are flagged in the lake and left out here), each event once.

    A visitor is a signed-in user, or else a session: anonymous visitors count once per session.

    `events` has the clickstream columns (`contract.FIELDS`): at least `event_id`, `event_time`,
    `event_type`, `user_id`, `session_id`, `is_bot`. Events repeated under one `event_id` count once
    (`distinct_events`). Returns columns `hour` (the event time truncated to its hour: the same instant
    in any whole-hour session time zone), `visitors`, `sessions` and `page_views` (page and product
    views), all bigint. Rows whose `is_bot` is NULL are left out too.
    """
    people = distinct_events(events).where(~F.col("is_bot"))
    visitor = F.coalesce(F.concat(F.lit("u:"), "user_id"), F.concat(F.lit("s:"), "session_id"))
    return people.groupBy(F.date_trunc("hour", "event_time").alias("hour")).agg(
        F.countDistinct(visitor).alias("visitors"),
        F.countDistinct("session_id").alias("sessions"),
        F.sum(F.col("event_type").isin(*PAGE_VIEWS).cast("int")).alias("page_views"),
    )
