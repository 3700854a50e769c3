"""From raw cells to typed rows: convert each value, say what is wrong where (`layout` finds the header).

Every problem names its row (as Excel numbers it), its column (letter and header) and
the reason. Values arrive as whatever the reader stored (text, numbers, dates, Excel
serial numbers, numbers typed as text) and leave as the form's declared type. Text is read
as text: a number is an Excel serial date only in a numeric cell, commas group thousands
only in threes, and dates lie in Excel's calendar (1900-01-01 to 9999-12-31). A cell that
cannot be converted, for whatever reason, costs its row, never the file. `Converter` is what a cell
means; `columns` types whole columns in bulk and hands it every cell bulk typing cannot vouch for;
`typed_rows`, row by row, is the reference `tests/unit/test_survey_columns_equivalence.py` holds it to.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, tzinfo
from functools import partial
from zoneinfo import ZoneInfo

from shoplake.surveys import excel_calendar
from shoplake.surveys.datetime_text import DateTimeTextError, header_zone, parse_datetime_text
from shoplake.surveys.forms import Column, Form, normalise_label
from shoplake.surveys.layout import Layout
from shoplake.surveys.workbook import Refused, Row, SheetRows, column_letter

# Text that a spreadsheet would run as a formula when someone opens an export of it.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START_CHARS = frozenset("".join(FORMULA_START))
_NUMBER_TEXT = re.compile(r"^[+-]?\d+(\.\d+)?$")
# A number as text: digits, commas only between groups of three (1,000), an optional decimal point.
_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+", re.ASCII)
_LIST_SPLIT = re.compile(r"\s*[,;/·\n]\s*")
_YEAR_MONTH = re.compile(r"^(\d{4})[-./](\d{1,2})$")
_INT64 = (-(2**63), 2**63 - 1)  # integer columns are stored as int64


class CellError(ValueError):
    """One cell's value cannot be what its column declares; `shown`, if given, is the value to report."""

    def __init__(self, reason: str, shown: str | None = None) -> None:
        super().__init__(reason)
        self.shown = shown


@dataclass(frozen=True)
class Problem:
    """What is wrong with one cell, and where.

    The Excel row number, column letter, header text, the value as shown (cut to 80 characters), the reason.
    """

    row: int
    column: str
    header: str
    value: str
    reason: str

    def as_dict(self) -> dict[str, object]:
        """`{"row", "column", "header", "value", "reason"}`: the form quarantine and rejects reports use."""
        return asdict(self)


def neutralise(text: str) -> str:
    """Text that would act as a formula in a spreadsheet gets a leading apostrophe.

    Text starting `= + - @`, tab or CR, unless it is a plain number (`-3`, `+1.5`), becomes `'` + text:
    the usual defence against CSV/formula injection (OWASP, "CSV Injection") when the data is exported.
    """
    if text.startswith(FORMULA_START) and not _NUMBER_TEXT.match(text):
        return "'" + text
    return text


def _text(value: object) -> str:
    text = str(value)
    if not unicodedata.is_normalized("NFKC", text):  # a cheap check; most cells are already normal
        text = unicodedata.normalize("NFKC", text)
    return text.strip()


def _outside_calendar(value: object) -> CellError:
    shown = repr(value) if isinstance(value, str) else str(value)
    return CellError(f"{shown} is outside Excel's calendar ({excel_calendar.FIRST_DAY} to {excel_calendar.LAST_DAY})")


