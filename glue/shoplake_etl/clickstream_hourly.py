"""The busiest hours: distinct visitors, sessions and page views per hour, from the clickstream in the lake."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention

from shoplake.business import EventType

PAGE_VIEWS = (EventType.PAGE_VIEW.value, EventType.PRODUCT_VIEW.value)


def hourly_traffic(events: DataFrame) -> DataFrame:
    """Per UTC hour, people only (crawlers are flagged in the lake and left out here).

    A visitor is a signed-in user, or else a session: anonymous visitors count once per session.

    `events` has the clickstream columns (`contract.FIELDS`): at least `event_time`, `event_type`,
    `user_id`, `session_id`, `is_bot`. Returns columns `hour` (the event time truncated to its hour: the
    same instant in any whole-hour session time zone), `visitors`, `sessions` and `page_views` (page and
    product views), all bigint. Rows whose `is_bot` is NULL are left out too.
    """
    people = events.where(~F.col("is_bot"))
    visitor = F.coalesce(F.concat(F.lit("u:"), "user_id"), F.concat(F.lit("s:"), "session_id"))
    return people.groupBy(F.date_trunc("hour", "event_time").alias("hour")).agg(
        F.countDistinct(visitor).alias("visitors"),
        F.countDistinct("session_id").alias("sessions"),
        F.sum(F.col("event_type").isin(*PAGE_VIEWS).cast("int")).alias("page_views"),
    )
