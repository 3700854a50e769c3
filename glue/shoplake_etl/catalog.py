"""Publication in the Glue Data Catalog: a day's partition points at the version just written.

Athena reads a partition from the location the catalog gives it. Writing a new version
beside the old one and then pointing the partition at it is the one step a query of that table
can see: it finds the whole old day or the whole new one. The four tables of a day move together
through `shoplake_etl.publication`, whose day manifest is what the catch-up counts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from shoplake import lake_layout, nightly_etl

# A scheduled night catches up at most this many days of missed changes; older gaps are
# back-filled by date (docs/nightly-etl.md), so that one night never grows without bound.
MAX_CATCH_UP_DAYS = 7


def partition_values(day: date) -> list[str]:
    """year, month, day as the lake's folders spell them: year=2026/month=11/day=04/ -> ["2026", "11", "04"].

    The partition's `Values` for Glue's partition APIs, zero-padded text.
    """
    return [folder.split("=", 1)[1] for folder in lake_layout.partition_path(day).strip("/").split("/")]


def point_partition(glue: Any, database: str, table: str, day: date, location: str) -> bool:
    """Create or move the day's partition of `table` to `location`; True if it was created.

    `glue` is a boto3 Glue client; the partition copies the table's `StorageDescriptor` with `Location`
    replaced (Glue API: GetTable, CreatePartition, UpdatePartition). Raises the client's errors, e.g.
    `EntityNotFoundException` for an unknown database or table.
    """
    described = glue.get_table(DatabaseName=database, Name=table)["Table"]
    storage = {**described["StorageDescriptor"], "Location": location}
    partition = {"Values": partition_values(day), "StorageDescriptor": storage}
    try:
        glue.create_partition(DatabaseName=database, TableName=table, PartitionInput=partition)
    except glue.exceptions.AlreadyExistsException:
        glue.update_partition(
            DatabaseName=database, TableName=table, PartitionValueList=partition["Values"], PartitionInput=partition
        )
        return False
    return True


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


def catch_up_since(run_date: date, published: Iterable[date]) -> date:
    """The first day whose changes a scheduled night must extract: the day after the last day published whole.

    `published` are the days with a manifest (`publication.published_days`).

    Without any earlier success (the first night), or after a re-run of a published day, just the day itself.
    Never earlier than `MAX_CATCH_UP_DAYS - 1` days before `run_date`.
    """
    earlier = [day for day in published if day < run_date]
    if not earlier:
        return run_date
    return max(max(earlier) + timedelta(days=1), run_date - timedelta(days=MAX_CATCH_UP_DAYS - 1))


def days_left_behind(run_date: date, published: Iterable[date], *, catch_up: bool) -> list[date]:
    """The days whose changes no night will extract once this run (catching up or not) is published, in order.

    `published` are the days with a manifest. A scheduled night (`catch_up`) leaves behind the days between
    the last day published before `run_date` and `catch_up_since` (beyond `MAX_CATCH_UP_DAYS`). A day run by
    date leaves behind the unpublished days just below it, unless a later day is published (whose night
    caught them up): the next night counts from the newest manifest. Nothing before the first published day.
    """
    days = sorted(set(published))
    earlier = [day for day in days if day < run_date]
    if not earlier or (not catch_up and any(day > run_date for day in days)):
        return []
    until = catch_up_since(run_date, days) if catch_up else run_date
    first = max(earlier) + timedelta(days=1)
    return [first + timedelta(days=n) for n in range((until - first).days)]


# The back-fill commands spelled out in a night's summary; more days are counted, not spelled.
SPELLED_BACK_FILLS = 3


def left_behind_notice(days: list[date], state_machine_arn: str) -> str:
    """What a night's summary says of `days` left behind: "" for none, else one sentence, starting with a space.

    It names the days (first to last, and how many) and spells the back-fill command of the first
    `SPELLED_BACK_FILLS`, as the state machine spells its re-run commands (`shoplake.nightly_etl.rerun_command`):
    `aws stepfunctions start-execution --state-machine-arn <arn> --input "{\"run_date\":\"YYYY-MM-DD\"}"`.
    """
    if not days:
        return ""
    commands = "; ".join(nightly_etl.rerun_command(state_machine_arn, str(day)) for day in days[:SPELLED_BACK_FILLS])
    more = len(days) - SPELLED_BACK_FILLS
    rest = f"; and the same for each of the {more} day(s) after, up to {days[-1]}" if more > 0 else ""
    span = f"{days[0]}" if len(days) == 1 else f"{days[0]} to {days[-1]} ({len(days)} days)"
    return (
        f" No night will catch up {span}: beyond the {MAX_CATCH_UP_DAYS} days a night catches up, or below a day"
        f" run by date. Back-fill each, oldest first: {commands}{rest}."
    )
