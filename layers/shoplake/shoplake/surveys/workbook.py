"""Open survey files safely, and read their rows lazily.

Before a workbook is opened its ZIP directory is checked (sizes, ratios, entry count),
so a zip bomb is refused without being inflated; so is a member zipfile cannot open (encrypted, or
compressed by a method Excel never uses, Deflate64), saying how to mend it. XML is parsed only with
defusedxml. A part not in UTF-8 (`encoding="EUC-KR"`, UTF-16) is read through a UTF-8 copy (`xml_encoding`).
Rows are numbered by their `r` attribute, never their position: rows written out of order are read in the
order of their numbers, and a number written twice refuses the file naming the row (`row_order`).
Cells are read as the values Excel stored; formulas are never evaluated. Sheets whose
cells fit the memory budget are read with calamine (fast, holds the sheet); larger ones
stream through openpyxl's read-only mode (flat memory); a sheet's size is the larger of what its
`<dimension>` declares and what its part's uncompressed size can hold, since many writers declare
`A1`. Both yield the same raw values,
and `rows` types them the same way; a "Strict Open XML" workbook is read through a
Transitional copy (`strict_ooxml`). Each sheet says whether Excel shows it (`state`). A package, part
or cell no reader can read (cut short, a part missing, a CRC error) refuses the file with the sheet and
the damage named (`Refused`); a cell one reader reads and the other would not is read alike by both.

A CSV is read by `csv_file` (its encoding decided by `csv_encoding`), as one sheet named `csv`.

Formats: xlsx/xlsm are Office Open XML SpreadsheetML in an OPC ZIP package (ECMA-376 Part 1 and Part 2;
workbook properties section 18.2.28, worksheet dimension 18.3.1.35, sheet state 18.2.19); CSV is read as
RFC 4180 text by Python's `csv` module.
"""

from __future__ import annotations

import logging
import re
import traceback
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ExpatError

import defusedxml
from defusedxml.ElementTree import fromstring
from openpyxl.xml import DEFUSEDXML
from python_calamine import CalamineError

from shoplake.surveys import sheet_readers, strict_ooxml, xml_encoding
from shoplake.surveys.cells import canonical_row
from shoplake.surveys.forms import Limits
from shoplake.surveys.row_order import RowOrderError
from shoplake.surveys.sheet_readers import SheetFacts

# openpyxl parses workbook XML with defusedxml only when it is installed; refuse to run without it.
if not DEFUSEDXML:  # pragma: no cover - the layer always installs defusedxml
    raise ImportError(f"defusedxml {defusedxml.__version__} is not used by openpyxl: XML entity attacks possible")

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv",)
SUPPORTED_SUFFIXES = EXCEL_SUFFIXES + CSV_SUFFIXES
# What a calamine cell costs in memory, measured: the fast path is taken while a sheet's cells (rows ×
# columns, `SheetFacts.cells`) times this fit the memory budget.
CALAMINE_BYTES_PER_CELL = 160
# The fewest bytes of sheet XML a cell holding a value takes, so a part's uncompressed size (from the ZIP
# directory, which `check_archive` has bounded) over this is at least the cells it holds, whatever its
# <dimension> says. Measured: `<c><v>1</v></c>` is 15 bytes (`r` is optional) and each row adds its
# `<row>` tags; Excel writes about 25 bytes a one-digit cell, openpyxl 32 (numbers) to 50 (short text).
SHEET_XML_BYTES_PER_CELL = 16
_MAX_ZIP_ENTRIES = 10_000
_XML_HEAD_BYTES = 8192
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_RELATIONSHIPS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# A <sheet>'s relationship id: the relationships namespace's `id` (written `r:id`).
_SHEET_RELATIONSHIP_ID = f"{{{_RELATIONSHIPS_NS}}}id"
# What the readers raise on a damaged package, part or cell: the ZIP (a CRC or inflate error, a member
# cut short), the XML (malformed, cut short, an encoding Python does not know: LookupError), a missing part
# (KeyError), a cell no reader can read (calamine's errors; openpyxl's IndexError and ValueError). Refusals
# for these are logged with the traceback and keep the exception's type, so a fault of our own code is
# never mistaken quietly for one.
_DAMAGE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    ParseError,
    ExpatError,
    CalamineError,
    LookupError,  # KeyError, IndexError, and an unknown XML encoding
    ValueError,
)
# Excel saves a workbook encrypted with a password ("Encrypt with Password") as an OLE compound file, as it
# saved the old .xls (MS-OFFCRYPTO 2.1; MS-CFB 2.2: the file starts with these 8 bytes).
_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_OLE_REASON = (
    "not an Excel workbook we can read: the file is password-protected or an old .xls; remove the password "
    "(File > Info > Protect Workbook) and save it as an Excel Workbook (.xlsx)"
)
_SAVE_AGAIN = "open it in Excel, save it again (File > Save As, Excel Workbook), and upload the saved copy"
logger = logging.getLogger(__name__)


