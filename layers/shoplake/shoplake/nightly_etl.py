"""What happens next after a nightly ETL run that was stopped before it could say so itself.

The nightly ETL state machine (statemachines/nightly_etl.asl.json) tells Slack its own outcome, with
what happens next. A run stopped from outside, by its `TimeoutSeconds` (TIMED_OUT) or by
StopExecution (ABORTED), runs none of its states again: it lets no hold go and tells nothing. Only
Step Functions' "Execution Status Change" event reports it, and `stopped_run_next` says for it what
the state machine would have said.

The facts below are the state machine's too; tests/unit/test_nightly_etl_stopped.py checks that its
definition and template.yaml spell them as here:

- `RERUN_COMMAND`: how every re-run command is spelt ("Re-run the day by hand", the refusal notice,
  and `shoplake_etl.catalog.left_behind_notice`), a template with two `{}`, read alike by ASL's
  `States.Format` and Python's `str.format`: the state machine's ARN, then `rerun_argument(day)`;
- `HOLD_SECONDS`: how long after the hour a run started in (the state machine's `$.clock.now`) each
  of its holds lapses, the lock item's `expires_at` (Unix seconds);
- `STATE_MACHINE_NAME`: the state machine's name, `shoplake-<environment>-nightly-etl`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

RERUN_COMMAND = "aws stepfunctions start-execution --state-machine-arn {} --input {}"
HOLD_SECONDS = 9 * 3600
STATE_MACHINE_NAME = re.compile(r"shoplake-[A-Za-z0-9-]+-nightly-etl")


def is_nightly_etl(state_machine_arn: str) -> bool:
    """True if the ARN (`arn:<partition>:states:<region>:<account>:stateMachine:<name>`) names the nightly ETL."""
    return STATE_MACHINE_NAME.fullmatch(state_machine_arn.rsplit(":", 1)[-1]) is not None


def rerun_argument(day: str) -> str:
    """The `--input` of a re-run of `day` (`YYYY-MM-DD`) for a shell: `"{\\"run_date\\":\\"2026-11-24\\"}"`.

    JSON twice over, as the state machine spells it with `States.JsonToString` twice: the compact JSON
    object, then that text as a JSON string, whose double quotes a POSIX shell reads as one word.
    """
    return json.dumps(json.dumps({"run_date": day}, separators=(",", ":")))


def rerun_command(state_machine_arn: str, day: str) -> str:
    """The AWS CLI command that re-runs (or back-fills) `day` on the state machine `state_machine_arn`."""
    return RERUN_COMMAND.format(state_machine_arn, rerun_argument(day))


def hold_expiry(started: datetime) -> datetime:
    """When the holds of a run that started at `started` (aware) lapse: `HOLD_SECONDS` after its start's hour, UTC."""
    return started.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(seconds=HOLD_SECONDS)


def asked_day(execution_input: object) -> str | None:
    """The `run_date` a run was started with, from its input (JSON text), or None if it has none.

    None too when the input is not JSON text of an object with a text `run_date`: a run without one
    is a night that catches up (the schedule's `{"scheduled_time": ...}`, or `{}`).
    """
    if not isinstance(execution_input, str):
        return None
    try:
        parsed = json.loads(execution_input)
    except ValueError:
        return None
    day = parsed.get("run_date") if isinstance(parsed, dict) else None
    return day if isinstance(day, str) else None


def stopped_run_next(
    state_machine_arn: str, execution_input: str | None, started: datetime | None, *, input_known: bool = True
) -> str:
    """What happens after a run of the nightly ETL that timed out or was aborted, as one Slack mrkdwn paragraph.

    `execution_input` is the run's input as JSON text (the event's `detail.input`), `input_known` False
    when Step Functions left it out of the event (`inputDetails.included` false); `started` is the run's
    start (the event's `startDate`), None if unknown. It says when its holds lapse (`hold_expiry`), that
    a night is caught up by the next scheduled night, and for a day asked for by date (or an input not
    known) the exact command that re-runs it.
    """
    lapse = f"at {hold_expiry(started).strftime('%Y-%m-%d %H:%M')} UTC" if started is not None else "by themselves"
    holds = (
        f"Its holds in the lock table are not let go: they lapse {lapse} (their `expires_at`,"
        f" {HOLD_SECONDS // 3600} hours after the hour it started in); until then a run that would write a day"
        " it holds is refused and told."
    )
    catch_up = (
        "The next scheduled night catches up the days not published whole (its extract starts the day after"
        " the last day published whole)."
    )
    day = asked_day(execution_input)
    if day is not None:
        again = (
            f"Unless it stopped after its publish step (the execution's history says), {day} is not published"
            f" anew, and no night catches up a day asked for by date: once its hold has lapsed, re-run it with"
            f" `{rerun_command(state_machine_arn, day)}`."
        )
        return f"{holds} {again}"
    if input_known:
        return f"{holds} {catch_up}"
    command = RERUN_COMMAND.format(state_machine_arn, rerun_argument("YYYY-MM-DD"))
    return f"{holds} For a scheduled night: {catch_up} For a day asked for by date, re-run it with `{command}`."
