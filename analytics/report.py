"""The marketing report: every question's answer for a range of Seoul days, as one static HTML page.

Self-contained: inline CSS and SVG, no script, no fonts or images fetched, and a
Content-Security-Policy that forbids fetching anything, so it reads the same offline, attached
to an e-mail, or from a bucket.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from analytics.funnel import by_product, funnel_rows, funnel_table
from analytics.lake import Lake, run_query, tables_read_by
from analytics.product_labels import with_labels
from analytics.queries import query
from shoplake import curated

Row = dict[str, Any]
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Colour-blind-safe categorical palette (Okabe–Ito), one colour per channel or star rating.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Apple SD Gothic Neo","Malgun Gothic",
"Noto Sans CJK KR","Noto Sans KR",sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1d2733;color:#fff;padding:20px 32px}
header h1{margin:0;font-size:24px}
header p{margin:4px 0 0;opacity:.8}
main{padding:8px 32px 32px;max-width:1200px}
section{background:#fff;border-radius:8px;padding:16px 24px;margin:16px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{font-size:19px;margin:4px 0 4px}
h3{font-size:15px;margin:16px 0 6px}
p.why{margin:0 0 8px;color:#56606b}
p.empty{color:#8a5a00;background:#fff6e0;padding:8px 12px;border-radius:6px}
table{border-collapse:collapse;font-size:13px;margin:4px 0}
th,td{padding:4px 10px;text-align:left;border-bottom:1px solid #e6e9ee}
th{color:#56606b;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:flex;flex-wrap:wrap;gap:24px}
details summary{cursor:pointer;color:#0072B2;margin:6px 0}
.legend span{display:inline-block;margin-right:14px;font-size:13px}
.legend i{display:inline-block;width:11px;height:11px;margin-right:5px;border-radius:2px;vertical-align:-1px}
svg text{font-size:11px;fill:#56606b}
"""


QUESTIONS = (
    "q1_busiest_hours",
    "q2_offline_channels",
    "q3_popular_products",
    "q4_sales_rate",
    "q5_review_ratings",
    "q5_low_rated_comments",
)


def collect(lake: Lake, first_day: date, last_day: date) -> dict[str, list[Row]]:
    """Each question's rows for the Seoul days first_day..last_day."""
    return {name: run_query(lake, query(name), first_day, last_day).to_pylist() for name in QUESTIONS}


def build_report(lake_fs: pafs.FileSystem, root: str, start: date, end: date, out: Path) -> Path:
    """Answer every question for the Seoul days start..end from the lake at `root` on `lake_fs`, as HTML in `out`.

    Raises NoLakeError (naming where it looked, and for what) when `root` holds none of the lake's tables.
    """
    lake = Lake(lake_fs, root)
    lake.tables_found()
    return write_page(out, render(collect(lake, start, end), start, end, source=root))


def write_page(out: Path, html: str) -> Path:
    """Write `html` to `out`, replacing it only with the whole page: written beside it first, then renamed over it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
    partial = Path(name)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(html)
        partial.chmod(0o644)  # as a page written in place would be: readable by whoever may read the folder
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def is_empty(answers: dict[str, list[Row]]) -> bool:
    """Whether no question has an answer: the lake holds nothing for the days asked."""
    return not any(answers.values())


# ---------------------------------------------------------------- page


def render(answers: dict[str, list[Row]], start: date, end: date, *, source: str) -> str:
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        _section(answers, "q1_busiest_hours", _busiest_hours, start, end),
        _section(answers, "q2_offline_channels", _offline_channels, start, end),
        _section(answers, "q3_popular_products", _popular_products, start, end),
        _section(answers, "q4_sales_rate", _sales_rate, start, end),
        _section(answers, "q5_review_ratings", _reviews, start, end),
        _section(answers, "q5_low_rated_comments", _low_rated_comments, start, end),
    ]
    nothing = (
        f"<p class='empty'>This lake holds no data for the Seoul days {start} to {end}: every answer below is empty. "
        "Check the days asked for, and that the lake's writers (the clickstream, the survey parser, the nightly ETL) "
        "have run for them.</p>"
        if is_empty(answers)
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>shoplake marketing report {start} – {end}</title><style>{STYLE}</style></head>
<body><header><h1>shoplake marketing report</h1>
<p>Seoul days {start} to {end} · from {escape(source)} · made {made}</p></header>
<main>{nothing}{"".join(sections)}</main></body></html>
"""


