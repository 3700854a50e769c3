"""The marketing report: every answer on one self-contained page, made on demand for a range of days."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from analytics import report as report_module
from analytics.__main__ import main
from analytics.report import build_report
from local_stack.template import ROOT
from tests.analytics_lake import FIRST_DAY, LAST_DAY, write_clickstream, write_lake

# Kept after the run, for a person to look at.
SCREENSHOT = ROOT / ".local" / "analytics" / "report.png"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    lake = write_lake(tmp_path_factory.mktemp("lake"))
    yield build_report(pafs.LocalFileSystem(), str(lake), FIRST_DAY, LAST_DAY, lake.parent / "report.html")


def test_the_report_shows_every_answer(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    # the heat map's busiest cell, a channel share, a group's top product, the funnel, the ratings, a comment
    assert "Mon 10:00 · 2 visitors, 2 sessions" in html
    assert "KR · subway: 2 answers, 67%" in html
    assert "<td>tops (3)</td><td>Linen shirt (3)</td>" in html
    assert (
        "<td class='n'>2</td><td class='n'>1</td><td class='n'>1</td><td class='n'>50%</td><td class='n'>100%</td>"
        in html
    )
    assert "<td class='n'>1</td><td>Linen shirt</td><td>tops</td><td class='n'>3</td><td class='n'>2.0</td>" in html
    assert "<td>too small</td>" in html and "after the range" not in html


def test_the_report_names_products_as_the_shop_lists_them_korean_included(report: Path) -> None:
    # GIVEN curated tables carrying each product's name (one of them in Korean)
    html = report.read_text(encoding="utf-8")
    # THEN every section names products, never by their bare ids
    assert "<td>Linen shirt</td><td>tops</td>" in html  # the sales rate's product table
    assert "울 코트 Wool coat" in html
    assert not re.search(r"<td>1[0-2](?: \(\d+\))?</td>", html)
    # AND the fonts show Hangul where a CJK font is installed, a plain sans-serif everywhere else
    assert re.search(r'"Noto Sans CJK KR"[^;]*sans-serif;', html)


def test_the_report_fetches_nothing_when_viewed(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert "default-src 'none'" in html
    assert not re.search(r"""(src|href)\s*=|https?://|<script|@import|url\(""", html)


def test_a_lake_without_curated_tables_yet_still_gets_a_report_saying_so(tmp_path: Path) -> None:
    # GIVEN a lake with only the clickstream (the nightly ETL has not run)
    write_clickstream(tmp_path / "lake")
    # WHEN the report is made from the command line
    out = tmp_path / "report.html"
    args = ["--lake", str(tmp_path / "lake"), "--from", "2026-11-23", "--to", "2026-11-24", "--out", str(out)]
    assert main(args) == 0
    # THEN the clickstream's answer is there, and the other sections say which table has nothing yet
    html = out.read_text(encoding="utf-8")
    assert "Mon 10:00 · 2 visitors, 2 sessions" in html
    assert "Nothing in sales_fact for these days yet." in html


@pytest.mark.browser
@pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Chromium and its driver (Debian: apt-get install chromium chromium-driver; make test installs them)",
)
def test_the_report_renders_in_a_real_browser_without_console_errors(report: Path) -> None:
    from selenium import webdriver  # noqa: PLC0415 - only where a browser runs
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2400"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        # GIVEN the report, opened from disk as someone would open an attachment
        driver.get(report.as_uri())
        # THEN every section is there, with its charts drawn
        sections = driver.find_elements("css selector", "section")
        assert len(sections) == 6
        assert len(driver.find_elements("css selector", "#q1_busiest_hours svg rect")) == 2 * 7 * 24
        assert driver.find_element("css selector", "header h1").text == "shoplake marketing report"
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(SCREENSHOT))
        # AND the browser logged nothing at warning level or worse (a blocked fetch would be an error)
        problems = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
        assert problems == []
    finally:
        driver.quit()


def test_many_groups_show_the_largest_first_and_fold_the_rest_away() -> None:
    # GIVEN twenty customer groups, group n having bought n units of tops
    rows = [
        {"age_group": f"g{n:02d}", "gender": "female", "country": "KR", "customer": "new", "level": level}
        | {"place": 1, "item": "tops" if level == "category" else "10", "units": n, "revenue": Decimal(n)}
        for n in range(1, 21)
        for level in ("category", "product")
    ]
    # WHEN the popular-products section is drawn
    html = report_module._popular_products(rows)
    # THEN the twelve largest come first, largest on top, and the other eight wait behind a click
    shown, folded = html.split("<details>")
    assert shown.index("g20") < shown.index("g19") and "g08" not in shown
    assert "The other 8 groups" in folded and "g08" in folded
