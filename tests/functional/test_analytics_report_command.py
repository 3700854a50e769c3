"""`make report` (python -m analytics): no lake is an error naming where it looked; a report never half-replaces one.

A lake that exists but holds nothing for the days asked still gets a report, which says so at
its top (and the command says so too).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from analytics import __main__ as command
from analytics import report as report_module
from tests.analytics_lake import write_clickstream, write_lake

PREVIOUS = "<html>the report made last week</html>"


def _report(lake: Path, out: Path, first: str = "2026-11-23", last: str = "2026-11-24") -> int:
    return command.main(["--lake", str(lake), "--from", first, "--to", last, "--out", str(out)])


@pytest.mark.parametrize("made", [False, True], ids=["no such directory", "an empty directory"])
def test_no_lake_there_is_an_error_naming_the_path_and_what_it_looked_for(
    tmp_path: Path, made: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a mistyped LAKE, or the local lake's folder before `make demo` filled it, and last week's report
    lake = tmp_path / "lake"
    if made:
        lake.mkdir()
    out = tmp_path / "report.html"
    out.write_text(PREVIOUS, encoding="utf-8")
    # WHEN the report is asked for
    status = _report(lake, out)
    # THEN it fails, saying where it looked and for which tables' folders
    error = capsys.readouterr().err
    assert status == 1
    assert f"no lake at {lake.resolve()}" in error
    assert "clickstream/events/" in error and "curated/sales_fact/" in error and "surveys/survey_offline_ads/" in error
    # AND last week's report is as it was
    assert out.read_text(encoding="utf-8") == PREVIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["report.html", *(["lake"] if made else [])])


def test_a_lake_with_nothing_for_the_days_asked_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a lake holding November 2026
    lake = write_lake(tmp_path / "lake")
    out = tmp_path / "report.html"
    # WHEN January 2025 is asked for
    status = _report(lake, out, "2025-01-01", "2025-01-07")
    # THEN the report is made and says at its top that the lake has nothing for those days; so does the command
    assert status == 0
    html = out.read_text(encoding="utf-8")
    assert "This lake holds no data for the Seoul days 2025-01-01 to 2025-01-07" in html
    assert "holds no data for the Seoul days 2025-01-01 to 2025-01-07" in capsys.readouterr().err


def test_a_lake_with_some_answers_has_no_such_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a lake with only the clickstream (the nightly ETL has not run)
    write_clickstream(tmp_path / "lake")
    # WHEN its days are asked for
    assert _report(tmp_path / "lake", tmp_path / "report.html") == 0
    # THEN the empty sections say so each, and the page does not claim the lake is empty
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Nothing in sales_fact for these days yet." in html
    assert "This lake holds no data" not in html
    assert capsys.readouterr().err == ""


def test_a_report_that_fails_halfway_leaves_the_previous_one_and_no_debris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN last week's report, and a lake whose answers cannot be drawn (the page fails while rendering)
    lake = write_lake(tmp_path / "lake")
    out = tmp_path / "report.html"
    out.write_text(PREVIOUS, encoding="utf-8")

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(command, "render", broken)
    # WHEN the report is made
    with pytest.raises(RuntimeError, match="drawing failed"):
        _report(lake, out)
    # THEN last week's report is untouched and nothing half-written lies beside it
    assert out.read_text(encoding="utf-8") == PREVIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake", "report.html"]


def test_a_write_that_fails_leaves_the_previous_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN last week's report, and a disk that fills while the new one is written
    lake = write_lake(tmp_path / "lake")
    out = tmp_path / "report.html"
    out.write_text(PREVIOUS, encoding="utf-8")

    class FullDisk:
        def __init__(self, descriptor: int, *args: Any, **kwargs: Any) -> None:
            self.file = os.fdopen(descriptor, *args, **kwargs)

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()

        def write(self, text: str) -> int:
            self.file.write(text[: len(text) // 2])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_module, "os", SimpleNamespace(fdopen=FullDisk))
    # WHEN the report is made
    with pytest.raises(OSError, match="No space left"):
        _report(lake, out)
    # THEN the previous report stands, and the half-written one is gone
    assert out.read_text(encoding="utf-8") == PREVIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lake", "report.html"]
