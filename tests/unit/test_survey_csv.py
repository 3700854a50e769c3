"""CSV as staff's tools write it: the delimiter Excel means, quotes that open and close, rows numbered as
Excel numbers them; a file the csv reader cannot split with certainty is refused naming the line, never a crash."""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shoplake.surveys.csv_file import csv_delimiter
from shoplake.surveys.forms import all_forms
from shoplake.surveys.survey_file import Parsed, read_survey
from shoplake.surveys.workbook import Refused
from tests.cases import case

HEADER = ["Respondent ID", "Submitted at", "First heard via", "Age group", "Gender", "Country", "Region",
          "Preferred categories", "Satisfaction", "NPS", "Comment"]  # fmt: skip


def _read(path: Path) -> Parsed:
    return read_survey(path, path.name, f"inbox/{path.name}", all_forms(), 1 << 30)


def _column(parsed: Parsed, name: str) -> list[object]:
    table = pa.concat_tables(pq.read_table(io.BytesIO(body)) for body in parsed.partitions.values())
    return list(table.column(name).to_pylist())


def _row(n: int, comment: str = "ok", satisfaction: str = "4") -> list[str]:
    return [f"R{n}", f"2026-11-24 10:{n % 60:02d}", "tv", "20s", "female", "DE", "Berlin", "tops", satisfaction, "9",
            comment]  # fmt: skip


def _write(path: Path, rows: list[list[str]], delimiter: str = ",", sep_line: bool = False) -> Path:
    text = io.StringIO()
    if sep_line:
        text.write(f"sep={delimiter}\r\n")
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows([HEADER, *rows])  # Excel: CRLF
    path.write_bytes(text.getvalue().encode("utf-8-sig"))  # Excel's "CSV UTF-8"
    return path


# Quoting: a quote left open never swallows rows silently.


@pytest.mark.parametrize(("rows", "filler"), [(10, ""), (3000, "x" * 60)], ids=["small", "past-the-field-limit"])
def test_an_unclosed_quote_refuses_the_file_naming_the_line_it_opened_on(
    tmp_path: Path, rows: int, filler: str
) -> None:
    # GIVEN a comment typed as  "Great fit, will buy again  on row 6, its closing quote missing
    lines = [",".join(_row(n, f"ok {n}{filler}")) for n in range(rows)]
    lines[4] = ",".join(_row(4, '"Great fit, will buy again'))
    path = tmp_path / "survey.csv"
    path.write_text(",".join(HEADER) + "\r\n" + "\r\n".join(lines) + "\r\n", encoding="utf-8")
    # WHEN it is read, THEN it is refused, naming the line and row where the quote opened
    with pytest.raises(Refused, match=re.escape("the quoted cell opened on line 6 is never closed")) as refused:
        _read(path)
    assert refused.value.row == 6


def test_rows_swallowed_until_a_later_quote_are_refused_naming_the_line_the_quote_opened_on() -> None:
    # GIVEN the case file: row 6's comment opens a quote; row 7's quoted comment closes it, text after the quote
    with pytest.raises(Refused, match=r"the quoted cell opened on line 6 runs to line 7, where a quote closes it"):
        _read(case("surveys/survey_csv_unclosed_quote_in_comment.csv"))


