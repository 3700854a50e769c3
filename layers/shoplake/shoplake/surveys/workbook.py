"""Open survey files safely, and read their rows lazily.

Before a workbook is opened its ZIP directory is checked (sizes, ratios, entry count),
so a zip bomb is refused without being inflated. XML is parsed only with defusedxml.
Cells are read as the values Excel stored; formulas are never evaluated. Sheets whose
cells fit the memory budget are read with calamine (fast, holds the sheet); larger ones
stream through openpyxl's read-only mode (flat memory). Both yield the same raw values,
and `rows` types them the same way.

Formats: xlsx/xlsm are Office Open XML SpreadsheetML in an OPC ZIP package (ECMA-376 Part 1 and Part 2;
workbook properties section 18.2.28, worksheet dimension 18.3.1.35); CSV is read as RFC 4180 text by
Python's `csv` module (excel dialect), in UTF-8 or CP949.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import defusedxml
import openpyxl
from defusedxml.ElementTree import fromstring
from openpyxl.xml import DEFUSEDXML

from shoplake.surveys.forms import Limits

# openpyxl parses workbook XML with defusedxml only when it is installed; refuse to run without it.
if not DEFUSEDXML:  # pragma: no cover - the layer always installs defusedxml
    raise ImportError(f"defusedxml {defusedxml.__version__} is not used by openpyxl: XML entity attacks possible")

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv",)
SUPPORTED_SUFFIXES = EXCEL_SUFFIXES + CSV_SUFFIXES
# What a calamine cell costs in memory, measured: the fast path is taken while rows × columns fits.
CALAMINE_BYTES_PER_CELL = 160
_MAX_ZIP_ENTRIES = 10_000
_XML_HEAD_BYTES = 8192
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


class Refused(Exception):  # noqa: N818 - "the file is refused" reads better than RefusedError
    """The file is refused as a whole; where it is known, the sheet, row and column say where.

    `reason` is the message people read; `row` is Excel's 1-based row number, `column` a column letter.
    """

    def __init__(self, reason: str, *, sheet: str | None = None, row: int | None = None, column: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.sheet = sheet
        self.row = row
        self.column = column


Cell = object
Row = Sequence[Cell]


@dataclass
class SheetRows:
    """One sheet's rows, numbered from 1 as Excel numbers them, read lazily.

    `rows` yields (row number, cells) once; cells are raw values (text, numbers, datetimes, booleans, None or
    `""` for empty). `date1904` says the workbook counts serial dates from 1904 (ECMA-376 `workbookPr`).
    """

    name: str
    rows: Iterator[tuple[int, Row]]
    date1904: bool = False


def column_letter(index: int) -> str:
    """The spreadsheet column letters of a 0-based column index: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def check_archive(path: Path, limits: Limits) -> None:
    """Refuse a ZIP whose entries would inflate beyond the limits, before inflating anything.

    Checks, from the ZIP central directory only: at most 10,000 entries, total uncompressed size within
    `limits.max_uncompressed_bytes`, no entry over 1 MB inflating more than `max_compression_ratio` times,
    an `xl/workbook.xml` present; then reads the first 8 KiB of each XML part and refuses any DTD or
    entity declaration. Raises Refused with the reason; returns None when the archive may be opened.
    """
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise Refused("not an Excel workbook: the file is not a ZIP archive (is it an old .xls, or renamed?)") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > _MAX_ZIP_ENTRIES:
            raise Refused(f"zip bomb refused: {len(entries)} entries in the archive (limit {_MAX_ZIP_ENTRIES})")
        total = sum(e.file_size for e in entries)
        if total > limits.max_uncompressed_bytes:
            limit = limits.max_uncompressed_bytes
            raise Refused(f"zip bomb refused: the archive would inflate to {total:,} bytes (limit {limit:,})")
        for entry in entries:
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > 1_000_000 and ratio > limits.max_compression_ratio:
                raise Refused(
                    f"zip bomb refused: {entry.filename} inflates {ratio:,.0f}× "
                    f"(limit {limits.max_compression_ratio:,.0f}×)"
                )
        if "xl/workbook.xml" not in {e.filename for e in entries}:
            raise Refused("not an Excel workbook: the archive has no xl/workbook.xml")
        # Excel never writes a DTD; one in any part is an entity attack, whichever reader would meet it.
        for entry in entries:
            if entry.filename.endswith((".xml", ".rels", ".vml")):
                with archive.open(entry) as stream:
                    head = stream.read(_XML_HEAD_BYTES)
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise Refused(f"XML entity attack refused: {entry.filename} declares a DTD or entities")


def _read_xml(archive: zipfile.ZipFile, name: str) -> object:
    return fromstring(archive.read(name), forbid_dtd=True)


def workbook_facts(path: Path) -> tuple[bool, dict[str, int]]:
    """Whether dates count from 1904, and each sheet's declared cell count, from the workbook's XML.

    Returns (date1904, {sheet name: rows x columns of its `<dimension ref>`, 0 if the part is missing, -1
    if it declares none}), sheets in workbook order. Call after `check_archive`; raises what defusedxml
    raises for malformed XML and KeyError without `xl/_rels/workbook.xml.rels`.
    """
    with zipfile.ZipFile(path) as archive:
        workbook = _read_xml(archive, "xl/workbook.xml")
        properties = workbook.find("m:workbookPr", _NS)  # type: ignore[attr-defined]
        date1904 = properties is not None and properties.get("date1904") in ("1", "true")
        rels = _read_xml(archive, "xl/_rels/workbook.xml.rels")
        targets = {r.get("Id"): r.get("Target") for r in rels}  # type: ignore[attr-defined]
        cells: dict[str, int] = {}
        rel_attr = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
        for sheet in workbook.iterfind("m:sheets/m:sheet", _NS):  # type: ignore[attr-defined]
            target = str(targets.get(sheet.get(rel_attr), "")).lstrip("/")
            member = target if target.startswith("xl/") else f"xl/{target}"
            cells[sheet.get("name")] = _declared_cells(archive, member)
    return date1904, cells


