"""What the nightly ETL reads from the shop database: per table, only the columns the analyses need.

Contact data (customer_contact: email, names, phone, address) is never read. The customer's
id leaves the database only as a salted hash, the same every night, so that a customer's
purchases and segment still join but the lake cannot name them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shoplake import business

# Order lines that became sales (`business.SOLD_STATUSES`), as SQL: our own constants, never input.
_SOLD_SQL = ", ".join(f"'{status.value}'" for status in business.SOLD_STATUSES)
_FIRST_SALE_SQL = (
    f"(SELECT min(p.ordered_at) FROM purchase p WHERE p.customer_id = t.customer_id AND p.status IN ({_SOLD_SQL}))"  # noqa: S608 - our own constants
)


@dataclass(frozen=True)
class SourceTable:
    """One shop table the extract reads: its name, key column, the columns read, and how.

    `derived` columns are `(alias, SQL scalar subquery over the row alias t)` pairs computed in the database.
    """

    name: str
    key: str
    columns: tuple[str, ...]
    # Large tables are read by the day's changes (updated_at in the business day); small ones whole.
    incremental: bool
    # Columns the database works out from other tables for this row (alias, SQL over `t`, the row).
    derived: tuple[tuple[str, str], ...] = ()


SOURCE_TABLES: tuple[SourceTable, ...] = (
    SourceTable(
        "customer",
        "customer_id",
        ("customer_id", "birth_year", "gender", "country", "region", "is_test_account", "signed_up_at", "updated_at"),
        incremental=False,
        # New or returning: a customer's first sale ever, which one day's purchases cannot tell.
        derived=(
            (
                "first_ordered_at",
                _FIRST_SALE_SQL,
            ),
        ),
    ),
    SourceTable(
        "product",
        "product_id",
        # The name travels to the curated tables: a marketer reads "Linen shirt", not product 3.
        ("product_id", "name", "category", "price", "currency", "created_at", "updated_at"),
        incremental=False,
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
        "review",
        "review_id",
        ("review_id", "purchase_id", "rating", "body", "created_at", "updated_at"),
        incremental=True,
        # A review comes days after its purchase, whose line is not in the day's changes: what was
        # bought, and by whom, comes with the review.
        derived=(
            ("product_id", "(SELECT p.product_id FROM purchase p WHERE p.purchase_id = t.purchase_id)"),
            ("customer_id", "(SELECT p.customer_id FROM purchase p WHERE p.purchase_id = t.purchase_id)"),
        ),
    ),
)
PERSONAL_KEYS = {"customer_id": "customer_key"}
# The database role the extract logs in as: SELECT on exactly the columns above (shop/migrations/0004_roles.sql,
# held to SOURCE_TABLES by tests/functional/shop/test_shop_database_roles.py), never the master user.
ETL_DATABASE_ROLE = "shop_etl"


def extract_query(table: SourceTable, since: datetime | None, until: datetime) -> str:
    """The SQL the extract sends over JDBC; the bounds are our own datetimes, never user input.

    An incremental table gives the changes in [since, until); a whole table gives every row as it is now.
    PostgreSQL dialect: `order_id` is cast to text, bounds are ISO 8601 literals (aware datetimes keep their
    offset, so the database compares instants). No `since` means everything before `until`.
    """
    columns = [f't."{c}"::text AS "{c}"' if c == "order_id" else f't."{c}"' for c in table.columns]
    columns += [f'{sql} AS "{alias}"' for alias, sql in table.derived]
    where = ""
    if table.incremental:
        where = f" WHERE t.updated_at < '{until.isoformat()}'"
        if since is not None:
            where += f" AND t.updated_at >= '{since.isoformat()}'"
    # The literals come from our own datetimes and table declarations, never from input.
    return f'SELECT {", ".join(columns)} FROM "{table.name}" AS t{where}'  # noqa: S608