def _section(answers: dict[str, list[Row]], name: str, body: Callable[[list[Row]], str], start: date, end: date) -> str:
    the_query = query(name)
    heading = f"<h2>{escape(the_query.title)}</h2><p class='why'>{escape(_why(the_query.description, start, end))}</p>"
    if answers[name]:
        content = body(answers[name])
    else:
        # The facts it reads: a dimension (the products' names) never makes an answer.
        tables = " and ".join(t.name for t in tables_read_by(the_query) if t.name not in curated.DIMENSIONS)
        content = f"<p class='empty'>Nothing in {escape(tables)} for these days yet.</p>"
    return f"<section id='{name}'>{heading}{content}</section>"


def _why(description: str, start: date, end: date) -> str:
    """The query's own description, up to the first sentence about how it is computed, with the range's dates."""
    first = description.split(". ", 1)[0].split(": ", 1)[-1].replace("first_key..last_key", f"{start} to {end}")
    return first[:1].upper() + first[1:].rstrip(".") + "."


# ---------------------------------------------------------------- 1. busiest hours


def _busiest_hours(rows: list[Row]) -> str:
    maps = []
    for clock, label in (("korea", "Korea time"), ("visitor", "The visitor's own time")):
        cells = {(r["day_of_week"], r["hour_of_day"]): r for r in rows if r["clock"] == clock}
        maps.append(f"<div><h3>{label}</h3>{_heat_map(cells)}</div>")
    return f"<div class='grid'>{''.join(maps)}</div>"


def _heat_map(cells: dict[tuple[int, int], Row]) -> str:
    size, left, top = 19, 34, 18
    peak = max((r["visitors"] for r in cells.values()), default=0) or 1
    parts = [f"<text x='{left + h * size + 3}' y='12'>{h}</text>" for h in range(0, 24, 3)]
    for day in range(1, 8):
        y = top + (day - 1) * size
        parts.append(f"<text x='0' y='{y + 13}'>{DAYS[day - 1]}</text>")
        for hour in range(24):
            row = cells.get((day, hour))
            visitors = row["visitors"] if row else 0
            sessions = row["sessions"] if row else 0
            light = 96 - round(60 * visitors / peak)
            parts.append(
                f"<rect x='{left + hour * size}' y='{y}' width='{size - 2}' height='{size - 2}' rx='2' "
                f"fill='hsl(212,70%,{light}%)'><title>{DAYS[day - 1]} {hour:02d}:00 · {visitors} visitors, "
                f"{sessions} sessions</title></rect>"
            )
    width, height = left + 24 * size, top + 7 * size
    label = "visitors by day of week and hour"
    return f"<svg width='{width}' height='{height}' role='img' aria-label='{label}'>{''.join(parts)}</svg>"


# ---------------------------------------------------------------- 2. offline channels


def _offline_channels(rows: list[Row]) -> str:
    channels = sorted(
        {r["channel"] for r in rows if r["breakdown"] == "all"}, key=lambda c: _total(rows, c), reverse=True
    )
    colour = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(channels)}
    legend = "".join(f"<span><i style='background:{colour[c]}'></i>{escape(c)}</span>" for c in channels)
    blocks = [f"<div class='legend'>{legend}</div>"]
    for breakdown, label in (
        ("all", "All answers"),
        ("country", "By country"),
        ("age_group", "By age group"),
        ("week", "Weekly trend"),
        ("region", "By region"),
    ):
        segments: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            if row["breakdown"] == breakdown:
                segments[row["segment"]].append(row)
        if segments:
            blocks.append(f"<h3>{label}</h3>{_stacked_bars(segments, colour)}")
    return "".join(blocks)