def test_rows_swallowed_into_a_cell_that_closes_cleanly_are_refused(tmp_path: Path) -> None:
    # GIVEN a quote opened on row 5 and closed, as a cell's end, on row 8: rows 6 and 7 are inside the cell
    lines = [",".join(_row(n)) for n in range(9)]
    lines[3] = ",".join(_row(3, '"Great fit'))
    lines[6] = ",".join(_row(6, 'thanks"'))
    path = tmp_path / "survey.csv"
    path.write_text(",".join(HEADER) + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(Refused, match=r"the quoted cell opened on line 5 runs over line 6, which holds a whole row"):
        _read(path)


def test_rows_swallowed_between_quotes_in_the_same_middle_column_are_refused(tmp_path: Path) -> None:
    # GIVEN a region typed as  "Berlin  on row 2, and as  Berlin"  on row 4: the record is as wide as a row
    lines = [",".join(_row(n)) for n in range(5)]
    lines[1] = lines[1].replace(",Berlin,", ',"Berlin,')
    lines[3] = lines[3].replace(",Berlin,", ',Berlin",')
    path = tmp_path / "survey.csv"
    path.write_text(",".join(HEADER) + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    # THEN the rows inside the cell are taken for rows (shaped as the record's own cells), and the file refused
    with pytest.raises(Refused, match=r"the quoted cell opened on line 3 runs over line 4, which holds a whole row"):
        _read(path)


@pytest.mark.parametrize(
    "swallowed",
    [
        "R2,2026/11/21,TV-광고,2026-10,30대,남,KR-11,경기 남부,상의/하의,4점,8점,ok",  # an id like R1's, little else
        "web-7,2026-11-21 10:15,tv,2026-10,30s,male,KR,경기 남부,상의/하의,4,8,ok",  # cells like R1's where R1 has any
    ],
    ids=["its-first-cell", "its-filled-cells"],
)
def test_rows_swallowed_into_a_last_column_comment_are_refused_whatever_optional_answers_they_give(
    tmp_path: Path, swallowed: str
) -> None:
    # GIVEN R1's comment opening a quote that a later row's comment, ending in an inch mark (55"), closes;
    # R1 skipped the optional questions that the swallowed row answers
    header = ",".join(HEADER[:3]) + ",First heard on," + ",".join(HEADER[3:])
    lines = [
        header,
        'R1,2026-11-20 09:05,tv,,20s,female,KR,,,5,9,"Great shop',
        swallowed,
        'R3,2026-11-22 11:00,tv,2026-09,40s,female,KR,서울 강남,신발,5,10,bought a 55"',
        "R4,2026-11-23 12:00,tv,,20s,female,KR,,,3,5,fine",
    ]
    path = tmp_path / "survey.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # THEN the file is refused naming the line the quote opened on, not read as R1 and R4
    with pytest.raises(Refused, match=r"the quoted cell opened on line 2 runs over line 3, which holds a whole row"):
        _read(path)


@pytest.mark.parametrize(
    "listing",
    [
        "colour, size, fabric, price, delivery, packaging, staff, exchange, refund, points, app",
        "색상, 사이즈, 소재, 가격, 배송, 포장, 응대, 교환, 환불, 적립금, 쿠폰, 이벤트, 모두, 만족",  # wider than a row
        "1) fit, 2) colour, 3) price, 4) delivery, 5) box, 6) staff, 7) refund, 8) points, 9) app, 10) all, 11) more",
    ],
)
def test_a_closed_multi_line_comment_listing_things_with_commas_is_read_whole(tmp_path: Path, listing: str) -> None:
    # GIVEN a comment over two lines, quoted and closed as Excel writes it, its second line a list with a
    # row's worth of commas or more
    comment = f"What I liked:\n{listing}"
    path = _write(tmp_path / "survey.csv", [_row(1), _row(2, comment), _row(3)])
    # THEN the file is read, the comment whole
    parsed = _read(path)
    assert _column(parsed, "comment") == ["ok", comment, "ok"]


@pytest.mark.parametrize("invisible", ["\ufeff", "\u200b", "\u2060"], ids=["doubled-bom", "zwsp", "word-joiner"])
def test_a_csv_whose_first_header_starts_with_an_invisible_character_is_read(tmp_path: Path, invisible: str) -> None:
    # GIVEN Excel's CSV UTF-8 (one BOM) whose first header starts with one more invisible character: a BOM
    # doubled by a tool that re-saved the file, or a zero-width character pasted with the header's text
    path = _write(tmp_path / "survey.csv", [_row(1), [cell.replace("tv", f"tv{invisible}") for cell in _row(2)]])
    body = path.read_bytes()
    path.write_bytes(codecs.BOM_UTF8 + invisible.encode() + body[len(codecs.BOM_UTF8) :])
    # THEN it is read (not refused as lacking respondent_id), and so is a choice carrying one
    parsed = _read(path)
    assert (parsed.rows, parsed.problems) == (2, [])


def test_a_quote_followed_by_text_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(_row(1)) + "\n" + ",".join(_row(2, '"5" screen')) + "\n")
    with pytest.raises(Refused, match=re.escape("line 3: a quote closes a quoted cell and text follows it")) as refused:
        _read(path)
    assert refused.value.row == 3


def test_cells_holding_line_breaks_delimiters_and_quotes_are_read_whole_and_rows_keep_excels_numbers(
    tmp_path: Path,
) -> None:
    # GIVEN a comment over three lines (Alt+Enter in Excel) with commas and doubled quotes, then a bad row
    comment = '첫 줄, 그리고\n"인용"이 있는 둘째 줄\n셋째 줄'
    path = _write(tmp_path / "survey.csv", [_row(1, comment), _row(2, satisfaction="9"), _row(3)])
    # THEN the comment is one cell, and the bad row is row 3 (Excel's number), though it is on line 5
    parsed = _read(path)
    assert _column(parsed, "comment")[0] == comment
    assert [(p.row, p.column) for p in parsed.problems] == [(3, "I")]


@pytest.mark.parametrize(
    "text",
    ['"', '""', '"""', 'a,"b\n', 'a,"b"c\n', '\r\r\r"', "\x00,\x00\n", "a\rb\r", '"a""\n' * 3, "x" * 200_000,
     '"' + "y" * 200_000, 'sep=\n', 'sep=;"\n', ",".join(HEADER) + '\n"R1' + "\n" * 5000],
)  # fmt: skip
def test_no_error_of_the_csv_reader_escapes_as_a_crash(tmp_path: Path, text: str) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Refused):  # every one of these is no survey: refused with a reason, never another error
        _read(path)


