"""A hostile review of the nightly ETL's notices (review 17c): each test shows a fault, xfail until fixed.

moto's Step Functions engine runs the template's state machine (the fixtures of the state machine tests);
the Glue jobs do nothing, or fail as told. Run with --runxfail to see each fail for its stated reason.
"""

from __future__ import annotations

import json

import pytest

from local_stack.slack_sink import SlackSink, as_text
from local_stack.stack import LocalStack
from tests.functional import test_nightly_etl_state_machine as machine
from tests.functional.test_nightly_etl_notices import _publish_fails_with
from tests.functional.test_nightly_etl_state_machine import GlueRuns, _etl_notices, _run

stack, glue = machine.stack, machine.glue  # the state machine tests' fixtures: the local stack, Glue's runs
pytestmark = pytest.mark.server
STANDS = "2026-11-24: the day is not published, version 20261124T170000000000Z stands: ThrottlingException"


def test_a_failed_re_run_of_a_published_day_is_not_told_as_nothing_published(
    stack: tuple[LocalStack, SlackSink], glue: GlueRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the 24th published earlier, and a re-run of it whose publish fails before its manifest
    local, sink = stack
    _publish_fails_with(monkeypatch, STANDS)
    # WHEN the re-run runs
    assert _run(local, {"run_date": "2026-11-24"})["status"] == "FAILED"
    # THEN Slack says the previous version stands, and never that nothing of the day is published
    (message,) = _etl_notices(local, sink)
    text = as_text(message)
    assert "version 20261124T170000000000Z stands" in text
    assert "Nothing of that day is published" not in text, json.dumps(text)


def test_a_day_that_has_not_ended_yet_is_refused(stack: tuple[LocalStack, SlackSink], glue: GlueRuns) -> None:
    # GIVEN a back-fill asked for a day decades ahead, a real day of the calendar's tables
    local, _ = stack
    # WHEN it runs
    result = _run(local, {"run_date": "2062-11-24"}, name="typo")
    # THEN it is refused before any job starts
    assert result["status"] == "FAILED"
    assert glue.started == []