class Refused(Exception):  # noqa: N818 - "the file is refused" reads better than RefusedError
    """The file is refused as a whole; where it is known, the sheet, row and column say where.

    `reason` is the message people read; `row` is Excel's 1-based row number, `column` a column letter;
    `skipped` the sheets looked at and passed over, as `SkippedSheet.as_dict()` gives them (shoplake.surveys.layout).
    """

    def __init__(
        self,
        reason: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        skipped: Sequence[dict[str, str | None]] = (),
    ):
        super().__init__(reason)
        self.reason = reason
        self.skipped = list(skipped)
        self.sheet = sheet
        self.row = row
        self.column = column


Cell = object
Row = Sequence[Cell]


@dataclass
class SheetRows:
    """One sheet's rows, numbered from 1 as Excel numbers them, read lazily.

    `state` is the sheet's visibility as the workbook declares it: visible, hidden or veryHidden.
    """

    name: str
    rows: Iterator[tuple[int, Row]]
    date1904: bool = False
    state: str = "visible"
    examined: bool = False  # set once `layout` has looked at its first rows

    @property
    def visible(self) -> bool:
        """Whether Excel shows the sheet (`state` is `visible`); hidden sheets are never ingested."""
        return self.state == "visible"

    def close(self) -> None:
        """Stop reading: the reader lets go of the sheet (calamine holds all of it)."""
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()


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
        with path.open("rb") as start:
            if start.read(len(_OLE_MAGIC)) == _OLE_MAGIC:
                raise Refused(_OLE_REASON) from None
        raise Refused("not an Excel workbook: the file is not a ZIP archive (is it an old .xls, or renamed?)") from None
    with archive:
        entries = archive.infolist()
        _check_members_readable(entries)
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


def _check_members_readable(entries: list[zipfile.ZipInfo]) -> None:
    """Refuse a package a member of which is encrypted (ZIP general purpose flag bit 0) or compressed otherwise
    than stored or deflated (APPNOTE 4.4.4-4.4.5): zipfile cannot open them, and Excel writes neither."""
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise Refused(
                f"the workbook is password-protected ({entry.filename} is encrypted): remove the password "
                "(File > Info > Protect Workbook) and save it again"
            )
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Refused(
                f"the workbook is compressed in a way Excel does not write ({entry.filename}: ZIP method "
                f"{entry.compress_type}, as a re-zipping tool may use): open it in Excel and save it again"
            )


def damaged(error: BaseException, sheet: str | None = None, part: str | None = None) -> Refused:
    """The refusal of a workbook a reader could not read (`error`, one of `_DAMAGE`); logged with its traceback.

    The reason names what looks damaged (`part`, else the sheet or the package) and the exception's type and
    message, and says how to fix it: open the file in Excel and save it again. The log has the type and the
    traceback's frames but not the message, which can quote a cell (a survey answer).
    """
    frames = "".join(traceback.format_tb(error.__traceback__))
    logger.warning(
        "survey workbook refused as damaged (sheet %r, part %r): %s\n%s", sheet, part, type(error).__name__, frames
    )
    where = f"its part {part}" if part else "the sheet" if sheet else "the workbook's package"
    detail = str(error).strip() or "no detail"
    return Refused(
        f"the workbook looks damaged: {where} cannot be read ({type(error).__name__}: {detail[:200]}); {_SAVE_AGAIN}",
        sheet=sheet,
    )


