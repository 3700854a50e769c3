"""`make unit`, the fast loop, selects no test that starts Spark, a server, a browser or a build.

The markers are applied by tests/conftest.py (the `spark` fixture, the PostgreSQL fixtures,
tests/e2e) or written on the tests that start a server some other way; the Makefile's
UNIT_MARKERS expression is what `make unit` selects with.
"""

from __future__ import annotations

import re
import subprocess
import sys

from local_stack.template import ROOT


def _unit_markers() -> str:
    (expression,) = re.findall(r"^UNIT_MARKERS := (.+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    return expression.strip()


def _selected(expression: str) -> list[str]:
    run = subprocess.run(  # noqa: S603 - this interpreter, pytest's collection only
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", expression],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in run.stdout.splitlines() if "::" in line]


def test_make_unit_selects_only_the_fast_tests() -> None:
    # GIVEN what `make unit` selects
    selected = _selected(_unit_markers())
    # THEN nothing from the end-to-end suite, nothing on Spark or PostgreSQL, no browser, no sanitizer build
    assert not [test for test in selected if test.startswith("tests/e2e/")]
    assert not [test for test in selected if test.startswith("tests/functional/test_etl_day.py")]
    # (test_etl_clean.py's one test without Spark reads the business facts only)
    assert [test for test in selected if test.startswith("tests/unit/test_etl_clean.py")] == [
        "tests/unit/test_etl_clean.py::test_every_sellers_spelling_stands_for_a_category_of_the_business"
    ]
    assert not [test for test in selected if test.startswith("tests/functional/test_shop_schema.py")]
    assert not [test for test in selected if "browser" in test or "sanitizers" in test]
    assert not [test for test in selected if test.startswith("tests/functional/test_slack_notifier.py")]
    # AND the fast tests are all there, the core platform's and the pure functional ones alike
    assert any(test.startswith("tests/unit/test_deploy_settings.py::") for test in selected)
    assert any(test.startswith("tests/functional/test_analytics_queries.py::") for test in selected)
