"""Issue 18 attacked: where local IAM answers otherwise than AWS, or the report misreads the grants.

Each test states AWS's documented behaviour; a strict xfail marks a fault still open (its reason says
which), so the suite stays green until it is fixed and the test then fails loudly until unmarked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from local_stack.iam.evaluate import Caller, evaluate
from local_stack.iam.hook import enforce
from local_stack.iam.ledger_file import Run, write_run
from local_stack.iam.model import Ledger, PolicyDocument, Principal, Use
from local_stack.iam.report import Grant, grants, main, report_rows
from local_stack.iam.requests import checks
from local_stack.iam.resource_policies import _permission_statement
from local_stack.iam.statement_sources import StatementSources

REGION, ACCOUNT = "ap-northeast-2", "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/shoplake-dev-ReaderRole"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/shoplake-dev-ReaderRole/Reader"
ME = Caller(arn=SESSION, account=ACCOUNT, role_arn=ROLE)
BUCKET = "lake"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def reader(*statements: dict[str, Any]) -> Principal:
    return Principal("Reader", "shoplake-dev-ReaderRole", ROLE, (("ReaderPolicy", doc(*statements)),), None, SESSION)


# ---------------------------------------------------------------- the evaluator


def test_a_deny_with_not_principal_naming_only_the_role_still_denies_its_session() -> None:
    # GIVEN a bucket policy that denies everyone but the role (its ARN only: no session, no account)
    bucket_policy = doc({
        "Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "s3:*", "Resource": f"arn:aws:s3:::{BUCKET}/*",
    })  # fmt: skip
    # WHEN a session of that role reads, its own role allowing it
    decision = evaluate(
        ME, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/a", identity=[("p", doc({"Effect": "Allow", "Action": "s3:*",
        "Resource": "*"}))], resource_policy=bucket_policy,
    )  # fmt: skip
    # THEN AWS denies: the evaluated principal is the session, which NotPrincipal does not name
    # (IAM User Guide, "AWS JSON policy elements: NotPrincipal": "Principals must always name a specific session")
    assert not decision.allowed


# ---------------------------------------------------------------- the request table


def test_a_query_on_an_index_is_authorised_on_the_index() -> None:
    # AWS: a grant on table/T alone does not cover its indexes; policies name table/T/index/* for them
    # (DynamoDB Developer Guide, "IAM policy to grant access to a specific DynamoDB table and its indexes").
    found = checks("dynamodb", "Query", {"TableName": "orders", "IndexName": "by-day"}, region=REGION, account=ACCOUNT)
    assert [c.resource for c in found] == [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders/index/by-day"]


def test_a_kms_call_by_alias_is_not_authorised_on_the_alias() -> None:
    # AWS authorises cryptographic operations on the key ARN; an alias ARN in Resource grants no key use
    # (KMS Developer Guide, "Specifying KMS keys in IAM policy statements", "Use aliases to control access").
    # Here a grant on alias/lake would allow Decrypt, and the key policy (looked up by the alias) is never read.
    found = checks("kms", "Decrypt", {"KeyId": "alias/lake", "CiphertextBlob": b"x"}, region=REGION, account=ACCOUNT)
    assert all(":alias/" not in c.resource for c in found)


def test_a_secret_by_partial_arn_is_authorised_as_its_full_arn() -> None:
    # GIVEN the secret's ARN without the six random characters Secrets Manager appends (a partial ARN)
    partial = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shoplake/slack"
    # WHEN a principal reads it that way
    (check,) = checks("secretsmanager", "GetSecretValue", {"SecretId": partial}, region=REGION, account=ACCOUNT)
    # THEN AWS authorises the full ARN (`...:secret:shoplake/slack-AbCdEf`), so a grant of exactly the
    # partial ARN matches nothing (Secrets Manager User Guide, "Resource: secret ARN ... six random characters")
    assert not evaluate(
        ME, check.action, check.resource, identity=[("p", doc({"Effect": "Allow", "Action": check.action,
        "Resource": partial}))],
    ).allowed  # fmt: skip


def test_a_put_naming_its_own_kms_key_needs_that_key() -> None:
    # AWS: uploading with SSE-KMS needs kms:GenerateDataKey on the key the request names
    # (S3 User Guide, "Specifying server-side encryption with AWS KMS (SSE-KMS)", permissions).
    other = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/other"
    params = {"Bucket": BUCKET, "Key": "k", "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": other}
    found = checks("s3", "PutObject", params, region=REGION, account=ACCOUNT)
    assert ("kms:GenerateDataKey", other) in [(c.action, c.resource) for c in found]


@pytest.mark.parametrize(("param", "value", "action"), [("Tagging", "team=lake", "s3:PutObjectTagging"),
                                                         ("ACL", "public-read", "s3:PutObjectAcl")])  # fmt: skip
def test_a_put_with_tags_or_an_acl_needs_their_actions(param: str, value: str, action: str) -> None:
    # AWS: "s3:PutObjectTagging - To successfully set the tag-set with your PutObject request, you must have
    # the s3:PutObjectTagging"; likewise s3:PutObjectAcl for an ACL (S3 API Reference, PutObject, Permissions).
    found = checks("s3", "PutObject", {"Bucket": BUCKET, "Key": "k", param: value}, region=REGION, account=ACCOUNT)
    assert (action, f"arn:aws:s3:::{BUCKET}/k") in [(c.action, c.resource) for c in found]


# ---------------------------------------------------------------- resource policies as the template writes them


def test_a_permission_through_the_function_url_only_grants_no_direct_invoke() -> None:
    # GIVEN the template's SurveyDownloadInvokeThroughUrl: lambda:InvokeFunction for "*", through the URL only
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:shoplake-dev-survey-download"
    props = {"Action": "lambda:InvokeFunction", "FunctionName": function, "Principal": "*",
             "InvokedViaFunctionUrl": True}  # fmt: skip
    policy = doc(_permission_statement(props, function, "SurveyDownloadInvokeThroughUrl"))
    # WHEN a principal whose role grants no lambda:InvokeFunction calls Invoke on it with the SDK
    decision = evaluate(ME, "lambda:InvokeFunction", function, resource_policy=policy)
    # THEN AWS refuses: the permission carries the condition lambda:InvokedViaFunctionUrl (CloudFormation,
    # "AWS::Lambda::Permission" InvokedViaFunctionUrl; Lambda Developer Guide, "Control access to function URLs")
    assert not decision.allowed


# ---------------------------------------------------------------- the hook: calls that are never judged


class _Registry:
    def __init__(self, keys: dict[str, Principal]) -> None:
        self.keys = keys

    def by_access_key(self, access_key: str) -> Principal | None:
        return self.keys.get(access_key)

    def is_harness(self, access_key: str) -> bool:
        return access_key == "testing"

    def resource_policy(self, resource_arn: str) -> PolicyDocument | None:
        return None


def _client(service: str, key: str, **kw: Any) -> Any:
    return boto3.client(
        service, region_name=REGION, aws_access_key_id=key, aws_secret_access_key="s", aws_session_token="t", **kw
    )


@pytest.fixture
def lake() -> Iterator[Ledger]:
    # GIVEN a reader granted only raw/*, and an object outside it
    ledger = Ledger()
    registry = _Registry({"ASIAREADER": reader({"Effect": "Allow", "Action": "s3:GetObject",
                                                "Resource": f"arn:aws:s3:::{BUCKET}/raw/*"})})  # fmt: skip
    with mock_aws(), enforce(registry, ledger):
        s3 = _client("s3", "testing")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key="private/secret.csv", Body=b"card numbers")
        yield ledger


def test_a_presigned_url_carries_only_its_signers_permissions(lake: Ledger) -> None:
    # WHEN the reader presigns a GetObject it is not granted, and the URL is fetched
    url = _client("s3", "ASIAREADER").generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "private/secret.csv"}
    )
    answer = requests.get(url, timeout=5)
    # THEN AWS answers 403: a presigned request is authorised as its signer when it is used
    # (S3 User Guide, "Sharing objects with presigned URLs": limited by the permissions of the creator)
    assert answer.status_code == 403
    assert any(u.action == "s3:GetObject" and not u.allowed for u in lake.uses)


# ---------------------------------------------------------------- the least-privilege report

SCOPED = reader(
    {"Sid": "ListRaw", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}",
     "Condition": {"StringLike": {"s3:prefix": "raw/*"}}},
    {"Sid": "ListCurated", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}",
     "Condition": {"StringLike": {"s3:prefix": "curated/*"}}},
)  # fmt: skip


def test_a_grant_whose_condition_never_held_is_not_used() -> None:
    # GIVEN two ListBucket grants scoped by prefix, and a run that listed curated/ only
    use = Use("Reader", "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", True, "sdk", "allowed by an identity-based policy")
    rows = report_rows([Run((SCOPED,), (use,))], StatementSources("Resources: {}\n"))
    used = {r.grant.sid: r.used for r in rows["Reader"]}
    # THEN the raw/ grant was never needed, and the report must say so (it is the grant to remove)
    assert used["ListRaw"] == set()


def test_an_allow_with_not_action_is_a_flagged_grant() -> None:
    # GIVEN the broadest statement IAM knows: everything but IAM, on everything
    everything = reader({"Sid": "AllButIam", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    # THEN the report lists it, as a wildcard needing a reason (it grants every data service)
    assert any(g.sid == "AllButIam" and g.wildcard for g in grants(everything))


WHOLE_SERVICE = [
    ("s3:GetObject", "arn:aws:s3:::*/*"),  # every object of every bucket
    ("dynamodb:PutItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*"),  # every table of the account
    ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:*"),  # every secret
    ("kms:Decrypt", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"),  # every key
]


@pytest.mark.parametrize(("action", "resource"), WHOLE_SERVICE)
def test_every_resource_of_a_kind_is_a_wildcard(action: str, resource: str) -> None:
    # A grant on every resource of its kind is as broad as "*" for the data it reaches (the report's own
    # definition: "a resource of '*' or a whole account"); only "arn:...:*" with nothing after is caught.
    assert Grant("Reader", "ReaderPolicy", "All", 0, action, (resource,)).wildcard


TWO_STATEMENTS = """\
Resources:
  JobRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: job
          PolicyDocument:
            Statement:
              - Sid: ReadRaw
                Effect: Allow
                Action: s3:GetObject
                Resource: arn:aws:s3:::lake/raw/*
                # unused locally: only the nightly backfill in AWS reads raw/
              - Sid: DeleteCurated
                Effect: Allow
                Action: s3:DeleteObject
                Resource: arn:aws:s3:::lake/curated/*
"""


def test_a_comment_inside_one_statement_does_not_explain_the_next() -> None:
    sources = StatementSources(TWO_STATEMENTS)
    read_raw = sources.find("JobRole", "job", "ReadRaw", 0)
    assert read_raw is not None and read_raw.unused_reason == "only the nightly backfill in AWS reads raw/"
    delete = sources.find("JobRole", "job", "DeleteCurated", 1)
    # THEN the delete grant, never explained, stays a fault
    assert delete is not None and delete.unused_reason is None


JOB_TEMPLATE = """\
Resources:
  JobRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: job
          PolicyDocument:
            Statement:
              - Sid: ReadRaw
                Effect: Allow
                Action: s3:GetObject
                Resource: arn:aws:s3:::lake/raw/*
"""


def test_a_refusal_during_the_runs_fails_the_check(tmp_path: Path) -> None:
    # GIVEN a run on the template as written where the job used its one grant, and was refused a listing
    # (a code path that swallows the error, or a failed Glue run, goes on: nothing else notices)
    job = Principal("Job", "shoplake-dev-JobRole", f"arn:aws:iam::{ACCOUNT}:role/shoplake-dev-JobRole",
                    (("job", doc({"Sid": "ReadRaw", "Effect": "Allow", "Action": "s3:GetObject",
                                  "Resource": "arn:aws:s3:::lake/raw/*"})),))  # fmt: skip
    write_run((job,), (
        Use("Job", "s3:GetObject", "arn:aws:s3:::lake/raw/a.json", True, "sdk"),
        Use("Job", "s3:ListBucket", "arn:aws:s3:::lake", False, "sdk", "because no identity-based policy allows it"),
    ), tmp_path)  # fmt: skip
    template = tmp_path / "template.yaml"
    template.write_text(JOB_TEMPLATE, encoding="utf-8")
    # THEN the gate fails: that refusal is the AccessDenied a deploy would meet (issue 18's title)
    assert main(["--ledgers", str(tmp_path), "--template", str(template), "--check", "--quiet"]) == 1