def _read_xml(archive: zipfile.ZipFile, name: str) -> object:
    return fromstring(archive.read(name), forbid_dtd=True)


def workbook_facts(path: Path) -> tuple[bool, list[SheetFacts]]:
    """Whether dates count from 1904, and each sheet's facts (`SheetFacts`), in workbook order, from the XML.

    Call after `check_archive`; raises what defusedxml raises for malformed XML, KeyError without
    `xl/_rels/workbook.xml.rels`, and zipfile's or zlib's errors for a damaged package (see `damaged`).
    """
    with zipfile.ZipFile(path) as archive:
        workbook = _read_xml(archive, "xl/workbook.xml")
        date1904 = sheet_readers.declares_1904(workbook)
        rels = _read_xml(archive, "xl/_rels/workbook.xml.rels")
        targets = {r.get("Id"): r.get("Target") for r in rels}  # type: ignore[attr-defined]
        sheets: list[SheetFacts] = []
        for sheet in workbook.iterfind("m:sheets/m:sheet", _NS):  # type: ignore[attr-defined]
            target = str(targets.get(sheet.get(_SHEET_RELATIONSHIP_ID), "")).lstrip("/")
            member = target if target.startswith("xl/") else f"xl/{target}"
            state = sheet.get("state") or "visible"
            sheets.append(SheetFacts(sheet.get("name"), member, _sheet_cells(archive, member), state))
    return date1904, sheets


_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
# A sheet's target as Excel (relative) and openpyxl (absolute) write it: both resolve it to one part.
_PLAIN_SHEET_TARGET = re.compile(r"(?:/xl/)?worksheets/[\w.-]+\.xml")
_NAMESPACE_DECLARATION = re.compile(rb"""xmlns:([^\s=]+)\s*=\s*["']([^"']*)["']""")


def plainly_related(path: Path) -> bool:
    """Whether calamine finds each sheet in the part `workbook_facts` names (the part `row_order` scans).

    calamine reads the attribute named `r:id` whatever `r` is bound to, reads only `Relationship` elements,
    and resolves a target by OPC's rules (ECMA-376 Part 2, 9.3); `workbook_facts` reads the relationships
    namespace's `id` and the Excel and openpyxl spellings of a target. They agree when the relationships
    namespace is bound to `r` and to nothing else, the part holds only Relationship elements with one of
    each Id, and every sheet's target is spelled as Excel or openpyxl spell it. Call after `check_archive`;
    raises as `workbook_facts` does.
    """
    with zipfile.ZipFile(path) as archive:
        declared = _NAMESPACE_DECLARATION.findall(archive.read("xl/workbook.xml"))
        if any((prefix == b"r") != (uri == _RELATIONSHIPS_NS.encode()) for prefix, uri in declared):
            return False
        workbook = _read_xml(archive, "xl/workbook.xml")
        rels = list(_read_xml(archive, "xl/_rels/workbook.xml.rels"))  # type: ignore[call-overload]
    ids = [r.get("Id") for r in rels]
    if any(r.tag != _RELATIONSHIP for r in rels) or len(set(ids)) != len(ids):
        return False
    targets = {r.get("Id"): str(r.get("Target")) for r in rels}
    sheets = workbook.iterfind("m:sheets/m:sheet", _NS)  # type: ignore[attr-defined]
    return all(_PLAIN_SHEET_TARGET.fullmatch(targets.get(sheet.get(_SHEET_RELATIONSHIP_ID), "")) for sheet in sheets)


