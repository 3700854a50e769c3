"""A CSV upload as one sheet of rows: its encoding decided, its delimiter chosen, its quoting checked.

The encoding is `csv_encoding`'s. The delimiter is the one a first line `sep=;` names (Excel writes
and honours that line, and hides it: the row after it is row 1); otherwise, among comma, tab,
semicolon and bar, the one that splits the first 64 KiB into the most rows of one width, quotes
respected (`csv.Sniffer` counts delimiters inside quotes too, and a German "gut; danke" then wins).

Quoting is RFC 4180's, read by Python's csv module in strict mode: a quote closing a quoted cell must
be followed by a delimiter or the line's end. A quote left open would make the rest of the file one
cell, so the file is refused, naming the line where the quote opened, when the file ends inside a
quoted cell, when such a cell outgrows the csv module's field limit, or when a quoted cell's later
lines are rows swallowed until some later quote closed it: lines with a whole row's worth of
delimiters in a record not as wide as the one before, or, in one as wide, lines that start with a
cell shaped like the record's first (a respondent id: `R12`, `114`) or whose cells are shaped like the
record's own (`_refuse_swallowed_rows` says why no rule can do better, and why it refuses when in doubt). No error
of the csv module or of decoding escapes as anything but `Refused`.

Format: RFC 4180 (Common Format and MIME Type for CSV Files); Excel's `sep=` line is Excel's own.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from shoplake.surveys.csv_encoding import csv_encoding
from shoplake.surveys.workbook import Refused, Row, SheetRows

_DELIMITERS = ",\t;|"
_SAMPLE_CHARS = 1 << 16
_SEP_LINE = re.compile(r'"?sep=([^"\r\n])"?(?:\r\n|\r|\n|$)', re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_QUOTE = '"'
SHEET = "csv"


def csv_delimiter(sample: str) -> str:
    """The delimiter of CSV text, from its first lines: comma, tab, semicolon or bar; comma if none fits.

    Each candidate parses `sample` (cut to whole lines) with the csv module, quotes respected; the one
    giving the most rows of its most common width wins (rows parsed without a quoting error first,
    then the wider rows, then the order above). A candidate that leaves every row one cell never wins.
    """
    cut = sample.rfind("\n")
    # Lines as the file reader splits them (CR, LF or CRLF), which str.splitlines does not.
    lines = list(io.StringIO(sample[: cut + 1] if cut >= 0 else sample, newline=""))
    best, best_score = ",", (False, 0, 0)
    for delimiter in _DELIMITERS:
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        widths: Counter[int] = Counter()
        clean = True
        try:
            widths.update(len(record) for record in reader if record)
        except csv.Error:
            # A sample cut inside a quoted cell ends in an error that is no fault of this delimiter.
            clean = reader.line_num >= len(lines) and cut >= 0 and len(sample) >= _SAMPLE_CHARS
        width, rows = widths.most_common(1)[0] if widths else (0, 0)
        score = (clean, rows, width)
        if width >= 2 and score > best_score:
            best, best_score = delimiter, score
    return best


def _sep_line(head: str) -> str | None:
    """The delimiter a first line `sep=X` names, if the text starts with one."""
    match = _SEP_LINE.match(head)
    return match.group(1) if match else None


def open_csv(path: Path) -> SheetRows:
    """A CSV file as one sheet named `csv`, read lazily; rows are tuples of text, None for an empty cell.

    Rows are numbered from 1 as Excel numbers them (a `sep=` line is not a row; a cell's line breaks
    do not start rows). Raises Refused for an encoding not known with certainty (`csv_encoding`), and,
    while rows are read, for broken quoting, naming the line and the row (see the module's docstring).
    """
    encoding = csv_encoding(path)
    try:
        with path.open(encoding=encoding, newline="") as text:
            head = text.read(_SAMPLE_CHARS)
    except UnicodeError as error:  # pragma: no cover - csv_encoding has decoded the whole file
        raise Refused(f"the CSV is not {encoding} text: {error}") from None
    named = _sep_line(head)
    delimiter = named or csv_delimiter(head)
    return SheetRows(SHEET, _records(path, encoding, delimiter, skip=1 if named else 0))


def _records(path: Path, encoding: str, delimiter: str, skip: int) -> Iterator[tuple[int, Row]]:
    with path.open(encoding=encoding, newline="") as text:
        for _ in range(skip):
            text.readline()
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        number, width = 0, 0
        while True:
            first_line = skip + reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise _quoting_refused(
                    path,
                    encoding,
                    delimiter,
                    error,
                    first_line=first_line,
                    last_line=skip + reader.line_num,
                    row=number + 1,
                ) from None
            except UnicodeError as error:  # pragma: no cover - csv_encoding has decoded the whole file
                raise Refused(f"the CSV is not {encoding} text: {error}", sheet=SHEET, row=number + 1) from None
            number += 1
            if skip + reader.line_num > first_line:
                _refuse_swallowed_rows(record, width, delimiter, first_line, number)
            width = len(record)
            yield number, tuple(cell if cell != "" else None for cell in record)


def _refuse_swallowed_rows(record: list[str], width: int, delimiter: str, first_line: int, number: int) -> None:
    """Refuse a record whose quoted cell has swallowed rows: a quote left open until a later quote closed it.

    What is decidable: a quote opened in column c and closed on a later line in column d leaves a record
    `c - d` cells wider than its rows, so a record as wide as the one before it closed its quote in the
    column it opened in, as a well-quoted multi-line cell does. When the cell opened in the last column
    and the quote that closed it ends a later line, the two readings are the same CSV: rows swallowed
    into a comment, or a comment whose lines list things with commas. Syntax cannot tell them apart,
    so a later line of the cell holding a row's worth of delimiters is taken for a swallowed row when
    the record is not as wide as the one before it, or when the line reads as a row (`_reads_as_a_row`):
    it starts with a cell shaped like the record's first (each row starts with a respondent id; a list
    typed in a comment starts with a word), or its cells are shaped like the record's where both hold
    something (optional answers one row skipped and another gave are not compared). Losing rows inside
    a comment is worse than refusing a comment whose list starts like an id: the refusal names the line
    the quote opened on, and the uploader mends the quote or puts the list on one line.
    """
    line = first_line
    whole_row = max(len(record) - 1, 2)
    for index, cell in enumerate(record):
        later_lines = _LINE_BREAK.split(cell)[1:]
        for offset, text in enumerate(later_lines, start=1):
            if text.count(delimiter) < whole_row:
                continue
            if len(record) == width and not _reads_as_a_row(text.split(delimiter), record, index):
                continue
            raise Refused(
                f"the quoted cell opened on line {line} runs over line {line + offset}, which holds a whole "
                f"row ({text[:40]!r}): is a closing quote missing? A quote inside a cell is written twice; "
                "a list inside one cell is put on one line",
                sheet=SHEET,
                row=number,
            )
        line += len(later_lines)


_LETTERS = re.compile(r"[^\W\d_]+")
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")
# The share of compared columns whose cells must be shaped alike for a line to be taken for a row.
_ROW_LIKENESS = 0.75


def _shape(cell: str) -> str:
    """A cell's shape: each run of letters (any script) `a`, of digits `9`, of spaces one space: `R12` -> `a9`."""
    return _SPACES.sub(" ", _DIGITS.sub("9", _LETTERS.sub("a", cell.strip())))


