"""Reading whole files: both Excel readers give identical typed output; CSV in every encoding staff use."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from local_stack.sample_surveys import KOREAN_HEADERS, write_survey_csv, write_survey_workbook
from shoplake.surveys.forms import all_forms
from shoplake.surveys.ingest import Parsed, read_survey
from shoplake.surveys.workbook import CALAMINE_BYTES_PER_CELL, Refused, decode_csv_head

FORMS = all_forms()
PLENTY = 1 << 30


def _read(path: Path, budget: int = PLENTY) -> Parsed:
    return read_survey(path, path.name, f"inbox/{path.name}", FORMS, budget)


def _table(parsed: Parsed) -> pa.Table:
    return pa.concat_tables(pq.read_table(io.BytesIO(body)) for body in parsed.partitions.values())


def test_fast_and_streaming_readers_give_identical_parquet(tmp_path: Path) -> None:
    # GIVEN a realistic workbook (title row, numbers as text, dates as text, bad rows, trailing empties)
    path = write_survey_workbook(tmp_path / "survey.xlsx", rows=120)
    # WHEN it is read with room for the fast reader, and with none
    fast, streamed = _read(path), _read(path, budget=0)
    # THEN the readers differ and the output does not
    assert (fast.reader, streamed.reader) == ("calamine", "openpyxl-streaming")
    assert fast.rows == streamed.rows == 117
    assert [p.as_dict() for p in fast.problems] == [p.as_dict() for p in streamed.problems]
    assert _table(fast).equals(_table(streamed))


def test_the_fast_reader_is_chosen_by_the_sheets_declared_size(tmp_path: Path) -> None:
    path = write_survey_workbook(tmp_path / "survey.xlsx", rows=50)
    cells = 53 * len(KOREAN_HEADERS)  # title, blank, header, 50 rows
    assert _read(path, budget=cells * CALAMINE_BYTES_PER_CELL).reader == "calamine"
    assert _read(path, budget=cells * CALAMINE_BYTES_PER_CELL - 1).reader == "openpyxl-streaming"


def test_a_1904_workbook_reads_serial_dates_from_its_own_epoch(tmp_path: Path) -> None:
    # GIVEN a workbook using the 1904 date system, with dates typed as serial numbers
    workbook = openpyxl.Workbook()
    workbook.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    sheet = workbook.active
    sheet.title = "응답"
    sheet.append(KOREAN_HEADERS)
    sheet.append(["R1", 46350 - 1462 + 10.25 / 24, "TV", None, "20대", "여성", "KR", None, None, 5, 9, None])
    sheet.append(["R2", datetime(2026, 11, 24, 10, 15), "TV", None, "20대", "여성", "KR", None, None, 5, 9, None])
    path = tmp_path / "mac.xlsx"
    workbook.save(path)
    # THEN both rows land on the same instant, with both readers
    for budget in (PLENTY, 0):
        table = _table(_read(path, budget))
        times = table.column("submitted_at").to_pylist()
        assert times[0] == times[1]
        assert times[0].isoformat() == "2026-11-24T01:15:00+00:00"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949"])
def test_csv_in_utf8_with_or_without_bom_or_cp949_reads_the_same(tmp_path: Path, encoding: str) -> None:
    reference = _table(_read(write_survey_csv(tmp_path / "ref.csv", encoding="utf-8")))
    parsed = _read(write_survey_csv(tmp_path / f"{encoding}.csv", encoding=encoding))
    assert parsed.rows == 20
    assert _table(parsed).drop(["source_file"]).equals(reference.drop(["source_file"]))


def test_utf8_cut_mid_character_at_the_sample_end_is_still_utf8() -> None:
    text = ("설문" * 10).encode()
    assert decode_csv_head(text[:-1]) == "utf-8"


def test_text_in_no_known_encoding_is_refused() -> None:
    with pytest.raises(Refused, match="neither UTF-8 nor CP949"):
        decode_csv_head(b"respondent\xff\xfe\xfa\xfb\xfc\xfd\xfe\xff\xff\xff and more text after it")


def test_rows_land_in_their_seoul_day(tmp_path: Path) -> None:
    # GIVEN answers submitted from 09:00 Seoul time on 23 November, every 7 minutes
    parsed = _read(write_survey_workbook(tmp_path / "survey.xlsx", rows=200, bad_rows=False))
    # THEN they fill the 23rd and spill into the 24th, by Seoul's calendar
    assert [d.isoformat() for d in parsed.partitions] == ["2026-11-23", "2026-11-24"]


def test_a_macro_enabled_workbook_reads_like_any_other(tmp_path: Path) -> None:
    xlsx = write_survey_workbook(tmp_path / "survey.xlsx", rows=10, bad_rows=False)
    xlsm = tmp_path / "survey.xlsm"
    xlsm.write_bytes(xlsx.read_bytes())
    assert _read(xlsm).rows == _read(xlsx).rows == 10