class Converter:
    """Converts one sheet's cells for one form; built once per file, used for every cell.

    `date1904` is the workbook's date system (serial numbers count days from 1899-12-30, or 1904-01-01);
    naive times are in the form's `timezone`. Raises ZoneInfoNotFoundError for an unknown zone and
    `re.error` for a bad column `pattern`.
    """

    def __init__(self, form: Form, date1904: bool) -> None:
        self.form = form
        self.date1904 = date1904
        self.zone = ZoneInfo(form.timezone)
        self.max_cell_chars = form.limits.max_cell_chars
        self._patterns = {c.name: re.compile(c.pattern) for c in form.columns if c.pattern}
        self._by_type: dict[str, Callable[[Column, object], object]] = {
            "string": self._string,
            "integer": self._integer,
            "number": self._number,
            "timestamp": self._timestamp,
            "date": self._date,
            "string_list": self._string_list,
            "boolean": self._boolean,
        }

    def convert(self, column: Column, value: object) -> object:
        """One cell as the column's type, or CellError saying why it cannot be; see `for_column`."""
        return self.for_column(column)(value)

    def for_column(self, column: Column, header: str = "") -> Callable[[object], object]:
        """The conversion of one column's cells, bound once so that each cell costs one call.

        Every path ends in the same typed converters; the shortcuts only skip work whose
        answer is already known (a choice answered before, text that needs no cleaning).

        The function maps a raw cell to: `str` (NFKC, trimmed, choice resolved, formula-neutralised),
        `int`, `float`, an aware UTC `datetime` (timestamp), `date`, `list[str]` (split on `, ; / · newline`)
        or `bool` (yes/no, 예/아니오, 1/0, O/X); None for an empty optional cell. It raises CellError for an
        empty required cell and for a value its type, choices, pattern, length or bounds refuse. A timestamp
        whose `header` names a zone (Typeform's `Submit Date (UTC)`) is read in that zone when it has none.
        """
        typed = self._by_type[column.type]
        zone = header_zone(header) if column.type == "timestamp" else None
        if zone is not None:
            typed = partial(self._timestamp, zone=zone)
        required = column.required

        def convert(value: object) -> object:
            if value is None or (isinstance(value, str) and not value.strip()):
                if required:
                    raise CellError("a value is required")
                return None
            return typed(column, value)

        if column.type not in ("string", "string_list"):
            return convert
        if column.allowed or column.value_aliases or column.pattern:
            return self._remembering(convert)
        return self._plain_text(column, convert) if column.type == "string" else convert

    @staticmethod
    def _remembering(convert: Callable[[object], object]) -> Callable[[object], object]:
        # A choice column holds a handful of distinct answers: each is worked out once per file.
        answers: dict[object, tuple[bool, object]] = {}

        def remembered(value: object) -> object:
            # Answers are shared between rows: nothing downstream changes a converted value.
            known = answers.get(value)
            if known is None:
                try:
                    known = (True, convert(value))
                except CellError as error:
                    known = (False, str(error))
                answers[value] = known
            if not known[0]:
                raise CellError(str(known[1]))
            return known[1]

        return remembered

    @staticmethod
    def _plain_text(column: Column, convert: Callable[[object], object]) -> Callable[[object], object]:
        max_length = column.max_length

        def plain(value: object) -> object:
            if value.__class__ is not str:
                return convert(value)
            text = value.strip()
            if not text or not unicodedata.is_normalized("NFKC", text):
                return convert(value)
            if max_length is not None and len(text) > max_length:
                return convert(value)  # the full path says what is wrong
            return neutralise(text) if text[0] in _FORMULA_START_CHARS else text

        return plain

    def _choice(self, column: Column, text: str) -> str:
        if not column.allowed and not column.value_aliases:
            return text
        label = normalise_label(text)
        if label in column.value_aliases:
            return column.value_aliases[label]
        for allowed in column.allowed:
            if normalise_label(allowed) == label:
                return allowed
        if column.allowed:
            raise CellError(f"{text!r} is not one of {', '.join(column.allowed)}")
        return text

    def _string(self, column: Column, value: object) -> str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # an id typed as a number: 1024, not 1024.0
        text = self._choice(column, _text(value))
        pattern = self._patterns.get(column.name)
        if pattern is not None and not pattern.match(text):
            raise CellError(f"{text!r} does not look like {column.pattern}")
        if column.max_length is not None and len(text) > column.max_length:
            raise CellError(f"{len(text)} characters, more than the {column.max_length} allowed")
        return neutralise(text)

    def _number(self, column: Column, value: object) -> float:
        if isinstance(value, bool):
            raise CellError(f"{value} is not a number")
        if isinstance(value, int | float):
            number = float(value)
            if not math.isfinite(number):
                raise CellError(f"{value} is not a number")
        else:
            text = _text(value).removesuffix("점").strip()
            if not _NUMBER.fullmatch(text):
                hint = ": commas group thousands in threes (1,000); decimals take a point (1.5)" if "," in text else ""
                raise CellError(f"{_text(value)!r} is not a number{hint}")
            number = float(text.replace(",", ""))
        if column.minimum is not None and number < column.minimum:
            raise CellError(f"{number:g} is below the minimum {column.minimum:g}")
        if column.maximum is not None and number > column.maximum:
            raise CellError(f"{number:g} is above the maximum {column.maximum:g}")
        return number

    def _integer(self, column: Column, value: object) -> int:
        if value.__class__ is float and value.is_integer():
            value = int(value)  # calamine gives every number as a float
        if (
            type(value) is int
            and column.minimum is not None
            and column.maximum is not None
            and (column.minimum <= value <= column.maximum)
        ):
            return value  # the common case, kept cheap
        number = self._number(column, value)
        if not number.is_integer():
            raise CellError(f"{number:g} is not a whole number")
        if not _INT64[0] <= number <= _INT64[1]:
            raise CellError(f"{number:g} is too large to store")
        return int(number)

    def _naive_datetime(self, value: object) -> datetime:
        if isinstance(value, datetime):
            if value.date() >= excel_calendar.first_day(self.date1904):
                return value
            value = value.time()  # before the calendar (an ISO date cell): only its time of day means anything
        if isinstance(value, time):
            raise CellError(f"{value} is a time of day with no date (a date serial below 1)", shown=str(value))
        if isinstance(value, date):
            return datetime.combine(value, time())
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return excel_calendar.from_serial(float(value), self.date1904)  # only numeric cells hold serials
            except ValueError as error:
                raise CellError(str(error)) from None
        text = _text(value)
        if _NUMBER.fullmatch(text):
            raise CellError(f"{text!r} is a number, not a date: write a date (2026-11-24) or a month (2026-11)")
        try:
            return parse_datetime_text(text)
        except DateTimeTextError as error:
            raise CellError(str(error)) from None

    def _timestamp(self, column: Column, value: object, zone: tzinfo | None = None) -> datetime:
        moment = self._naive_datetime(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone or self.zone)
        if excel_calendar.FIRST_DAY.year < moment.year < excel_calendar.LAST_DAY.year:
            return moment.astimezone(UTC)  # no offset moves it out of the calendar: the common case, kept cheap
        try:
            utc = moment.astimezone(UTC)
            day = utc.astimezone(self.zone).date()  # the partition day, in the form's zone
        except OverflowError:
            raise _outside_calendar(value) from None
        if not excel_calendar.in_calendar(day):
            raise _outside_calendar(value)
        return utc

    def _date(self, column: Column, value: object) -> date:
        month = _YEAR_MONTH.match(value.strip()) if isinstance(value, str) else None
        if month:
            try:
                day = date(int(month.group(1)), int(month.group(2)), 1)  # a month is its first day
            except ValueError:
                raise CellError(f"{month.group(0)!r} is not a month (use 2026-11)") from None
        else:
            moment = self._naive_datetime(value)
            try:
                day = (moment.astimezone(self.zone) if moment.tzinfo else moment).date()
            except OverflowError:
                raise _outside_calendar(value) from None
        if not excel_calendar.in_calendar(day):
            raise _outside_calendar(value)
        return day

    def _string_list(self, column: Column, value: object) -> list[str]:
        parts = [p for p in _LIST_SPLIT.split(_text(value)) if p]
        return [neutralise(self._choice(column, part)) for part in parts]

    def _boolean(self, column: Column, value: object) -> bool:
        if isinstance(value, bool):
            return value
        label = normalise_label(value)
        if label in ("true", "yes", "y", "1", "예", "네", "o"):
            return True
        if label in ("false", "no", "n", "0", "아니오", "아니요", "x"):
            return False
        raise CellError(f"{_text(value)!r} is not yes or no")

    def local_date(self, moment: object) -> date:
        """The partition date of a converted partition-column value, in the form's time zone.

        A datetime gives its calendar date in the form's zone; a date is its own. Raises AssertionError
        for anything else (a converted partition column never is).
        """
        if isinstance(moment, datetime):
            return moment.astimezone(self.zone).date()
        assert isinstance(moment, date)
        return moment