def _reads_as_a_row(fields: list[str], record: list[str], skipped: int) -> bool:
    """Whether a line's fields read as a row beside the record: its first cell shaped like the record's first
    cell (the first line of it), or the fields shaped like the record's cells in the same columns in
    `_ROW_LIKENESS` of the columns where both hold something (the cell that holds the line not compared)."""
    first = _LINE_BREAK.split(record[0])[0]
    if fields[0].strip() and first.strip() and _shape(fields[0]) == _shape(first):
        return True
    pairs = [
        (f, r) for i, (f, r) in enumerate(zip(fields, record, strict=False)) if i != skipped and f.strip() and r.strip()
    ]
    alike = sum(_shape(f) == _shape(r) for f, r in pairs)
    return bool(pairs) and alike >= _ROW_LIKENESS * len(pairs)


def _quoting_refused(
    path: Path, encoding: str, delimiter: str, error: csv.Error, *, first_line: int, last_line: int, row: int
) -> Refused:
    """What the csv module's error means to the uploader, naming the line where the quote at fault opened."""
    opened = _quote_opened_on(path, encoding, delimiter, first_line, last_line)
    message = str(error)
    twice = "a quote inside a cell is written twice"
    if "expected after" in message and opened and opened < last_line:
        reason = (
            f"the quoted cell opened on line {opened} runs to line {last_line}, where a quote closes it and text "
            f"follows: is a closing quote missing on line {opened}? ({twice})"
        )
    elif "expected after" in message:
        reason = f"line {last_line}: a quote closes a quoted cell and text follows it ({twice})"
    elif opened and ("unexpected end of data" in message or "field larger than field limit" in message):
        reason = (
            f"the quoted cell opened on line {opened} is never closed: every line after it would be one cell ({twice})"
        )
    elif "field larger than field limit" in message:
        reason = f"line {last_line}: a cell holds more than {csv.field_size_limit():,} characters"
    else:
        reason = f"line {last_line}: not CSV as Excel writes it ({message})"
    return Refused(reason, sheet=SHEET, row=row)


def _quote_opened_on(path: Path, encoding: str, delimiter: str, first_line: int, last_line: int) -> int | None:
    """The line where the quoted cell at fault opened: the first one closed by a quote that text follows, else
    the one still open after `last_line`; None if there is none.

    Reads lines `first_line` (a row's first) to `last_line` with the csv module's rules: a quote opens a
    quoted cell only at a cell's start; inside one, two quotes are a quote and one closes it.
    """
    inside, opened = False, None
    with path.open(encoding=encoding, newline="") as text:
        for number, line in enumerate(text, start=1):
            if number > last_line:
                break
            if number < first_line or _QUOTE not in line:
                continue
            position, at_start = 0, not inside
            while position < len(line):
                if inside:
                    close = line.find(_QUOTE, position)
                    if close < 0:
                        break
                    if line.startswith(_QUOTE, close + 1):
                        position = close + 2
                        continue
                    if line[close + 1 : close + 2] not in (delimiter, "\r", "\n", ""):
                        return opened
                    inside, at_start, position = False, False, close + 1
                elif at_start and line.startswith(_QUOTE, position):
                    inside, opened, position = True, number, position + 1
                else:
                    next_cell = line.find(delimiter, position)
                    if next_cell < 0:
                        break
                    at_start, position = True, next_cell + 1
    return opened if inside else None
