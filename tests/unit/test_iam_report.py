"""The least-privilege report: grants matched to the requests the runs made, and comments found by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.iam.ledger_file import Run, read_runs, write_run
from local_stack.iam.model import Principal, Use
from local_stack.iam.report import main, report_rows
from local_stack.iam.statement_sources import StatementSources

TEMPLATE = """\
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - DynamoDBReadPolicy:  # unused locally: the table is read only on a cold start in AWS
            TableName: t
        - Statement:
            # the objects under raw/ only
            - Sid: ReadRaw
              Effect: Allow
              Action: s3:GetObject
              Resource: arn:aws:s3:::lake/raw/*
            - Sid: WriteAnything
              Effect: Allow
              Action: s3:PutObject
              Resource: "*"
  JobRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: job
          PolicyDocument:
            Statement:
              - Sid: ListLake
                Effect: Allow
                Action: s3:ListBucket
                Resource: arn:aws:s3:::lake
              - Sid: Metrics  # PutMetricData has no resource-level permissions
                Effect: Allow
                Action: cloudwatch:PutMetricData
                Resource: "*"
"""


def _statement(sid: str, action: str, resource: str) -> dict[str, str]:
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}


FN = Principal(
    name="Fn",
    role_name="shoplake-dev-FnRole",
    role_arn="arn:aws:iam::123456789012:role/shoplake-dev-FnRole",
    policies=(
        ("FnRolePolicy0", {"Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "arn:t"}]}),
        (
            "FnRolePolicy1",
            {
                "Statement": [
                    _statement("ReadRaw", "s3:GetObject", "arn:aws:s3:::lake/raw/*"),
                    _statement("WriteAnything", "s3:PutObject", "*"),
                ]
            },
        ),
        (
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            {"Statement": [_statement("", "logs:*", "*")]},
        ),
    ),
)
JOB = Principal(
    name="Job",
    role_name="shoplake-dev-JobRole",
    role_arn="arn:aws:iam::123456789012:role/shoplake-dev-JobRole",
    policies=(
        (
            "job",
            {
                "Statement": [
                    _statement("ListLake", "s3:ListBucket", "arn:aws:s3:::lake"),
                    _statement("Metrics", "cloudwatch:PutMetricData", "*"),
                ]
            },
        ),
    ),
)


def _use(principal: str, action: str, resource: str, allowed: bool = True, statement: str = "") -> Use:
    return Use(principal, action, resource, allowed, "sdk", "", statement)


def _rows(*uses: Use) -> dict[str, dict[str, object]]:
    rows = report_rows([Run((FN, JOB), uses)], StatementSources(TEMPLATE))
    return {
        p: {f"{r.grant.sid or r.grant.policy.rsplit('/', 1)[-1]}:{r.grant.action}": r for r in rs}
        for p, rs in rows.items()
    }


def test_a_grant_is_used_only_by_an_allowed_request_on_a_resource_it_names() -> None:
    rows = _rows(
        _use("Fn", "s3:GetObject", "arn:aws:s3:::lake/raw/a.json", statement="FnRolePolicy1#ReadRaw"),
        _use("Fn", "s3:GetObject", "arn:aws:s3:::lake/curated/b.json"),  # allowed by no statement of Fn's
        _use("Job", "s3:ListBucket", "arn:aws:s3:::lake", allowed=False),  # denied: uses nothing
    )
    assert rows["Fn"]["ReadRaw:s3:GetObject"].used == {"s3:GetObject"}  # type: ignore[attr-defined]
    assert not rows["Job"]["ListLake:s3:ListBucket"].used  # type: ignore[attr-defined]


def test_unused_grants_are_explained_only_by_their_own_comment() -> None:
    rows = _rows(_use("Fn", "s3:GetObject", "arn:aws:s3:::lake/raw/a.json"))
    dynamo = rows["Fn"]["FnRolePolicy0:dynamodb:GetItem"]
    assert dynamo.unused_reason == "the table is read only on a cold start in AWS"  # type: ignore[attr-defined]
    assert dynamo.unexplained == []  # type: ignore[attr-defined]
    list_lake = rows["Job"]["ListLake:s3:ListBucket"]
    assert list_lake.unexplained == ["granted, never used, and no '# unused locally: <why>' beside it"]  # type: ignore[attr-defined]
    basic = rows["Fn"]["AWSLambdaBasicExecutionRole:logs:*"]
    assert "not emulated" in basic.unused_reason  # type: ignore[attr-defined]


def test_a_wildcard_on_data_needs_a_reason_but_one_on_metrics_does_not() -> None:
    rows = _rows(
        _use("Fn", "s3:PutObject", "arn:aws:s3:::lake/x", statement="FnRolePolicy1#WriteAnything"),
        _use("Job", "cloudwatch:PutMetricData", "*", statement="job#Metrics"),
        _use("Job", "s3:ListBucket", "arn:aws:s3:::lake", statement="job#ListLake"),
    )
    write = rows["Fn"]["WriteAnything:s3:PutObject"]
    assert write.unexplained == ["a wildcard on a data service with no reason beside it"]  # type: ignore[attr-defined]
    assert rows["Job"]["Metrics:cloudwatch:PutMetricData"].unexplained == []  # type: ignore[attr-defined]


def test_comments_above_and_beside_a_statement_are_its_own() -> None:
    sources = StatementSources(TEMPLATE)
    read_raw = sources.find("FnRole", "FnRolePolicy1", "ReadRaw", 0)
    assert read_raw is not None and read_raw.comments == ("the objects under raw/ only",)
    write = sources.find("FnRole", "FnRolePolicy1", "WriteAnything", 1)
    assert write is not None and write.comments == ()
    metrics = sources.find("JobRole", "job", "Metrics", 1)
    assert (
        metrics is not None
        and metrics.line
        == TEMPLATE.splitlines().index(
            "              - Sid: Metrics  # PutMetricData has no resource-level permissions"
        )
        + 1
    )


def test_ledgers_round_trip_and_the_check_fails_on_an_unexplained_grant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_run((FN, JOB), (_use("Fn", "s3:GetObject", "arn:aws:s3:::lake/raw/a.json"),), tmp_path)
    (run,) = read_runs(tmp_path)
    assert run.principals == (FN, JOB)
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE, encoding="utf-8")
    assert main(["--ledgers", str(tmp_path), "--template", str(template), "--check"]) == 1
    out = capsys.readouterr().out
    assert "Job ListLake s3:ListBucket (template.yaml line" in out
    assert main(["--ledgers", str(tmp_path / "none"), "--template", str(template)]) == 1


def test_a_file_that_is_not_a_ledger_is_named(tmp_path: Path) -> None:
    (tmp_path / "1-0.json").write_text('{"uses": []}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"1-0\.json is not an IAM ledger"):
        list(read_runs(tmp_path))


def test_two_statements_that_both_allow_a_request_are_both_used() -> None:
    # GIVEN a request the evaluator found allowed by two statements (SAM's on-failure policy and the
    # function's own grant, say): removing either alone would not refuse it, and neither is idle
    both = "FnRolePolicy1#ReadRaw, FnRolePolicy1#WriteAnything"
    rows = _rows(_use("Fn", "s3:GetObject", "arn:aws:s3:::lake/raw/a.json", statement=both))
    assert rows["Fn"]["ReadRaw:s3:GetObject"].used == {"s3:GetObject"}  # type: ignore[attr-defined]
    assert not rows["Fn"]["WriteAnything:s3:PutObject"].used  # type: ignore[attr-defined]  # its action differs
