"""Reading whole files: both Excel readers give identical typed output, Strict or Transitional, whatever
form a date cell takes; CSV in every encoding and delimiter staff's tools write."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from local_stack.sample_surveys import KOREAN_HEADERS, write_survey_csv, write_survey_workbook
from shoplake.surveys import strict_ooxml
from shoplake.surveys.csv_encoding import csv_encoding
from shoplake.surveys.forms import all_forms
from shoplake.surveys.strict_ooxml import STRICT_TO_TRANSITIONAL
from shoplake.surveys.survey_file import Parsed, read_survey
from shoplake.surveys.workbook import CALAMINE_BYTES_PER_CELL, SHEET_XML_BYTES_PER_CELL, Refused
from tests.cases import case

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


def test_the_fast_reader_is_chosen_by_the_sheets_declared_or_stored_size(tmp_path: Path) -> None:
    path = write_survey_workbook(tmp_path / "survey.xlsx", rows=50)
    declared = 53 * len(KOREAN_HEADERS)  # title, blank, header, 50 rows
    with zipfile.ZipFile(path) as archive:
        stored = archive.getinfo("xl/worksheets/sheet2.xml").file_size // SHEET_XML_BYTES_PER_CELL  # the answers
    cells = max(declared, stored)
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


def test_utf8_whose_characters_straddle_the_readers_chunks_is_utf8(tmp_path: Path) -> None:
    # GIVEN UTF-8 text long enough to be read in several chunks, cut mid-character at every chunk boundary
    path = tmp_path / "long.csv"
    path.write_bytes(("설문" * 700_000).encode())
    assert csv_encoding(path) == "utf-8"


def test_text_in_no_known_encoding_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"respondent\nline two\n\xff\xfe\xfa\xfb\xfc\xfd\xfe\xff\xff\xff and more text after it")
    with pytest.raises(Refused, match=r"the CSV is not UTF-8 from line 3 \(byte 20\) on.*save it as CSV UTF-8"):
        csv_encoding(path)


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


# ISO 8601 date cells (t="d"): the zone written in the cell is the zone of the value, whichever reader runs.

CASE_HEADERS = ["응답자 ID", "응답 일시", "처음 알게 된 경로", "연령대", "성별", "국가", "만족도", "추천 의향"]
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _iso_date_workbook(path: Path, submitted: list[str]) -> Path:
    """A one-sheet workbook whose 응답 일시 cells are ISO 8601 text (t="d"), as SheetJS and Strict Excel write them."""

    def cell(ref: str, value: object) -> str:
        if isinstance(value, int):
            return f'<c r="{ref}"><v>{value}</v></c>'
        kind = "d" if ref[0] == "B" and ref[1:] != "1" else "inlineStr"
        return (
            f'<c r="{ref}" t="d"><v>{value}</v></c>'
            if kind == "d"
            else f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
        )

    rows = [CASE_HEADERS] + [[f"R{n}", text, "TV", "20대", "여성", "KR", 4, 8] for n, text in enumerate(submitted)]
    xml = "".join(
        f'<row r="{r}">' + "".join(cell(f"{chr(65 + i)}{r}", v) for i, v in enumerate(values)) + "</row>"
        for r, values in enumerate(rows, start=1)
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheets><sheet name="응답" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>",
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/worksheets/sheet1.xml", f'<worksheet xmlns="{_MAIN}"><sheetData>{xml}</sheetData></worksheet>'
        )
    return path


def test_iso_date_cells_are_read_in_the_zone_they_are_written_in_by_either_reader() -> None:
    # GIVEN the case workbook: 응답 일시 as ISO text with a Z (tests/cases)
    path = case("surveys/survey_iso_date_cells_t_d_with_z_suffix.xlsx")
    # WHEN each reader reads it
    fast, streamed = _read(path), _read(path, budget=0)
    # THEN both say 09:00 UTC, as the cell does
    assert (fast.reader, streamed.reader) == ("calamine", "openpyxl-streaming")
    assert _table(fast).equals(_table(streamed))
    assert _table(fast).column("submitted_at").to_pylist()[0].isoformat() == "2026-11-20T09:00:00+00:00"


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("2026-11-20T09:00:00.000Z", "2026-11-20T09:00:00+00:00"),
        ("2026-11-20T18:00:00+09:00", "2026-11-20T09:00:00+00:00"),
        ("2026-11-20T04:00:00-05:00", "2026-11-20T09:00:00+00:00"),
        ("2026-11-20T18:00:00", "2026-11-20T09:00:00+00:00"),  # no zone written: the form's (Seoul)
        ("2026-11-20", "2026-11-19T15:00:00+00:00"),  # a date: its midnight in Seoul
    ],
)
def test_every_iso_date_cell_form_gives_one_answer_whichever_reader_runs(
    tmp_path: Path, written: str, stored: str
) -> None:
    path = _iso_date_workbook(tmp_path / "iso.xlsx", [written])
    fast, streamed = _read(path), _read(path, budget=0)
    assert _table(fast).equals(_table(streamed))
    assert _table(fast).column("submitted_at").to_pylist()[0].isoformat() == stored


def test_an_iso_date_cell_holding_no_date_is_a_problem_of_its_row_for_either_reader(tmp_path: Path) -> None:
    # GIVEN a t="d" cell whose text is no date (openpyxl alone would raise on it)
    path = _iso_date_workbook(tmp_path / "iso.xlsx", ["2026-11-20T09:00:00Z", "soon", "2026-11-21T09:00:00Z"])
    # THEN both readers take the good rows and name the bad one
    for budget in (PLENTY, 0):
        parsed = _read(path, budget)
        assert parsed.rows == 2
        assert [(p.row, p.column, p.value) for p in parsed.problems] == [(3, "B", "soon")]


# Strict Open XML: the same parts under other namespace names.


def _as_strict(transitional: Path, strict: Path) -> Path:
    """The workbook as Excel's "Strict Open XML Spreadsheet" names its parts' namespaces."""
    back = {
        f"http://schemas.openxmlformats.org/{t}": f"http://purl.oclc.org/ooxml/{s}"
        for s, t in STRICT_TO_TRANSITIONAL.items()
    }
    names = re.compile("|".join(re.escape(n) for n in sorted(back, key=len, reverse=True)))
    with zipfile.ZipFile(transitional) as source, zipfile.ZipFile(strict, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename.endswith((".xml", ".rels")):
                data = names.sub(lambda m: back[m.group()], data.decode()).encode()
            target.writestr(entry, data)
    return strict


def test_the_strict_case_workbook_is_read() -> None:
    for budget in (PLENTY, 0):
        parsed = _read(case("surveys/survey_strict_open_xml.xlsx"), budget)
        assert (parsed.layout.sheet, parsed.rows, parsed.problems) == ("응답", 6, [])


@pytest.mark.parametrize("chunk", [7, 1 << 20])  # 7 bytes: every namespace name is cut between chunks
def test_a_strict_workbook_reads_exactly_as_its_transitional_twin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # GIVEN a realistic workbook, and the same saved as Strict Open XML
    monkeypatch.setattr(strict_ooxml, "CHUNK", chunk)  # the chunk its rewrite reads
    transitional = write_survey_workbook(tmp_path / "survey.xlsx", rows=30)
    strict = _as_strict(transitional, tmp_path / "strict.xlsx")
    assert strict_ooxml.is_strict(strict) and not strict_ooxml.is_strict(transitional)
    # WHEN the Strict one is rewritten, THEN every part is the Transitional one again, byte for byte
    strict_ooxml.to_transitional(strict, tmp_path / "back.xlsx")
    with zipfile.ZipFile(transitional) as original, zipfile.ZipFile(tmp_path / "back.xlsx") as back:
        assert {e.filename: original.read(e) for e in original.infolist()} == {
            e.filename: back.read(e) for e in back.infolist()
        }
    # AND both readers read it as they read the Transitional one
    for budget in (PLENTY, 0):
        reference, parsed = _read(transitional, budget), _read(strict, budget)
        assert parsed.rows == reference.rows == 27
        assert [p.as_dict() for p in parsed.problems] == [p.as_dict() for p in reference.problems]
        assert _table(parsed).drop(["source_file"]).equals(_table(reference).drop(["source_file"]))


# CSV: encodings decided from the whole file or its byte-order mark; delimiters sniffed.


def test_cp949_whose_first_korean_comes_after_64_kib_of_ascii_is_read_as_cp949() -> None:
    parsed = _read(case("surveys/survey_cp949_korean_after_64k_ascii.csv"))
    assert (parsed.rows, parsed.problems) == (854, [])
    assert _table(parsed).column("comment").to_pylist()[-1] == "지하철 광고 보고 왔어요"


@pytest.mark.parametrize("encoding", ["utf-8", "cp949"])
@pytest.mark.parametrize("ascii_bytes", [0, 65_535, 65_536, 3 << 20])
def test_the_encoding_is_decided_by_the_whole_file(tmp_path: Path, encoding: str, ascii_bytes: int) -> None:
    path = tmp_path / "late.csv"
    path.write_bytes(b"a" * ascii_bytes + "\n지하철 광고\n".encode(encoding))
    assert csv_encoding(path) == encoding


def test_excel_unicode_text_named_csv_is_read() -> None:
    # GIVEN Excel's "Unicode Text" export (UTF-16 LE with a byte-order mark, tab-separated), named .csv
    parsed = _read(case("surveys/survey_excel_unicode_text_utf16le_tab.csv"))
    assert (parsed.rows, parsed.problems) == (6, [])
    assert _table(parsed).column("respondent_id").to_pylist()[0] == "R0001"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_in_any_marked_unicode_encoding_and_delimiter_reads_the_same(
    tmp_path: Path, encoding: str, delimiter: str
) -> None:
    # GIVEN the same answers as a UTF-8 comma CSV, written in another encoding (with its byte-order mark) and delimiter
    reference = _table(_read(write_survey_csv(tmp_path / "ref.csv", encoding="utf-8")))
    with (tmp_path / "ref.csv").open(encoding="utf-8", newline="") as source:
        rows = list(csv.reader(source))
    path = tmp_path / "other.csv"
    with path.open("w", encoding=encoding, newline="") as target:
        if encoding == "utf-16-be":
            target.write("\ufeff")  # Python's utf-16-be writes no mark; Excel's big-endian export does
        csv.writer(target, delimiter=delimiter).writerows(rows)
    # THEN it reads the same
    parsed = _read(path)
    assert parsed.rows == 20
    assert _table(parsed).drop(["source_file"]).equals(reference.drop(["source_file"]))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"PK\x03\x04 the rest of a workbook", "a ZIP archive (an .xlsx workbook?) named .csv"),
        (b"\xd0\xcf\x11\xe0 the rest of an old workbook", "an old Excel .xls workbook named .csv"),
        ("응답자 ID,응답 일시\n".encode("utf-16-le"), "NUL bytes: not text, or UTF-16 without a byte-order mark"),
    ],
)
def test_a_csv_that_is_not_text_is_refused_saying_what_it_is(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    with pytest.raises(Refused, match=re.escape(reason)):
        _read(path)


def test_google_forms_korean_csv_download_is_read_at_the_instants_written() -> None:
    # GIVEN Google Forms' own Korean CSV download: 타임스탬프 = "2026/11/20 9:05:41 오전 GMT+9"
    parsed = _read(case("surveys/survey_google_forms_ko_csv_download_timestamp.csv"))
    # THEN every row is ingested, at the instant written
    assert (parsed.rows, parsed.problems) == (6, [])
    assert [t.isoformat() for t in _table(parsed).column("submitted_at").to_pylist()] == [
        "2026-11-20T00:05:41+00:00",
        "2026-11-20T05:30:02+00:00",
        "2026-11-20T23:12:55+00:00",
        "2026-11-23T10:47:10+00:00",
        "2026-11-24T03:01:10+00:00",
        "2026-11-24T13:18:36+00:00",
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xef\xbb\xbfrespondent\nR1\n\xff broken", "the CSV's byte-order mark says utf-8-sig, but line 3 (byte 17)"),
        (b"\xff\xfe" + "응답자".encode("utf-16-le") + b"\x00\xdc", "the CSV's byte-order mark says utf-16, but byte 8"),
    ],
)
def test_a_csv_broken_after_its_byte_order_mark_is_refused_saying_where(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(Refused, match=re.escape(reason)):
        _read(path)