def cell_problem(number: int, index: int, header: str, cell: object, reason: object) -> Problem:
    """The Problem of row `number`'s cell at 0-based `index`: `cell` shown as text cut to 80 characters + "…"."""
    shown = str(cell)
    return Problem(number, column_letter(index), header, shown[:80] + ("…" if len(shown) > 80 else ""), str(reason))


@dataclass
class TypedRow:
    """A data row that converted cleanly: its Excel row number and its values in the form's column order."""

    number: int
    values: list[object]


def typed_rows(
    layout: Layout, sheet: SheetRows, rest: list[tuple[int, Row]], converter: Converter
) -> Iterator[TypedRow | list[Problem]]:
    """Each data row typed in the form's column order, or the problems that stop it.

    Rows with no value are skipped. Yields a `TypedRow`, or the list of `Problem`s of a row with any bad
    cell (every bad cell of it; a conversion failing with any exception, foreseen or not, is its cell's
    problem). Raises Refused, naming sheet, row and column, when a row number passes `max_rows`, a row has
    a value past `max_columns`, or a text cell exceeds `max_cell_chars`.
    """
    form = layout.form
    order = {column.name: position for position, column in enumerate(form.columns)}
    slots = [
        (index, column, header, order[column.name], converter.for_column(column, header))
        for index, column, header in layout.columns
    ]
    absent = [column for column in form.columns if column.name not in {c.name for _, c, _ in layout.columns}]
    limits = form.limits
    width = len(form.columns)

    def rows() -> Iterator[tuple[int, Row]]:
        yield from rest
        yield from sheet.rows

    for number, row in rows():
        if number > limits.max_rows:
            raise Refused(f"the sheet has more than {limits.max_rows:,} rows", sheet=sheet.name, row=number)
        if len(row) > limits.max_columns and any(cell is not None for cell in row[limits.max_columns :]):
            raise Refused(
                f"the sheet has more than {limits.max_columns} columns",
                sheet=sheet.name,
                row=number,
                column=column_letter(limits.max_columns),
            )
        if not any(cell is not None and cell != "" for cell in row):
            continue  # empty rows: trailing ones, or spacers
        values: list[object] = [None] * width
        problems: list[Problem] = []
        length = len(row)
        for index, _column, header, position, convert in slots:
            cell = row[index] if index < length else None
            if isinstance(cell, str) and len(cell) > limits.max_cell_chars:
                raise Refused(
                    f"a cell holds {len(cell):,} characters (limit {limits.max_cell_chars:,})",
                    sheet=sheet.name,
                    row=number,
                    column=column_letter(index),
                )
            try:
                values[position] = convert(cell)
            except CellError as error:
                problems.append(
                    cell_problem(number, index, header, cell if error.shown is None else error.shown, error)
                )
            except Exception as error:  # noqa: BLE001 - one cell's unforeseen failure costs its row, never the file
                reason = f"cannot be read ({type(error).__name__}: {error})"
                problems.append(cell_problem(number, index, header, cell, reason))
        for column in absent:
            if column.required:  # pragma: no cover - a layout always has every required column
                problems.append(Problem(number, "-", column.name, "", "a value is required"))
        yield problems if problems else TypedRow(number, values)