def _total(rows: list[Row], channel: str) -> int:
    return sum(r["answers"] for r in rows if r["breakdown"] == "all" and r["channel"] == channel)


def _stacked_bars(segments: dict[str, list[Row]], colour: dict[str, str]) -> str:
    width, label_width, bar = 520, 130, 18
    parts = []
    for index, (segment, rows) in enumerate(sorted(segments.items())):
        y = index * (bar + 6)
        parts.append(f"<text x='0' y='{y + 13}'>{escape(segment)}</text>")
        x = float(label_width)
        for row in sorted(rows, key=lambda r: list(colour).index(r["channel"]) if r["channel"] in colour else 99):
            share_width = width * float(row["share"])
            parts.append(
                f"<rect x='{x:.1f}' y='{y}' width='{share_width:.1f}' height='{bar}' "
                f"fill='{colour.get(row['channel'], '#999')}'><title>{escape(segment)} · {escape(row['channel'])}: "
                f"{row['answers']} answers, {float(row['share']):.0%}</title></rect>"
            )
            x += share_width
        total = sum(r["answers"] for r in rows)
        parts.append(f"<text x='{label_width + width + 6}' y='{y + 13}'>{total}</text>")
    height = len(segments) * (bar + 6)
    return f"<svg width='{label_width + width + 40}' height='{height}' role='img'>{''.join(parts)}</svg>"


# ---------------------------------------------------------------- 3. popular products


# The groups shown at once; the others are one click away (a <details>, no script).
GROUPS_SHOWN = 12


