"""`make report` (python -m analytics): no lake is an error naming where it looked; a report never half-replaces one.

A lake that exists but holds nothing for the days asked still gets a report, which says so at
its top (and the command says so too).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
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


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield write_lake(tmp_path_factory.mktemp("lake"))


@pytest.mark.parametrize(
    ("asked", "said"),
    [
        (("--from", "0001-01-01"), "0001-01-01 is outside the days a report can cover, 0001-01-02 to 9999-12-30"),
        (("--to", "9999-12-31"), "9999-12-31 is outside the days a report can cover, 0001-01-02 to 9999-12-30"),
        (("--from", "2026-02-30"), "'2026-02-30' is not a day: day is out of range for month"),
        (("--to", "2026-W48-2"), "'2026-W48-2' is not a day written YYYY-MM-DD"),  # an ISO week date
        (("--from", "20261123"), "'20261123' is not a day written YYYY-MM-DD"),
        (
            ("--from", "\uff12\uff10\uff12\uff16-11-23"),
            "'\uff12\uff10\uff12\uff16-11-23' is not a day written YYYY-MM-DD",
        ),
        (("--to", ""), "'' is not a day written YYYY-MM-DD"),
    ],
)
def test_a_day_the_report_cannot_cover_is_a_usage_error_naming_the_option(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], asked: tuple[str, str], said: str
) -> None:
    # GIVEN a lake and last week's report
    option, given = asked
    out = tmp_path / "report.html"
    out.write_text(PREVIOUS, encoding="utf-8")
    days = {"--from": "2026-11-23", "--to": "2026-11-24", option: given}
    # WHEN a report is asked for a day that is none, or that the calendar cannot hold with its UTC neighbours
    with pytest.raises(SystemExit) as exited:
        _report(lake, out, days["--from"], days["--to"])
    # THEN it is a usage error naming the option and saying why, and last week's report is as it was
    assert exited.value.code == 2
    assert f"error: argument {option}: {said}" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == PREVIOUS


def test_a_range_that_ends_before_it_begins_is_a_usage_error(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _report(lake, tmp_path / "report.html", "2026-11-24", "2026-11-23")
    assert exited.value.code == 2
    assert "error: --to 2026-11-23 is before --from 2026-11-24" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()


def test_a_range_longer_than_a_report_covers_is_a_usage_error(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN a report is asked for centuries (each day is a folder name to list) THEN it is refused at once
    with pytest.raises(SystemExit) as exited:
        _report(lake, tmp_path / "report.html", "0001-01-02", "9999-12-30")
    assert exited.value.code == 2
    assert "a report covers at most 731 days" in capsys.readouterr().err
    # AND two years, the longest range, is a report
    assert _report(lake, tmp_path / "report.html", "2025-01-01", "2026-12-31") == 0


@pytest.mark.parametrize(("first", "last"), [("0001-01-02", "0001-01-03"), ("9999-12-29", "9999-12-30")])
def test_the_first_and_last_days_a_report_can_cover_get_one(
    lake: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], first: str, last: str
) -> None:
    # WHEN a report is asked for the calendar's first or last days the report can cover THEN it is made, empty
    assert _report(lake, tmp_path / "report.html", first, last) == 0
    assert f"holds no data for the Seoul days {first} to {last}" in capsys.readouterr().err


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
