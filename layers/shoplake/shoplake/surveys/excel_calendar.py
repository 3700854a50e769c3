"""Excel's calendar: the day a serial number stands for, and the days a spreadsheet can hold.

A 1900 workbook numbers days from 1 (1900-01-01), counting a 1900-02-29 that never was, so its
serials below 60 are a day late against a 1899-12-30 epoch; a 1904 workbook (old Excel for Mac)
numbers them from 0 (1904-01-01). Both end at 9999-12-31. Sources: ECMA-376 Part 1 (SpreadsheetML's
`date1904` workbook property and its two date systems); Microsoft, "Date systems in Excel".
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(9999, 12, 31)
_EPOCH = {False: datetime(1899, 12, 30), True: datetime(1904, 1, 1)}
_FIRST_SERIAL = {False: 1, True: 0}
_LAST_SERIAL = {system: (LAST_DAY - epoch.date()).days for system, epoch in _EPOCH.items()}


def first_day(date1904: bool) -> date:
    """The first day a workbook of this date system can hold: 1900-01-01, or 1904-01-01."""
    return FIRST_DAY if not date1904 else _EPOCH[True].date()


def in_calendar(day: date) -> bool:
    """Whether `day` is one Excel can hold: 1900-01-01 to 9999-12-31."""
    return FIRST_DAY <= day <= LAST_DAY


def from_serial(serial: float, date1904: bool) -> datetime:
    """The naive date and time an Excel serial number stands for (days, the fraction a time of day).

    Raises ValueError, saying the range, for a serial outside the workbook's calendar (or not finite).
    """
    first, last = _FIRST_SERIAL[date1904], _LAST_SERIAL[date1904]
    if not (math.isfinite(serial) and first <= serial < last + 1):
        raise ValueError(f"{serial:.15g} is not a date Excel can hold (serial numbers {first} to {last})")
    if not date1904 and serial < 60:
        serial += 1
    return _EPOCH[date1904] + timedelta(days=serial)
