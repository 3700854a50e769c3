"""The marketing report: every answer on one self-contained page, made on demand for a range of days."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

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
NEEDS_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Chromium and its driver (Debian: apt-get install chromium chromium-driver; make test installs them)",
)
# Debian's fonts-dejavu-core: the plain fonts a machine without CJK fonts has.
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
KOREAN_NAME = "울 코트 Wool coat"


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


def _chromium(environment: dict[str, str] | None = None) -> Any:
    """Headless Chromium through its driver; `environment` is added to this process's for the browser."""
    from selenium import webdriver  # noqa: PLC0415 - only where a browser runs
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2400"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(CHROMEDRIVER), env={**os.environ, **(environment or {})})
    return webdriver.Chrome(options=options, service=service)


def _fonts_drawing(driver: Any, selector: str, text: str) -> dict[str, int]:
    """The fonts Chromium drew the first `selector` element holding `text` with: family -> glyphs drawn."""
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    document = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    for node in driver.execute_cdp_cmd("DOM.querySelectorAll", {"nodeId": document, "selector": selector})["nodeIds"]:
        if text in driver.execute_cdp_cmd("DOM.getOuterHTML", {"nodeId": node})["outerHTML"]:
            fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
            return {font["familyName"]: font["glyphCount"] for font in fonts}
    raise AssertionError(f"no {selector} holds {text!r}")


def _page_font_families() -> list[str]:
    """The families the report's body asks for, in order."""
    body = re.search(r"body\{font:[^ ]+ ([^;]+);", report_module.STYLE)
    assert body is not None
    return [family.strip().strip('"') for family in body[1].replace("\n", "").split(",")]


def _korean_fonts() -> set[str]:
    """The families installed here that can draw Korean (fontconfig's view), none where fc-list is missing."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return set()
    command = [fc_list, ":lang=ko", "family"]
    listed = subprocess.run(command, capture_output=True, text=True, check=False).stdout  # noqa: S603 - fontconfig's own tool
    return {family for line in listed.splitlines() for family in line.split(",")}


@pytest.mark.browser
@NEEDS_CHROMIUM
def test_the_report_renders_in_a_real_browser_without_console_errors(report: Path) -> None:
    driver = _chromium()
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


@pytest.mark.browser
@NEEDS_CHROMIUM
@pytest.mark.skipif(
    not {"Noto Sans CJK KR", "Noto Sans KR"} & _korean_fonts(),
    reason="needs a Korean font the report names (Debian: apt-get install fonts-noto-cjk; make test installs it)",
)
def test_korean_names_are_drawn_in_a_korean_font_where_one_is_installed(report: Path) -> None:
    # GIVEN a machine with a Korean font (Noto Sans CJK, as Debian installs it, holds Japanese and
    # Chinese faces too, which the browser's own fallback picks for the Hangul of an English page)
    driver = _chromium()
    try:
        # WHEN the report is opened
        driver.get(report.as_uri())
        fonts = _fonts_drawing(driver, "td", KOREAN_NAME)
    finally:
        driver.quit()
    # THEN the product's three Hangul letters are drawn in a Korean face that the page asks for
    korean = {family: glyphs for family, glyphs in fonts.items() if family in _korean_fonts() - {"DejaVu Sans"}}
    assert sum(korean.values()) == 3, fonts
    assert set(korean) <= set(_page_font_families()), fonts
    # AND its Latin letters in a plain font, as the rest of the page
    assert set(fonts) - set(korean), fonts


@pytest.mark.browser
@NEEDS_CHROMIUM
@pytest.mark.skipif(not DEJAVU.is_dir(), reason="needs the DejaVu fonts (Debian: fonts-dejavu-core)")
def test_without_cjk_fonts_the_report_is_drawn_in_the_machines_plain_sans_serif(report: Path, tmp_path: Path) -> None:
    # GIVEN a machine whose only fonts are DejaVu's (a fontconfig of the browser's own, with the usual aliases)
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"  <dir>{DEJAVU}</dir>\n  <cachedir>{tmp_path / 'cache'}</cachedir>\n"
        '  <include ignore_missing="yes">/etc/fonts/conf.d</include>\n</fontconfig>\n',
        encoding="utf-8",
    )
    driver = _chromium({"FONTCONFIG_FILE": str(config)})
    try:
        # WHEN the report is opened
        driver.get(report.as_uri())
        heading = _fonts_drawing(driver, "header", "shoplake marketing report")
        product = _fonts_drawing(driver, "td", KOREAN_NAME)
    finally:
        driver.quit()
    # THEN the heading and the names are in the plain sans-serif, none in a serif or a fixed-width face
    assert set(heading) == {"DejaVu Sans"}
    assert set(product) == {"DejaVu Sans"}


def test_many_groups_show_the_largest_first_and_fold_the_rest_away() -> None:
    # GIVEN twenty customer groups, group n having bought n units of tops
    rows: list[dict[str, Any]] = [
        {"age_group": f"g{n:02d}", "gender": "female", "country": "KR", "customer": "new", "level": level}
        | {"place": 1, "product_id": None if level == "category" else "10"}
        | {"item": "tops" if level == "category" else "Linen shirt", "units": n, "revenue": Decimal(n)}
        for n in range(1, 21)
        for level in ("category", "product")
    ]
    # WHEN the popular-products section is drawn
    html = report_module._popular_products(rows)
    # THEN the twelve largest come first, largest on top, and the other eight wait behind a click
    shown, folded = html.split("<details>")
    assert shown.index("g20") < shown.index("g19") and "g08" not in shown
    assert "The other 8 groups" in folded and "g08" in folded
