"""What the nightly ETL reads from the shop database: per table, only the columns the analyses need.

Contact data (customer_contact: email, names, phone, address) is never read. The customer's
id leaves the database only as a salted hash, the same every night, so that a customer's
purchases and segment still join but the lake cannot name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SourceTable:
    name: str
    key: str
    columns: tuple[str, ...]
    # Large tables are read by updated_at since the last successful run; small ones whole.
    incremental: bool


SOURCE_TABLES: tuple[SourceTable, ...] = (
    SourceTable(
        "customer",
        "customer_id",
        ("customer_id", "birth_year", "gender", "country", "region", "is_test_account", "signed_up_at", "updated_at"),
        incremental=False,
    ),
    SourceTable(
        "product", "product_id", ("product_id", "category", "price", "currency", "created_at", "updated_at"), False
    ),
    SourceTable(
        "purchase",
        "purchase_id",
        (
            "purchase_id",
            "order_id",
            "customer_id",
            "product_id",
            "quantity",
            "unit_price",
            "currency",
            "status",
            "ordered_at",
            "paid_at",
            "updated_at",
        ),
        incremental=True,
    ),
    SourceTable(
        "review", "review_id", ("review_id", "purchase_id", "rating", "body", "created_at", "updated_at"), True
    ),
)
PERSONAL_KEYS = {"customer_id": "customer_key"}


def extract_query(table: SourceTable, since: datetime | None, until: datetime) -> str:
    """The SQL the extract sends over JDBC; the bounds are our own datetimes, never user input."""
    columns = ", ".join(f'"{c}"::text AS "{c}"' if c == "order_id" else f'"{c}"' for c in table.columns)
    where = f"updated_at < '{until.isoformat()}'"
    if table.incremental and since is not None:
        where = f"updated_at >= '{since.isoformat()}' AND {where}"
    # The literals come from our own datetimes and table declarations, never from input.
    return f'SELECT {columns} FROM "{table.name}" WHERE {where}'  # noqa: S608