def _popular_products(rows: list[Row]) -> str:
    groups: dict[tuple[str, ...], dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for row in with_labels(rows, "item"):  # a product's item is its name, with its id where names read alike
        key = (row["age_group"], row["gender"], row["country"], row["customer"])
        groups[key][row["level"]].append(row)
    # Largest groups first: by the units of their top categories.
    ordered = sorted(groups.items(), key=lambda kv: (-sum(r["units"] for r in kv[1]["category"]), kv[0]))
    table = _groups_table(ordered[:GROUPS_SHOWN])
    if len(ordered) <= GROUPS_SHOWN:
        return table
    rest = _groups_table(ordered[GROUPS_SHOWN:])
    return f"{table}<details><summary>The other {len(ordered) - GROUPS_SHOWN} groups</summary>{rest}</details>"


def _groups_table(groups: list[tuple[tuple[str, ...], dict[str, list[Row]]]]) -> str:
    body = []
    for (age_group, gender, country, customer), levels in groups:
        tops = [
            ", ".join(f"{escape(str(r['item']))} ({r['units']})" for r in levels[level])
            for level in ("category", "product")
        ]
        body.append(
            f"<tr><td>{escape(age_group)}</td><td>{escape(gender)}</td><td>{escape(country)}</td>"
            f"<td>{escape(customer)}</td><td>{tops[0]}</td><td>{tops[1]}</td></tr>"
        )
    head = "".join(
        f"<th>{label}</th>"
        for label in ("age", "gender", "country", "customer", "top categories (units)", "top products (units)")
    )
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


# ---------------------------------------------------------------- 4. sales rate


def _sales_rate(rows: list[Row]) -> str:
    by_day: dict[date, list[Row]] = defaultdict(list)
    by_category: dict[tuple[str, ...], list[Row]] = defaultdict(list)
    for row in rows:
        by_day[row["business_date"]].append(row)
        by_category[(row["category"],)].append(row)
    products = funnel_rows(by_product(rows))
    revenue = [(day, float(sum(Decimal(r["revenue"]) for r in rs))) for day, rs in sorted(by_day.items())]
    units = [(day, float(sum(r["units"] for r in rs))) for day, rs in sorted(by_day.items())]
    shown = funnel_table(("product", "category"), products[:GROUPS_SHOWN])
    if len(products) > GROUPS_SHOWN:
        rest = funnel_table(("product", "category"), products[GROUPS_SHOWN:])
        shown += f"<details><summary>The other {len(products) - GROUPS_SHOWN} products</summary>{rest}</details>"
    return (
        f"<div class='grid'><div><h3>Revenue per day</h3>{_bars(revenue)}</div>"
        f"<div><h3>Units per day</h3>{_bars(units)}</div></div>"
        "<p class='why'>Funnel figures are sessions per day, added up over the days.</p>"
        f"<h3>Per category</h3>{funnel_table(('category',), funnel_rows(by_category.items()))}"
        f"<h3>Per product, by revenue</h3>{shown}"
    )


def _bars(points: Sequence[tuple[Any, float]], *, width: int = 460, height: int = 150) -> str:
    peak = max((v for _, v in points), default=0) or 1
    step = width / max(len(points), 1)
    parts = []
    for index, (label, value) in enumerate(points):
        bar_height = (height - 30) * value / peak
        x = index * step
        parts.append(
            f"<rect x='{x + 2:.1f}' y='{height - 18 - bar_height:.1f}' width='{max(step - 4, 1):.1f}' "
            f"height='{bar_height:.1f}' fill='{PALETTE[0]}'><title>{label}: {value:,.2f}</title></rect>"
        )
    if 0 < len(points) <= 8:  # few bars: each its label
        parts += [
            f"<text x='{index * step + step / 2:.1f}' y='{height - 4}' text-anchor='middle'>{label}</text>"
            for index, (label, _) in enumerate(points)
        ]
    elif points:
        parts.append(f"<text x='0' y='{height - 4}'>{points[0][0]}</text>")
        parts.append(f"<text x='{width}' y='{height - 4}' text-anchor='end'>{points[-1][0]}</text>")
    parts.append(f"<text x='0' y='10'>max {peak:,.2f}</text>")
    return f"<svg width='{width}' height='{height}' role='img'>{''.join(parts)}</svg>"


# ---------------------------------------------------------------- 5. reviews

STARS = ("one_star", "two_stars", "three_stars", "four_stars", "five_stars")


def _reviews(rows: list[Row]) -> str:
    rows = with_labels(rows, "item")
    categories = [r for r in rows if r["level"] == "category"]
    weeks = [r for r in rows if r["level"] == "week"]
    worst = sorted((r for r in rows if r["worst_place"] is not None), key=lambda r: r["worst_place"])[:10]
    overall = [(f"{n}★", float(sum(r[key] for r in weeks))) for n, key in enumerate(STARS, start=1)]
    trend = [(r["item"], float(r["average_rating"])) for r in weeks]
    parts = [
        "<div class='grid'>",
        f"<div><h3>Rating distribution</h3>{_bars(overall, width=300)}</div>",
        f"<div><h3>Average rating per week</h3>{_bars(trend, width=300)}</div>",
        "</div>",
        "<h3>Per category</h3>",
        _table(
            categories,
            ("item", "reviews", "average_rating", *STARS),
            ("category", "reviews", "average", "1★", "2★", "3★", "4★", "5★"),
        ),
        "<h3>Worst-rated products (three reviews or more)</h3>",
        _table(
            worst,
            ("worst_place", "item", "category", "reviews", "average_rating"),
            ("", "product", "category", "reviews", "average"),
        )
        if worst
        else "<p class='empty'>No product has three reviews yet.</p>",
    ]
    return "".join(parts)


def _low_rated_comments(rows: list[Row]) -> str:
    return _table(
        with_labels(rows, "product"),
        ("business_date", "product", "category", "rating", "body"),
        ("day", "product", "category", "rating", "comment"),
    )


def _table(rows: Iterable[Row], keys: Sequence[str], labels: Sequence[str]) -> str:
    head = "".join(f"<th>{escape(label)}</th>" for label in labels)
    body = []
    for row in rows:
        cells = []
        for key in keys:
            value = row[key]
            numeric = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
            cells.append(f"<td class='n'>{value}</td>" if numeric else f"<td>{escape(str(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"
