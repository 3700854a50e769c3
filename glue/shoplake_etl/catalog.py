"""Publication in the Glue Data Catalog: a day's partition points at the version just written.

Athena reads a partition from the location the catalog gives it. Writing a new version
beside the old one and then pointing the partition at it is the one step a query can see,
and it is atomic: a query finds the whole old day or the whole new one, never half of each.
"""

from __future__ import annotations

from datetime import date
from typing import Any


def partition_values(day: date) -> list[str]:
    """year, month, day as the lake's folders spell them (lake_layout.partition_path)."""
    return [f"{day.year:04d}", f"{day.month:02d}", f"{day.day:02d}"]


def point_partition(glue: Any, database: str, table: str, day: date, location: str) -> bool:
    """Create or move the day's partition of `table` to `location`; True if it was created."""
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