def _declared_cells(archive: zipfile.ZipFile, member: str) -> int:
    """Rows × columns from the sheet's <dimension ref>, read from its first bytes only."""
    try:
        with archive.open(member) as stream:
            head = stream.read(4096).decode("utf-8", "replace")
    except KeyError:
        return 0
    match = re.search(r'<dimension ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"', head)
    if not match:
        return -1  # unknown: stream it
    first_col, first_row, last_col, last_row = match.groups()
    last_col, last_row = last_col or first_col, last_row or first_row

    def col_number(letters: str) -> int:
        number = 0
        for letter in letters:
            number = number * 26 + ord(letter) - 64
        return number

    return (int(last_row) - int(first_row) + 1) * (col_number(last_col) - col_number(first_col) + 1)


def _numbered(rows: Iterator[Row]) -> Iterator[tuple[int, Row]]:
    return ((number, row) for number, row in enumerate(rows, start=1))


def _calamine_rows(path: Path, sheet: str) -> Iterator[Row]:
    from python_calamine import CalamineWorkbook  # noqa: PLC0415 - only the fast path needs it

    workbook = CalamineWorkbook.from_path(str(path))
    data = workbook.get_sheet_by_name(sheet)
    # calamine starts at the first used cell; Excel's row numbers start at 1.
    first_row, first_col = data.start or (0, 0)
    for _ in range(first_row):
        yield ()
    # calamine gives "" for an empty cell; the row readers treat "" and None alike.
    if first_col:
        blank: Row = (None,) * first_col
        for row in data.iter_rows():
            yield (*blank, *row)
    else:
        yield from data.iter_rows()


def _openpyxl_rows(path: Path, sheet: str) -> Iterator[Row]:
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        yield from workbook[sheet].iter_rows(values_only=True)
    finally:
        workbook.close()


def open_workbook(path: Path, limits: Limits, memory_budget_bytes: int) -> tuple[list[SheetRows], str]:
    """The workbook's sheets, in order, each read lazily; and which reader was chosen.

    The reader is `"calamine"` when the largest declared cell count x `CALAMINE_BYTES_PER_CELL` fits in
    `memory_budget_bytes`, else `"openpyxl-streaming"`. A sheet without a `<dimension>` counts as -1: it
    forces streaming only when no other sheet declares more. Raises Refused (see `check_archive`);
    reader errors surface while rows are read.
    """
    check_archive(path, limits)
    date1904, cells = workbook_facts(path)
    largest = max(cells.values(), default=0)
    fast = 0 <= largest * CALAMINE_BYTES_PER_CELL <= memory_budget_bytes
    reader = _calamine_rows if fast else _openpyxl_rows
    sheets = [SheetRows(name, _numbered(_lazy(reader, path, name)), date1904) for name in cells]
    return sheets, "calamine" if fast else "openpyxl-streaming"


def _lazy(reader: object, path: Path, name: str) -> Iterator[Row]:
    # Opening a sheet happens on the first row asked for, so unread sheets cost nothing.
    yield from reader(path, name)  # type: ignore[operator]


def decode_csv_head(head: bytes) -> str:
    """The codec of a CSV from its first bytes: `utf-8-sig` (BOM), `utf-8`, or `cp949` (what Korean Excel writes).

    CP949 is a superset of EUC-KR. A UTF-8 sequence cut at the sample's end still counts as UTF-8. Raises
    Refused when the sample is neither UTF-8 nor CP949.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not merely a character cut at the sample's end
            try:
                head.decode("cp949")
            except UnicodeDecodeError:
                raise Refused("the CSV is neither UTF-8 nor CP949/EUC-KR text") from None
            return "cp949"
    return "utf-8"


def open_csv(path: Path) -> SheetRows:
    """A CSV file as one sheet named `"csv"`, its records numbered from 1, empty fields as None.

    The codec is chosen from the first 64 KiB (`decode_csv_head`). Raises Refused when that sample holds a
    NUL byte (binary) or is neither UTF-8 nor CP949; a later undecodable byte raises Refused while reading.
    """
    with path.open("rb") as raw:
        head = raw.read(1 << 16)
    if b"\x00" in head:
        raise Refused("the CSV is binary, not text (is it a workbook with a .csv name?)")
    encoding = decode_csv_head(head)

    def rows() -> Iterator[Row]:
        with path.open(encoding=encoding, newline="") as text:
            try:
                for row in csv.reader(text):
                    yield tuple(cell if cell != "" else None for cell in row)
            except UnicodeDecodeError as error:
                raise Refused(f"the CSV is not valid {encoding} text: {error.reason}") from None

    return SheetRows("csv", _numbered(rows()))


def open_survey_file(path: Path, name: str, limits: Limits, memory_budget_bytes: int) -> tuple[list[SheetRows], str]:
    """Open the local file `path`, uploaded as `name`, by `name`'s suffix (case-insensitive).

    `.xlsx`/`.xlsm` -> `open_workbook`; `.csv` -> `open_csv` (reader `"csv"`). Returns (sheets, reader).
    Raises Refused for any other suffix, and as those do.
    """
    suffix = Path(name).suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return open_workbook(path, limits, memory_budget_bytes)
    if suffix in CSV_SUFFIXES:
        return [open_csv(path)], "csv"
    raise Refused(f"unsupported file type {suffix or '(none)'}: upload .xlsx, .xlsm or .csv")
