"""The survey parser's logs hold file names and row counts, no survey answers.

What template.yaml's checkov skip for the parser's log group says (CKV_AWS_158). An outcome carries
answers where it explains them to the uploader: a problem's value and reason ("6 is above the maximum
5"), a quarantine's reason (a CSV line it quotes, a damaged cell's text). The log gets
`Outcome.for_the_log()`, and a damaged workbook's log line has no exception message.
"""

from __future__ import annotations

import json
import logging

import pytest

from shoplake.surveys.ingest import Outcome
from shoplake.surveys.workbook import damaged

ANSWER = "ZEBRA-4417 배송이 너무 늦어요"


def _outcome_full_of_answers() -> Outcome:
    return Outcome(
        status="quarantined",
        source="s3://shoplake-dev-surveys-123456789012/inbox/설문.csv",
        file_name="설문.csv",
        upload_id="0123abcd",
        form="survey_offline_ads",
        sheet="응답",
        reader="csv",
        rows_ingested=0,
        rows_rejected=1,
        problems=[
            {"row": 7, "column": "J", "header": "만족도", "value": ANSWER, "reason": f"{ANSWER!r} is not a number"}
        ],
        reason=f"the quoted cell opened on line 3 runs over line 4, which holds a whole row ({ANSWER!r})",
        report="s3://shoplake-dev-lake-123456789012/survey_quarantine/x.json",
        ignored_columns=[ANSWER],
        skipped_sheets=[{"sheet": "안내", "reason": "no form's header in its first 20 rows", "answers": None}],
    )


def test_the_logged_outcome_holds_names_places_and_counts_but_no_answer() -> None:
    # GIVEN an outcome whose problems, quarantine reason and ignored columns all quote an answer
    outcome = _outcome_full_of_answers()
    # WHEN the function logs it
    logged = outcome.for_the_log()
    # THEN the answer is nowhere in it
    assert ANSWER not in json.dumps(logged, ensure_ascii=False)
    assert "ZEBRA" not in json.dumps(logged, ensure_ascii=False)
    # AND what an operator needs is: the file, where it went, the counts, and where each problem is
    assert logged["file_name"] == "설문.csv" and logged["status"] == "quarantined"
    assert logged["rows_rejected"] == 1 and logged["ignored_columns"] == 1
    assert logged["problems"] == [{"row": 7, "column": "J", "header": "만족도"}]
    assert logged["report"] == outcome.report and logged["reason_in_report"] is True
    assert logged["skipped_sheets"] == outcome.skipped_sheets
    # AND the handler's answer (not logged) still has everything
    assert outcome.as_dict()["problems"][0]["value"] == ANSWER


def test_every_outcome_field_is_either_logged_or_left_out_on_purpose() -> None:
    # A field added to Outcome later reaches the log only as it is; this keeps the choice deliberate.
    logged = set(_outcome_full_of_answers().for_the_log())
    assert set(Outcome.__dataclass_fields__) - logged == {"reason"}


def test_a_damaged_workbook_is_logged_without_the_message_that_quotes_its_cell(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN a reader that failed on a cell, its message quoting the cell's text
    try:
        raise ValueError(f"could not convert string to float: {ANSWER!r}")
    except ValueError as error:
        caught = error
    # WHEN the workbook is refused as damaged
    with caplog.at_level(logging.WARNING, logger="shoplake.surveys.workbook"):
        refusal = damaged(caught, sheet="응답", part="xl/worksheets/sheet2.xml")
    # THEN the log names the sheet, the part and the error's type, and where it was raised
    (record,) = caplog.records
    text = caplog.text + record.getMessage()
    assert "ValueError" in text and "xl/worksheets/sheet2.xml" in text and "test_survey_log_hygiene.py" in text
    # AND not the answer; the refusal the uploader reads still quotes it
    assert "ZEBRA" not in text
    assert record.exc_info is None
    assert ANSWER in refusal.reason
