"""The sales rate's funnel tables (q4_sales_rate's rows): per category and per product, added up over the days."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from html import escape
from typing import Any

Row = dict[str, Any]


def by_product(rows: list[Row]) -> dict[tuple[str, ...], list[Row]]:
    """Rows per product id, labelled (name, category) by its latest row; a shared name gets its id: `Shirt (#10)`."""
    by_id: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_id[str(row["product_id"])].append(row)
    labels = {i: max(rs, key=lambda r: r["business_date"]) for i, rs in by_id.items()}
    names = Counter(str(r["product"]) for r in labels.values())
    return {
        (f"{r['product']} (#{i})" if names[str(r["product"])] > 1 else str(r["product"]), str(r["category"])): by_id[i]
        for i, r in labels.items()
    }


def funnel_rows(groups: dict[tuple[str, ...], list[Row]]) -> list[tuple[tuple[str, ...], list[Row]]]:
    """The groups as (label, rows) pairs, by revenue, highest first, then by label."""
    return sorted(groups.items(), key=lambda kv: (-sum(Decimal(r["revenue"]) for r in kv[1]), kv[0]))


def funnel_table(labels: tuple[str, ...], groups: list[tuple[tuple[str, ...], list[Row]]]) -> str:
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
