"""A CSV's encoding is known with certainty, or the file is refused asking for CSV UTF-8: text in one legacy
encoding is never stored as the gibberish another makes of it (CP949 decodes almost any bytes)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shoplake.surveys.csv_encoding import SAVE_AS_UTF8, csv_encoding
from shoplake.surveys.forms import all_forms
from shoplake.surveys.survey_file import read_survey
from shoplake.surveys.workbook import Refused
from tests.cases import case

HEADER = "Respondent ID,Submitted at,First heard via,Age group,Gender,Country,Region,Satisfaction,NPS,Comment\r\n"

# (encoding, [(region, comment)]): what staff's Excel writes as "CSV" in each place, in that place's words.
READ = {
    "Windows-1252, English and German": ("cp1252", [("Ohio", "“Great fit” – will buy again"),
                                                    ("Ontario", "Don’t change the fabric"),
                                                    ("München", "Größe passt; Qualität gut")]),
    "Windows-1252, Spanish": ("cp1252", [("Jalisco", "¡Muy bien! El corte es único"), ("Madrid", "Rápido")]),
    "Mac Roman, French": ("mac_roman", [("Montréal", "Très bien"), ("Québec", "Qualité à revoir"),
                                         ("Paris", "Ça va")]),
    "Mac Roman, English": ("mac_roman", [("Boston", "It’s great"), ("Austin", "Don’t know")]),
    "CP949, Korean with a rare syllable": ("cp949", [("서울", "똠양꿍 맛집 옆 매장이에요"),
                                                     ("부산", "배송이 빨라요"), ("대구", "사이즈가 조금 작아요")]),
}  # fmt: skip
REFUSED = {
    "Shift_JIS, Japanese": ("shift_jis", [("東京", "ありがとうございました"), ("大阪", "サイズがちょうどいい")],
                            "no other encoding reads it as plausible text"),
    "Shift_JIS, half-width katakana": ("shift_jis", [("ﾄｳｷｮｳ", "ｱﾘｶﾞﾄｳｺﾞｻﾞｲﾏｼﾀ")],
                                       "no other encoding reads it as plausible text"),
    "Windows-1252, French": ("cp1252", [("Montréal", "Très bien")],
                             "line 2 says 'Très' as Windows-1252 (Western European) but 'Trčs' as Windows-1250"),
    "Windows-1252, Norwegian": ("cp1252", [("Ålesund", "Bra")],
                                "'Ålesund' as Windows-1252 (Western European) but 'Ĺlesund' as Windows-1250"),
    "Windows-1250, Polish": ("cp1250", [("Łódź", "Dziękuję, świetna jakość")],
                             "it reads as Windows-1250 (Central European), which is not read here"),
    "Windows-1251, Russian": ("cp1251", [("Москва", "Спасибо, отличное качество")], "reads more than one way"),
}  # fmt: skip


def _survey(path: Path, encoding: str, answers: list[tuple[str, str]], line_end: str = "\r\n") -> Path:
    rows = [f"R{n},2026-11-24 10:{n:02d},tv,20s,female,US,{region},4,9,{comment}"
            for n, (region, comment) in enumerate(answers)]  # fmt: skip
    path.write_bytes((HEADER + line_end.join(rows) + line_end).encode(encoding))
    return path


def _stored(path: Path) -> list[tuple[str, str]]:
    parsed = read_survey(path, path.name, f"inbox/{path.name}", all_forms(), 1 << 30)
    table = pa.concat_tables(pq.read_table(io.BytesIO(body)) for body in parsed.partitions.values())
    return list(zip(table.column("region").to_pylist(), table.column("comment").to_pylist(), strict=True))


@pytest.mark.parametrize("kind", sorted(READ))
def test_text_in_a_legacy_encoding_known_with_certainty_is_stored_as_written(tmp_path: Path, kind: str) -> None:
    encoding, answers = READ[kind]
    path = _survey(tmp_path / "survey.csv", encoding, answers)
    assert csv_encoding(path) == encoding
    assert _stored(path) == answers


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_text_no_encoding_reads_with_certainty_is_refused_asking_for_csv_utf8(tmp_path: Path, kind: str) -> None:
    # GIVEN text in an encoding that is not read, or that another reads as other, plausible text
    encoding, answers, reason = REFUSED[kind]
    path = _survey(tmp_path / "survey.csv", encoding, answers)
    # THEN the file is refused, saying where it stops being UTF-8, why, and what to do
    with pytest.raises(Refused, match=re.escape(reason)) as refused:
        _stored(path)
    assert refused.value.reason.startswith("the CSV is not UTF-8 from line 2 (byte ")
    assert refused.value.reason.endswith(SAVE_AS_UTF8)


def test_the_windows_1252_and_mac_roman_case_files_are_read() -> None:
    windows = _stored(case("surveys/survey_excel_windows_1252_csv.csv"))
    assert windows[1] == ("Ontario", "Don’t change the fabric")
    mac = _stored(case("surveys/survey_excel_for_mac_csv_mac_roman.csv"))  # Mac Roman, lines ending in CR
    assert mac[0] == ("Montréal", "Très bien, livraison rapide")


def test_the_japanese_case_file_is_refused_not_stored_as_korean() -> None:
    with pytest.raises(Refused, match="no other encoding reads it as plausible text"):
        _stored(case("surveys/survey_excel_ja_shift_jis_csv.csv"))


def test_a_legacy_file_whose_later_lines_are_read_differently_is_refused_naming_that_line(tmp_path: Path) -> None:
    # GIVEN German text (the same in every Western code page) for 4 MB, then one French line
    answers = [(f"Köln {n}", "Größe passt") for n in range(60_000)] + [("Montréal", "Très bien")]
    path = _survey(tmp_path / "survey.csv", "cp1252", answers)
    # THEN the French line decides: Windows-1252 and Windows-1250 read it differently
    with pytest.raises(Refused, match=r"line 60002 says 'Très' as Windows-1252"):
        csv_encoding(path)


@pytest.mark.parametrize(
    ("encoding", "where"),
    [("utf-8", 0), ("utf-8", 3000), ("utf-8-sig", 3000), ("cp949", 3000), ("utf-16", 3000)],
    ids=["utf-8-first-line", "utf-8-past-64-KiB", "utf-8-bom-past-64-KiB", "cp949-past-64-KiB", "utf-16-bom"],
)
def test_a_nul_anywhere_in_a_csv_refuses_it_naming_its_line(tmp_path: Path, encoding: str, where: int) -> None:
    # GIVEN a CSV with a NUL in one comment, on its first row or past the first 64 KiB (3,000 rows of ~60 bytes)
    answers = [("서울", f"좋아요 {n}") for n in range(4000)]
    answers[where] = ("서울", "좋아\x00요")
    path = _survey(tmp_path / "survey.csv", encoding, answers)
    # THEN it is refused, wherever the NUL is, naming its line: nothing reaches the lake holding a NUL
    with pytest.raises(Refused, match=re.escape("the CSV holds NUL bytes: not text") + ".*" + f"line {where + 2}$"):
        _stored(path)


@pytest.mark.parametrize("ending", ["\n", "\r", "\r\n"], ids=["LF", "CR", "CRLF"])
@pytest.mark.parametrize("fault", ["NUL", "not UTF-8"])
def test_a_fault_is_placed_on_its_line_whatever_the_line_endings(tmp_path: Path, ending: str, fault: str) -> None:
    # GIVEN a CSV whose lines end as Windows (CRLF), Unix (LF) or Excel for Mac (CR) end them, the fault on
    # line 40,002, past the first 1 MiB read, a CRLF cut between two reads (the csv reader counts lines so)
    line = "R1,2026-11-24 10:15,tv,20s,female,KR,서울,4,9,ok"
    lines = [line.replace("R1", f"R{n}") for n in range(40_000)]
    head = (HEADER.rstrip() + ending + ending.join(lines) + ending).encode()
    cut = (1 << 20) - 1
    if ending == "\r\n":  # move the bytes so that a CR ends the first 1 MiB and its LF starts the next
        head = head.replace(b"R0,", b"R0," + b"x" * (cut - head.rindex(b"\r", 0, cut + 1)), 1)
        assert head[cut : cut + 2] == b"\r\n"
    bad = "좋아\x00요".encode() if fault == "NUL" else b"\xbf\xe4"
    path = tmp_path / "survey.csv"
    path.write_bytes(head + b"R40000,2026-11-24 10:15,tv,20s,female,KR,x,4,9," + bad + ending.encode())
    # THEN the refusal names line 40,002
    with pytest.raises(Refused, match=r"on line 40002$" if fault == "NUL" else r"from line 40002 \(byte"):
        csv_encoding(path)
