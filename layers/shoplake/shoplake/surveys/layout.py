"""Which sheet holds the answers, and where its columns are: found by the header row.

One sheet per file is ingested: the first visible sheet whose first rows hold a form's
header, the sheets a form names tried first. Hidden sheets are never ingested (a hidden
sheet is usually a stale copy or a list behind a drop-down, and the uploader cannot see
what it holds). Every other sheet is reported with the reason it was skipped, and whether
it too holds a form's header: answers that were not ingested.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shoplake.surveys.forms import Column, Form, normalise_label
from shoplake.surveys.workbook import Refused, Row, SheetRows

# The first sheet of a marked-up copy (`markup`): shoplake's own list of what to fix, never answers.
MARKUP_SHEET = "shoplake - fix these"
_STATES = {"hidden": "hidden", "veryHidden": "very hidden (only a macro can show it)"}


@dataclass(frozen=True)
class SkippedSheet:
    """A sheet that was not ingested, and why; `answers` is the form whose header it holds, if any."""

    name: str
    reason: str
    answers: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The sheet as the quarantine report and the notice carry it: {sheet, reason, answers}."""
        return {"sheet": self.name, "reason": self.reason, "answers": self.answers}


@dataclass(frozen=True)
class Layout:
    """Where a form's columns are in a sheet: found by its header row."""

    form: Form
    sheet: str
    header_row: int
    columns: tuple[tuple[int, Column, str], ...]  # (cell index, column, header text)
    ignored: tuple[str, ...]  # headers of columns no form column claims
    skipped: tuple[SkippedSheet, ...] = ()  # the sheets looked at before this one, and why they were passed over


@dataclass(frozen=True)
class _Head:
    """What a sheet's first rows say: a form's header (as a Layout, and the rows after it), or the nearest miss."""

    layout: Layout | None
    rest: list[tuple[int, Row]]
    nearest: tuple[int, str] | None  # (columns matched, description)


def _examine(sheet: SheetRows, forms: Sequence[Form]) -> _Head:
    """Read the sheet's first rows for a form's header. Title rows above it are skipped;
    a header cell left empty by a vertical merge takes the text above."""
    head: list[tuple[int, Row]] = []
    sheet.examined = True
    for number, row in sheet.rows:
        head.append((number, tuple(None if cell == "" else cell for cell in row)))
        if len(head) >= max(f.limits.header_search_rows for f in forms):
            break
    above: dict[int, object] = {}
    nearest: tuple[int, str] | None = None
    for position, (number, row) in enumerate(head):
        filled = [cell if cell is not None else above.get(i) for i, cell in enumerate(row)]
        for i, cell in enumerate(row):
            if cell is not None:
                above[i] = cell
        for form in forms:
            matched = form.match_header(filled)
            missing = form.missing_required(matched)
            if not missing:
                columns = tuple((i, c, str(filled[i])) for i, c in sorted(matched.items()))
                ignored = tuple(str(cell) for i, cell in enumerate(row) if cell is not None and i not in matched)
                return _Head(Layout(form, sheet.name, number, columns, ignored), head[position + 1 :], None)
            if matched and (nearest is None or len(matched) > nearest[0]):
                nearest = (len(matched), f"sheet {sheet.name!r} row {number} lacks {', '.join(missing)} for {form.key}")
    return _Head(None, [], nearest)


def _skipped(sheet: SheetRows, head: _Head, forms: Sequence[Form], taken: str | None) -> SkippedSheet:
    answers = head.layout.form.key if head.layout else None
    if sheet.name == MARKUP_SHEET:
        return SkippedSheet(sheet.name, "shoplake's list of what to fix in an earlier upload")
    if not sheet.visible:
        state = _STATES.get(sheet.state, sheet.state)
        reason = f"{state}; it holds answers to {answers}, not ingested" if answers else state
    elif answers:
        reason = f"it holds answers to {answers} too, not ingested: one sheet per file, and {taken!r} came first"
    else:
        rows = max(f.limits.header_search_rows for f in forms)
        reason = f"no form's header in its first {rows} rows"
    return SkippedSheet(sheet.name, reason, answers)


def find_layout(sheets: Sequence[SheetRows], forms: Sequence[Form]) -> tuple[Layout, SheetRows, list[tuple[int, Row]]]:
    """The sheet and header row that match a form; the rows read after the header are handed back.

    Sheets a form names are tried first, then the rest in workbook order; each sheet passed
    over is let go of before the next is read, so one sheet is held at a time. Raises
    Refused when no visible sheet has a form's header, saying what came closest.
    """
    declared = {normalise_label(f.sheet) for f in forms if f.sheet}
    ordered = sorted(sheets, key=lambda s: normalise_label(s.name) not in declared)  # stable: workbook order kept
    skipped: list[SkippedSheet] = []
    closest: tuple[int, str] | None = None
    for sheet in ordered:
        head = _examine(sheet, forms)
        if head.layout is not None and sheet.visible:
            layout = head.layout
            return (
                Layout(layout.form, layout.sheet, layout.header_row, layout.columns, layout.ignored, tuple(skipped)),
                sheet,
                head.rest,
            )
        sheet.close()
        skipped.append(_skipped(sheet, head, forms, None))
        if sheet.visible and head.nearest and (closest is None or head.nearest[0] > closest[0]):
            closest = head.nearest
    passed_over = [s.as_dict() for s in skipped]
    hidden_answers = [s for s in skipped if s.answers]
    if hidden_answers:
        names = ", ".join(repr(s.name) for s in hidden_answers)
        raise Refused(
            f"the answers are only in hidden sheet(s) {names}, and hidden sheets are not read: "
            "unhide the sheet that holds this survey's answers (delete stale copies) and upload again",
            sheet=hidden_answers[0].name,
            skipped=passed_over,
        )
    names = ", ".join(f.key for f in forms)
    if closest:
        raise Refused(
            f"no survey form matches this file (tried {names}); the closest header: {closest[1]}", skipped=passed_over
        )
    needed = ", ".join(c.aliases[0] if c.aliases else c.name for c in forms[0].columns if c.required)
    raise Refused(
        f"no survey form matches this file (tried {names}): no header row in the first rows of any sheet; "
        f"{forms[0].key} needs columns {needed}",
        skipped=passed_over,
    )


def skipped_after(sheets: Sequence[SheetRows], layout: Layout, forms: Sequence[Form]) -> tuple[SkippedSheet, ...]:
    """The sheets `find_layout` did not reach, looked at now and reported with the reason they were skipped.

    Call it once the chosen sheet is read: each is let go of before the next, so one sheet is held at a time.
    """
    later = []
    for sheet in sheets:
        if not sheet.examined:
            later.append(_skipped(sheet, _examine(sheet, forms), forms, layout.sheet))
            sheet.close()
    return tuple(later)
