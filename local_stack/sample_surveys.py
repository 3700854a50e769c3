"""Survey files for the demo, the tests and the benchmark: realistic ones and hostile ones.

Realistic means what staff really upload: Korean headers under a merged title row, dates
as Excel dates or serial numbers, numbers typed as text, a few mistakes, empty rows at
the end. Hostile means each kind of file the survey parser must refuse.
"""

from __future__ import annotations

import csv
import random
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl

KOREAN_HEADERS = [
    "응답자 ID", "응답 일시", "처음 알게 된 경로", "인지 시기", "연령대", "성별",
    "국가", "지역", "선호 카테고리", "만족도", "추천 의향", "의견",
]  # fmt: skip
CHANNELS = ["지하철", "신문/잡지", "옥외 광고", "TV", "라디오", "지인", "온라인", "기타"]
AGES = ["10대", "20대", "30대", "40대", "50대", "60대 이상"]
GENDERS = ["여성", "남성", "기타", "응답 안 함"]
PLACES = [("KR", "서울"), ("KR", "부산"), ("US", "California"), ("CA", "Ontario"), ("MX", "Jalisco"), ("DE", "Berlin")]
CATEGORIES = ["상의", "하의", "원피스", "아우터", "신발", "가방", "액세서리"]
COMMENTS = ["배송이 빨라요", "지하철 광고 보고 왔어요", "Great fit, will buy again", "", "사이즈가 조금 작아요"]
BAD_ROWS = {  # row offset in the data -> (column index, bad value): one mistake each, as people make them
    3: (9, "6"),  # satisfaction above 5
    5: (5, "몰라요"),  # gender not one of the choices
    8: (1, "어제 저녁"),  # not a date
}
START = datetime(2026, 11, 23, 9, 0)


def survey_rows(count: int, seed: int = 7, extra_columns: int = 0, first_id: int = 1) -> list[list[object]]:
    """`count` answers: respondent ids from R{first_id:06d} on (one store's ids never meet another's)."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    rows: list[list[object]] = []
    for n in range(count):
        country, region = rng.choice(PLACES)
        moment = START + timedelta(minutes=7 * n + rng.randint(0, 6))
        submitted: object = moment.strftime("%Y-%m-%d %H:%M") if n % 10 == 4 else moment  # some typed as text
        row: list[object] = [
            f"R{first_id + n:06d}",
            submitted,
            rng.choice(CHANNELS),
            f"2026-{rng.randint(1, 11):02d}",
            rng.choice(AGES),
            rng.choice(GENDERS),
            country,
            region,
            ", ".join(rng.sample(CATEGORIES, rng.randint(1, 3))),
            str(rng.randint(1, 5)) if n % 5 == 0 else rng.randint(1, 5),  # some numbers stored as text
            rng.randint(0, 10),
            rng.choice(COMMENTS) or None,
        ]
        row += [f"answer {n}-{i}" for i in range(extra_columns)]
        rows.append(row)
    return rows


def write_survey_workbook(
    path: Path,
    rows: int = 40,
    *,
    bad_rows: bool = True,
    title: bool = True,
    sheet: str = "응답",
    extra_columns: int = 0,
    seed: int = 7,
    first_id: int = 1,
) -> Path:
    """A workbook as staff export it: title row merged across the header, then the header, then data."""
    workbook = openpyxl.Workbook(write_only=True)
    notes = workbook.create_sheet("안내")
    notes.append(["이 파일은 오프라인 광고 설문 결과입니다."])
    data = workbook.create_sheet(sheet)
    headers = KOREAN_HEADERS + [f"추가 질문 {i + 1}" for i in range(extra_columns)]
    if title:
        data.append(["2026년 11월 오프라인 광고 설문 결과 (매장 수집)"])
        data.append([])
    data.append(headers)
    for offset, values in enumerate(survey_rows(rows, seed, extra_columns, first_id)):
        if bad_rows and offset in BAD_ROWS:
            index, bad = BAD_ROWS[offset]
            values[index] = bad
        data.append(values)
    for _ in range(3):
        data.append([None] * len(headers))  # trailing empty rows, as Excel leaves them
    workbook.save(path)
    if title:
        _merge_title(path, sheet, len(headers))
    return path


def _merge_title(path: Path, sheet: str, width: int) -> None:
    # write-only workbooks cannot merge cells; reopen and merge, as a person would have.
    workbook = openpyxl.load_workbook(path)
    worksheet = workbook[sheet]
    worksheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    workbook.save(path)


def write_survey_csv(path: Path, rows: int = 20, encoding: str = "cp949") -> Path:
    with path.open("w", encoding=encoding, newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(KOREAN_HEADERS)
        for values in survey_rows(rows):
            writer.writerow(["" if v is None else v for v in values])
    return path


# Hostile files: each one a reason to refuse.


def write_zip_bomb(path: Path, inflated_bytes: int = 50_000_000) -> Path:
    """A workbook whose sheet inflates hundreds of times its compressed size."""
    real = write_survey_workbook(path.with_suffix(".seed.xlsx"), rows=3)
    with zipfile.ZipFile(real) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            bomb.writestr(item, source.read(item.filename))
        chunk = b"<c><v>0</v></c>" * 65536
        with bomb.open("xl/worksheets/padding.xml", "w", force_zip64=True) as stream:
            for _ in range(inflated_bytes // len(chunk)):
                stream.write(chunk)
    real.unlink()
    return path


def write_entity_attack(path: Path) -> Path:
    """A workbook whose shared strings declare nested entities (the 'billion laughs')."""
    real = write_survey_workbook(path.with_suffix(".seed.xlsx"), rows=3)
    laughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    laughs += ']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>'
    with zipfile.ZipFile(real) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as attack:
        for item in source.infolist():
            if item.filename != "xl/sharedStrings.xml":
                attack.writestr(item, source.read(item.filename))
        attack.writestr("xl/sharedStrings.xml", laughs.encode())
    real.unlink()
    return path


def write_formula_workbook(path: Path) -> Path:
    """Formulas in cells, and text that would run as a formula if exported."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "응답"
    sheet.append(KOREAN_HEADERS)
    for values in survey_rows(3):
        sheet.append(values)
    sheet["L2"] = "=cmd|' /C calc'!A0"  # typed as a formula: never evaluated; no stored value
    sheet["L3"] = '=HYPERLINK("http://attacker.example","click")'
    sheet["H4"].value = "@SUM(1+1)"
    sheet["H4"].data_type = "s"  # text that starts like a formula
    workbook.save(path)
    return path


def write_oversized_cell(path: Path, chars: int = 20_000) -> Path:
    write_survey_workbook(path, rows=5, bad_rows=False, title=False)
    workbook = openpyxl.load_workbook(path)
    workbook["응답"]["L4"] = "가" * chars
    workbook.save(path)
    return path


def write_too_wide(path: Path, column: int = 250) -> Path:
    write_survey_workbook(path, rows=5, bad_rows=False, title=False)
    workbook = openpyxl.load_workbook(path)
    workbook["응답"].cell(row=3, column=column, value="x")
    workbook.save(path)
    return path


def write_unmatched(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["이름", "전화번호", "주소"])
    sheet.append(["홍길동", "010-0000-0000", "서울"])
    workbook.save(path)
    return path