# Delimiters: the one Excel means, quotes respected.


@pytest.mark.parametrize(("every", "sep_line"), [(1, False), (5, False), (99, True), (5, True)])
def test_a_semicolon_csv_from_excel_is_read_whatever_its_quoted_semicolons(
    tmp_path: Path, every: int, sep_line: bool
) -> None:
    # GIVEN German Excel's CSV: semicolons, a comment holding "; " quoted on every `every`-th row
    rows = [_row(n, "Lieferung schnell; Qualität gut" if n % every == 0 else "gut") for n in range(40)]
    parsed = _read(_write(tmp_path / "umfrage.csv", rows, ";", sep_line))
    assert (parsed.rows, parsed.problems) == (40, [])
    assert _column(parsed, "comment")[0] == "Lieferung schnell; Qualität gut"


def test_the_sep_line_names_the_delimiter_and_is_no_row(tmp_path: Path) -> None:
    # GIVEN a three-row file whose first line is Excel's `sep=;`, and whose third row is bad
    path = _write(tmp_path / "umfrage.csv", [_row(1), _row(2), _row(3, satisfaction="7")], ";", sep_line=True)
    # THEN the header is row 1, as Excel shows it (the sep line hidden): the bad row is row 4
    assert [(p.row, p.column, p.value) for p in _read(path).problems] == [(4, "I", "7")]


def test_decimal_commas_in_a_semicolon_csv_are_rejects_of_their_rows_saying_why(tmp_path: Path) -> None:
    # GIVEN a semicolon CSV whose answers use decimal commas, as German Excel writes 4.5 and 1.0
    rows = [_row(1), _row(2, satisfaction="4,5"), _row(3), _row(4, satisfaction="1,0"), _row(5), _row(6)]
    rows += [_row(n) for n in range(7, 13)]
    parsed = _read(_write(tmp_path / "umfrage.csv", rows, ";"))
    # THEN the delimiter is still the semicolon, and each decimal comma is its row's problem, never 45 or 10
    assert parsed.rows == 10
    assert [(p.row, p.column, p.value) for p in parsed.problems] == [(3, "I", "4,5"), (5, "I", "1,0")]
    assert "commas group thousands in threes (1,000); decimals take a point (1.5)" in parsed.problems[0].reason


def test_the_german_excel_case_file_is_read() -> None:
    parsed = _read(case("surveys/survey_excel_de_semicolon_sep_line.csv"))
    assert (parsed.rows, parsed.problems) == (6, [])
    assert _column(parsed, "comment")[2] == "Farbe anders als auf dem Foto; sonst gut"


@pytest.mark.parametrize(
    ("sample", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ('a;b;c\n1;"x; y";3\n' * 20, ";"),  # quoted semicolons in every row
        ('a;b;c\n1;"x, y";3\n4;5,5;6\n', ";"),  # quoted and decimal commas
        ("a,b,c\n1,x; y,3\n" * 20, ","),  # unquoted semicolons in a comma file
        ("a\tb\tc\n1\t2,5\t3\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ("title\nrespondent\n", ","),  # one column: nothing to choose
        ('a,b\n"unclosed, 1\n2,3\n', ","),  # broken quoting: the reader says where, later
    ],
)
def test_the_delimiter_is_the_one_that_splits_rows_consistently_outside_quotes(sample: str, delimiter: str) -> None:
    assert csv_delimiter(sample) == delimiter