def _sheet_cells(archive: zipfile.ZipFile, member: str) -> int:
    """At least the cells the sheet holds: the larger of its <dimension ref>'s rows × columns and its size's.

    A dimension is read from the part's first 4 KiB; one cell (`L5000`, as LibreOffice writes it) is
    the range from A1. Streaming writers declare `A1` whatever they write, so the part's uncompressed
    size over `SHEET_XML_BYTES_PER_CELL` bounds it too. 0 when the part is missing.
    """
    try:
        size = archive.getinfo(member).file_size
    except KeyError:
        return 0
    with archive.open(member) as stream:
        head = stream.read(4096).decode("utf-8", "replace")
    match = re.search(r'<dimension ref="\$?([A-Z]{1,3})\$?(\d{1,7})(?::\$?([A-Z]{1,3})\$?(\d{1,7}))?"', head)
    declared = 0
    if match:
        first_col, first_row, last_col, last_row = match.groups()
        if last_col is None:  # one cell: the range from A1 to it
            first_col, first_row, last_col, last_row = "A", "1", first_col, first_row
        rows = int(last_row) - int(first_row) + 1
        declared = max(rows, 0) * max(_column_number(last_col) - _column_number(first_col) + 1, 0)
    return max(declared, size // SHEET_XML_BYTES_PER_CELL)


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def open_workbook(path: Path, limits: Limits, memory_budget_bytes: int, work_dir: Path) -> tuple[list[SheetRows], str]:
    """The workbook's sheets, in order, each read lazily; and which reader was chosen.

    The reader is `"calamine"` when the largest sheet's cells (`SheetFacts.cells`) x `CALAMINE_BYTES_PER_CELL`
    fit in `memory_budget_bytes`, else `"openpyxl-streaming"`. A Strict workbook is first rewritten as a
    Transitional one in `work_dir`, which must outlive the reading of the sheets. Raises Refused (see
    `check_archive`, and `damaged` for a package no reader can read); a sheet's rows raise Refused, naming
    the sheet, when its part or a cell cannot be read.
    """
    try:
        check_archive(path, limits)
        path = xml_encoding.to_utf8(path, work_dir)
        if strict_ooxml.is_strict(path):
            transitional = work_dir / f"transitional{path.suffix}"
            strict_ooxml.to_transitional(path, transitional)
            path = transitional
        date1904, facts = workbook_facts(path)
        plain = plainly_related(path)
    except _DAMAGE as error:
        raise damaged(error) from error
    largest = max((sheet.cells for sheet in facts), default=0)
    # calamine finds a sheet by its name, even when asked for it by position: two sheets of one name
    # (Excel never writes them; a crafted or repaired file may) are read by the streaming reader.
    unique = len({sheet.name.casefold() for sheet in facts}) == len(facts)
    fast = unique and plain and largest * CALAMINE_BYTES_PER_CELL <= memory_budget_bytes
    max_cells = memory_budget_bytes // CALAMINE_BYTES_PER_CELL
    reader = partial(sheet_readers.calamine_rows, max_cells=max_cells) if fast else sheet_readers.openpyxl_rows
    sheets = [
        SheetRows(sheet.name, _lazy(reader, path, facts, position), date1904, sheet.state)
        for position, sheet in enumerate(facts)
    ]
    return sheets, "calamine" if fast else "openpyxl-streaming"


def _lazy(reader: object, path: Path, facts: list[SheetFacts], position: int) -> Iterator[tuple[int, Row]]:
    # Opening a sheet happens on the first row asked for, so unread sheets cost nothing. Each reader's
    # cells leave in one shared form (`cells`): the reader chosen never changes what is converted. Every
    # reader error surfaces here, so here is where a damaged sheet becomes a refusal.
    sheet = facts[position]
    try:
        for number, row in reader(path, facts, position):  # type: ignore[operator]
            yield number, canonical_row(row)
    except sheet_readers.MissingPart as missing:
        raise Refused(f"the sheet's part {missing} is not in the workbook", sheet=sheet.name) from None
    except RowOrderError as error:
        reason = f"the sheet's rows are numbered in a way Excel never writes: {error.reason}; {_SAVE_AGAIN}"
        raise Refused(reason, sheet=sheet.name, row=error.row) from None
    except _DAMAGE as error:
        raise damaged(error, sheet.name, sheet.part) from error


def open_survey_file(
    path: Path, name: str, limits: Limits, memory_budget_bytes: int, work_dir: Path
) -> tuple[list[SheetRows], str]:
    """The file's sheets and the reader chosen; `work_dir` holds what reading needs beside the file."""
    suffix = Path(name).suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return open_workbook(path, limits, memory_budget_bytes, work_dir)
    if suffix in CSV_SUFFIXES:
        from shoplake.surveys.csv_file import open_csv  # noqa: PLC0415 - csv_file imports this module

        return [open_csv(path)], "csv"
    raise Refused(f"unsupported file type {suffix or '(none)'}: upload .xlsx, .xlsm or .csv")
