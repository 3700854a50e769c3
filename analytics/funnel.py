"""The sales rate's funnel tables (q4_sales_rate's rows): per category and per product, added up over the days."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from html import escape
from typing import Any

from analytics.product_labels import product_labels

Row = dict[str, Any]
Group = tuple[tuple[str, ...], list[Row]]


def by_product(rows: list[Row]) -> list[Group]:
    """The rows per product id, each product's with its (label, category): its name and category on its latest
    row, the id added where names read alike (`analytics.product_labels`: `Shirt (#10)`).

    Keyed by the id, so no two products ever share a row, whatever their names.
    """
    by_id: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_id[str(row["product_id"])].append(row)
    latest = {key: max(rs, key=lambda r: r["business_date"]) for key, rs in by_id.items()}
    labels = product_labels({key: str(row["product"]) for key, row in latest.items()})
    return [((labels[key], str(latest[key]["category"])), rs) for key, rs in by_id.items()]


def funnel_rows(groups: Iterable[Group]) -> list[Group]:
    """The groups as (labels, rows) pairs, by revenue, highest first, then by labels."""
    return sorted(groups, key=lambda kv: (-sum(Decimal(r["revenue"]) for r in kv[1]), kv[0]))


def funnel_table(labels: tuple[str, ...], groups: list[Group]) -> str:
    """An HTML table: a row per group, its labels, units, revenue, sessions viewing/carting/buying, and the rates."""
    body = []
    for key, rs in groups:
        viewing, carting, buying = (
            sum(r[k] for r in rs) for k in ("viewing_sessions", "carting_sessions", "buying_sessions")
        )
        body.append(
            "<tr>"
            + "".join(f"<td>{escape(part)}</td>" for part in key)
            + f"<td class='n'>{sum(r['units'] for r in rs)}</td>"
            f"<td class='n'>{sum(Decimal(r['revenue']) for r in rs):,.2f}</td><td class='n'>{viewing}</td>"
            f"<td class='n'>{carting}</td><td class='n'>{buying}</td><td class='n'>{_rate(carting, viewing)}</td>"
            f"<td class='n'>{_rate(buying, carting)}</td></tr>"
        )
    columns = (*labels, "units", "revenue", "viewed", "carted", "bought", "view → cart", "cart → purchase")
    head = "".join(f"<th>{escape(column)}</th>" for column in columns)
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"
