"""The uploader's Slack message about one survey file, as a shoplake notice."""

from __future__ import annotations

from datetime import datetime

from shoplake.alerts.model import Phase, Severity, ThreadRef
from shoplake.notices import Notice, NoticeKind
from shoplake.surveys.ingest import Outcome
from shoplake.surveys.upload_thread import thread_key, upload_name

SHOWN_PROBLEMS = 3


def shown_name(name: str) -> str:
    """A file name as a person can read it on one line: each control character as its Python escape.

    A line break shows as the two characters backslash and `n`, a tab as backslash and `t`; Korean and every
    other printable character are kept. Never raises.
    """
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in name)


def _problem_lines(outcome: Outcome) -> str:
    lines = [f"row {p['row']}, {p['column']} ({p['header']}): {p['reason']}" for p in outcome.problems[:SHOWN_PROBLEMS]]
    more = outcome.rows_rejected - len({p["row"] for p in outcome.problems[:SHOWN_PROBLEMS]})
    if more > 0:
        lines.append(f"… and {more} more row(s)")
    return "\n".join(lines)


def _skipped_lines(outcome: Outcome) -> str:
    return "\n".join(f"{s['sheet']}: {s['reason']}" for s in outcome.skipped_sheets)


def _marked_copy_line(outcome: Outcome, marked_copy_link: str | None) -> dict[str, str]:
    if outcome.marked_copy and marked_copy_link:
        return {}
    return {"Marked-up copy": outcome.marked_copy_note} if outcome.marked_copy_note else {}


def _fix_in_copy(outcome: Outcome, marked_copy_link: str | None) -> str:
    if not (outcome.marked_copy and marked_copy_link):
        return ""
    if outcome.status == "quarantined":
        return " The link below gives your file back with each problem marked: fix those cells and upload it again."
    return (
        " The link below gives your file back with each rejected cell marked and the ingested rows left out: "
        "fix those cells and upload it again to add them."
    )


def _link(
    outcome: Outcome, marked_copy_link: str | None, link_expires: datetime | None
) -> tuple[str | None, str | None]:
    if not (outcome.marked_copy and marked_copy_link and link_expires):
        return None, None
    return marked_copy_link, marked_copy_label(link_expires)


def marked_copy_label(expires: datetime) -> str:
    """The link's text: what it gives and until when (UTC, to the minute)."""
    return f"Download your file with each problem marked (link valid until {expires:%Y-%m-%d %H:%M} UTC)"


def notice_for(outcome: Outcome, marked_copy_link: str | None = None, link_expires: datetime | None = None) -> Notice:
    """The notice telling the uploader what became of their file.

    Its `notice_id` is `survey:<upload_id>:<status>`, so a retry of the same upload repeats the same notice
    and the notifier shows it once. The file name is shown with `shown_name`. A `superseded` upload gives a
    `survey_rejected` warning saying it was replaced before it could be read. A quarantined file gives a
    `survey_rejected` warning with the reason, the first 3 problems and where the file and report are; any
    other (ingested) one an `ingestion_summary`, success when every row and column was taken, else warning,
    with row counts, the data folder and the rejects report. `marked_copy_link` (an https URL valid until
    `link_expires`) leads to the uploader's own file with each rejected cell marked; it is the notice's link.
    The notice opens the upload's Slack thread (`upload_thread.thread_key` of the upload's name), its state the
    outcome's status (`ingested`, `quarantined`, `superseded`); each partition's quality result replies in it.
    Never raises; not meant for `already_handled` outcomes, which the survey parser does not announce.
    """
    name = shown_name(outcome.file_name)
    notice_id = f"survey:{outcome.upload_id}:{outcome.status}"
    thread = ThreadRef(
        key=thread_key(upload_name(outcome.source, outcome.upload_id)), state=outcome.status, phase=Phase.OPEN
    )
    link, link_label = _link(outcome, marked_copy_link, link_expires)
    fields: dict[str, str] = {}  # every S3 key or URI in them is shown with `shown_name`, as the file name is
    if outcome.version_id:
        fields["Version"] = outcome.version_id
    if outcome.status == "superseded":
        return Notice(
            kind=NoticeKind.SURVEY_REJECTED,
            severity=Severity.WARNING,
            title=f"Survey file replaced before it was read: {name}",
            summary=f"*{name}* was not ingested: {outcome.reason}.",
            resource=shown_name(outcome.source),
            fields=fields,
            notice_id=notice_id,
            thread=thread,
        )
    if outcome.form:
        fields["Form"] = outcome.form + (
            f" (sheet {outcome.sheet})" if outcome.sheet and outcome.sheet != "csv" else ""
        )
    if outcome.status == "quarantined":
        fields["Reason"] = outcome.reason or "unknown"
        if outcome.problems:
            fields["First problems"] = _problem_lines(outcome)
        if outcome.skipped_sheets:
            fields["Skipped sheets"] = _skipped_lines(outcome)
        fields["File now"] = shown_name(outcome.original_now or "—")
        fields["Report"] = shown_name(outcome.report or "—")
        fields |= _marked_copy_line(outcome, marked_copy_link)
        return Notice(
            kind=NoticeKind.SURVEY_REJECTED,
            severity=Severity.WARNING,
            title=f"Survey file quarantined: {name}",
            summary=f"*{name}* was not ingested: {outcome.reason}. "
            "The original is kept in quarantine with a report beside it; fix the file and upload it again."
            + _fix_in_copy(outcome, marked_copy_link),
            resource=shown_name(outcome.source),
            fields=fields,
            link=link,
            link_label=link_label,
            notice_id=notice_id,
            thread=thread,
        )
    fields["Rows ingested"] = f"{outcome.rows_ingested:,}"
    fields["Rows rejected"] = f"{outcome.rows_rejected:,}"
    if outcome.problems:
        fields["First problems"] = _problem_lines(outcome)
    if outcome.outputs:
        fields["Data"] = (
            outcome.outputs[0].rsplit("/", 4)[0]
            + "/"
            + (f" ({len(outcome.outputs)} day partitions)" if len(outcome.outputs) > 1 else "")
        )
    if outcome.rejects:
        fields["Rejected rows"] = shown_name(outcome.rejects)
    if outcome.ignored_columns:
        fields["Ignored columns"] = ", ".join(outcome.ignored_columns)
    if outcome.skipped_sheets:
        fields["Skipped sheets"] = _skipped_lines(outcome)
    fields["File now"] = shown_name(outcome.original_now or "—")
    fields |= _marked_copy_line(outcome, marked_copy_link)
    rejected = f", {outcome.rows_rejected:,} rejected" if outcome.rows_rejected else ""
    # Answers left in a skipped sheet are worth a look, as rejected rows and ignored columns are.
    unread_answers = any(s["answers"] for s in outcome.skipped_sheets)
    return Notice(
        kind=NoticeKind.INGESTION_SUMMARY,
        severity=Severity.WARNING
        if outcome.rows_rejected or outcome.ignored_columns or unread_answers
        else Severity.SUCCESS,
        title=f"Survey ingested: {name} ({outcome.rows_ingested:,} rows{rejected})",
        summary=f"*{name}* is in the lake as {outcome.form}: {outcome.rows_ingested:,} rows ingested"
        + (f", {outcome.rows_rejected:,} rejected (listed in the rejects file)." if outcome.rows_rejected else ".")
        + _fix_in_copy(outcome, marked_copy_link),
        resource=shown_name(outcome.source),
        fields=fields,
        link=link,
        link_label=link_label,
        notice_id=notice_id,
        thread=thread,
    )
