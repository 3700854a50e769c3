"""Workbooks saved as "Strict Open XML Spreadsheet", rewritten as the Transitional ones both readers know.

ISO/IEC 29500 has two conformance classes. Excel's default `.xlsx` is Transitional; "Strict
Open XML Spreadsheet" (Excel's Save As) writes the same parts under other namespace names
(`http://purl.oclc.org/ooxml/...` for `http://schemas.openxmlformats.org/.../2006/...`,
ECMA-376 Part 1, 5th edition, and Part 4 for Transitional). Neither openpyxl nor calamine
knows them: to both, a Strict workbook has no sheets, or empty ones. The names map one to
one, so a Strict workbook is read through a copy whose names are the Transitional ones.
Strict's other differences that matter here, ISO 8601 date cells (`t="d"`), both readers read.

The copy is streamed part by part, in chunks, so a large sheet costs no more memory than
a small one; the caller has already checked the archive's sizes (`workbook.check_archive`).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import IO

from shoplake.surveys.workbook_copy import CHUNK, XML_PARTS, PartRewrite, copy_rewriting

_STRICT = "http://purl.oclc.org/ooxml/"
_TRANSITIONAL = "http://schemas.openxmlformats.org/"
# Strict name (after _STRICT) -> Transitional name (after _TRANSITIONAL). A relationship type is its
# namespace's name plus `/<type>`; the only types whose names differ are listed whole.
STRICT_TO_TRANSITIONAL: dict[str, str] = {
    "spreadsheetml/main": "spreadsheetml/2006/main",
    "officeDocument/relationships/extendedProperties": "officeDocument/2006/relationships/extended-properties",
    "officeDocument/relationships/customProperties": "officeDocument/2006/relationships/custom-properties",
    "officeDocument/relationships": "officeDocument/2006/relationships",
    "officeDocument/extendedProperties": "officeDocument/2006/extended-properties",
    "officeDocument/customProperties": "officeDocument/2006/custom-properties",
    "officeDocument/docPropsVTypes": "officeDocument/2006/docPropsVTypes",
    "officeDocument/sharedTypes": "officeDocument/2006/sharedTypes",
    "officeDocument/bibliography": "officeDocument/2006/bibliography",
    "officeDocument/math": "officeDocument/2006/math",
    "drawingml/main": "drawingml/2006/main",
    "drawingml/chart": "drawingml/2006/chart",
    "drawingml/chartDrawing": "drawingml/2006/chartDrawing",
    "drawingml/diagram": "drawingml/2006/diagram",
    "drawingml/picture": "drawingml/2006/picture",
    "drawingml/lockedCanvas": "drawingml/2006/lockedCanvas",
    "drawingml/spreadsheetDrawing": "drawingml/2006/spreadsheetDrawing",
    "schemaLibrary/main": "schemaLibrary/2006/main",
}
_REPLACEMENTS = {(_STRICT + k).encode(): (_TRANSITIONAL + v).encode() for k, v in STRICT_TO_TRANSITIONAL.items()}
# Longest first, so that a name is never taken for a shorter name it starts with.
_NAMES = re.compile(b"|".join(re.escape(k) for k in sorted(_REPLACEMENTS, key=len, reverse=True)))
# A chunk's last bytes wait for the next chunk, in case a name is cut between the two.
_HELD_BACK = max(len(k) for k in _REPLACEMENTS)
_HEAD = 4096
# Renaming adds a few bytes per name: a part near 2 GiB may need ZIP64 once rewritten.
_GROWTH = 2


def is_strict(path: Path) -> bool:
    """Whether the workbook part declares the Strict SpreadsheetML namespace (read from its first bytes)."""
    with zipfile.ZipFile(path) as archive, archive.open("xl/workbook.xml") as part:
        return (_STRICT + "spreadsheetml/main").encode() in part.read(_HEAD)


def _rewrite(source: IO[bytes], target: IO[bytes]) -> None:
    held = b""
    while True:
        chunk = source.read(CHUNK)
        data = held + chunk
        # Matches starting before `settled` are whole: a name is shorter than what is held back.
        settled = len(data) if not chunk else max(len(data) - _HELD_BACK, 0)
        written = 0
        for match in _NAMES.finditer(data):
            if match.start() >= settled:
                break
            target.write(data[written : match.start()])
            target.write(_REPLACEMENTS[match.group()])
            written = match.end()
        cut = max(written, settled)
        target.write(data[written:cut])
        held = data[cut:]
        if not chunk:
            return


def to_transitional(path: Path, target: Path) -> None:
    """Write the Strict workbook at `path` to `target` with every Strict namespace name made Transitional."""

    def rewrite_for(name: str) -> PartRewrite | None:
        return _rewrite if name.endswith(XML_PARTS) else None

    copy_rewriting(path, target, rewrite_for, _GROWTH)
