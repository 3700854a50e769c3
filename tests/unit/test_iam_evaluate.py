"""The local IAM evaluator decides as AWS documents it ("Policy evaluation logic", "Condition operators").

Each row is one documented case: who asks, which policies apply, what is asked, and AWS's answer.
"""

from __future__ import annotations

from typing import Any

import pytest

from local_stack.iam.evaluate import Caller, Decision, evaluate

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/shoplake-dev-NotifierRole"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/shoplake-dev-NotifierRole/SlackNotifierFunction"
ME = Caller(arn=SESSION, account=ACCOUNT, role_arn=ROLE)
SNS = Caller(arn="", account=ACCOUNT, service="sns.amazonaws.com")
OBJECT = "arn:aws:s3:::lake/raw/a.json"
BUCKET = "arn:aws:s3:::lake"
KEY = f"arn:aws:kms:ap-northeast-2:{ACCOUNT}:key/1234"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def deny(action: Any, resource: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **more}


def ask(action: str, resource: str, *, identity: Any = (), caller: Caller = ME, **kw: Any) -> Decision:
    return evaluate(caller, action, resource, identity=[(f"p{i}", d) for i, d in enumerate(identity)], **kw)


# ---------------------------------------------------------------- identity policies and wildcards

CASES = [
    # (what, identity statements, action, resource, context, allowed, reason fragment)
    (
        "nothing allows: implicit deny",
        [],
        "s3:GetObject",
        OBJECT,
        {},
        False,
        "because no identity-based policy allows the s3:GetObject action",
    ),
    ("an allow allows", [allow("s3:GetObject", OBJECT)], "s3:GetObject", OBJECT, {}, True, "identity-based"),
    ("actions are case-insensitive", [allow("S3:getobject", OBJECT)], "s3:GetObject", OBJECT, {}, True, ""),
    ("resources are not", [allow("s3:GetObject", "arn:aws:s3:::LAKE/*")], "s3:GetObject", OBJECT, {}, False, ""),
    ("* spans slashes", [allow("s3:Get*", "arn:aws:s3:::lake/*")], "s3:GetObject", OBJECT, {}, True, ""),
    ("? is one character", [allow("s3:GetObjec?", OBJECT)], "s3:GetObject", OBJECT, {}, True, ""),
    ("? is not two", [allow("s3:GetObje?", OBJECT)], "s3:GetObject", OBJECT, {}, False, ""),
    ("a service prefix must match", [allow("s3:*")], "sqs:SendMessage", "*", {}, False, ""),
    (
        "deny wins over allow",
        [allow("s3:*"), deny("s3:GetObject", OBJECT)],
        "s3:GetObject",
        OBJECT,
        {},
        False,
        "with an explicit deny in an identity-based policy",
    ),
    (
        "NotAction allows the rest",
        [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
        "s3:GetObject",
        OBJECT,
        {},
        True,
        "",
    ),
    (
        "NotAction leaves its own out",
        [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
        "iam:CreateRole",
        "*",
        {},
        False,
        "",
    ),
    (
        "NotResource allows elsewhere",
        [{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"}],
        "s3:GetObject",
        OBJECT,
        {},
        True,
        "",
    ),
    (
        "NotResource leaves its own out",
        [{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::lake/*"}],
        "s3:GetObject",
        OBJECT,
        {},
        False,
        "",
    ),
    (
        "a policy variable fills from the context",
        [allow("s3:GetObject", "arn:aws:s3:::lake/${aws:username}/*")],
        "s3:GetObject",
        "arn:aws:s3:::lake/ann/x",
        {"aws:username": "ann"},
        True,
        "",
    ),
    (
        "a variable with no value matches nothing",
        [allow("s3:GetObject", "arn:aws:s3:::lake/${aws:username}/*")],
        "s3:GetObject",
        "arn:aws:s3:::lake//x",
        {},
        False,
        "",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_identity_policies_decide_as_aws_documents(case):
    what, statements, action, resource, context, allowed, reason = case
    decision = ask(action, resource, identity=[doc(*statements)] if statements else [], context=context)
    assert decision.allowed is allowed, what
    assert reason in decision.reason


# ---------------------------------------------------------------- conditions

COND = [
    ("StringEquals holds", {"StringEquals": {"aws:SourceAccount": ACCOUNT}}, {"aws:sourceaccount": ACCOUNT}, True),
    ("StringEquals fails", {"StringEquals": {"aws:SourceAccount": "999"}}, {"aws:SourceAccount": ACCOUNT}, False),
    ("a missing key fails a positive operator", {"StringEquals": {"aws:SourceAccount": ACCOUNT}}, {}, False),
    ("a missing key satisfies a negated one", {"StringNotEquals": {"aws:SourceAccount": ACCOUNT}}, {}, True),
    ("StringNotEquals on the value", {"StringNotEquals": {"k": "v"}}, {"k": "v"}, False),
    ("StringLike globs", {"StringLike": {"s3:prefix": "raw/*"}}, {"s3:prefix": "raw/2026/"}, True),
    ("StringLike refuses another prefix", {"StringLike": {"s3:prefix": "raw/*"}}, {"s3:prefix": "curated/"}, False),
    ("StringNotLike", {"StringNotLike": {"s3:prefix": "raw/*"}}, {"s3:prefix": "curated/"}, True),
    ("StringEqualsIgnoreCase", {"StringEqualsIgnoreCase": {"k": "ABC"}}, {"k": "abc"}, True),
    ("any of several values", {"StringEquals": {"k": ["a", "b"]}}, {"k": "b"}, True),
    ("several keys are ANDed", {"StringEquals": {"a": "1", "b": "2"}}, {"a": "1", "b": "3"}, False),
    ("Bool true", {"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True}, True),
    ("Bool false on a TLS request", {"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"}, False),
    ("Bool on a missing key", {"Bool": {"aws:SecureTransport": "false"}}, {}, False),
    ("BoolIfExists on a missing key", {"BoolIfExists": {"aws:SecureTransport": "false"}}, {}, True),
    ("StringEqualsIfExists present and wrong", {"StringEqualsIfExists": {"k": "v"}}, {"k": "w"}, False),
    ("Null true: the key is absent", {"Null": {"k": "true"}}, {}, True),
    ("Null false: the key is present", {"Null": {"k": "false"}}, {"k": "v"}, True),
    ("Null true but present", {"Null": {"k": "true"}}, {"k": "v"}, False),
    (
        "ArnLike per component",
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:alerts*"}},
        {"aws:SourceArn": "arn:aws:sns:ap-northeast-2:123456789012:alerts-x"},
        True,
    ),
    (
        "ArnLike other account",
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
        {"aws:SourceArn": "arn:aws:sns:ap-northeast-2:999999999999:alerts"},
        False,
    ),
    ("ArnNotEquals on a missing key", {"ArnNotEquals": {"aws:SourceArn": "arn:aws:s3:::x"}}, {}, True),
    ("NumericLessThan", {"NumericLessThan": {"s3:max-keys": "100"}}, {"s3:max-keys": 10}, True),
    ("NumericGreaterThanEquals", {"NumericGreaterThanEquals": {"n": "10"}}, {"n": "9"}, False),
    (
        "DateLessThan ISO",
        {"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}},
        {"aws:CurrentTime": "2026-12-01T13:00:00Z"},
        True,
    ),
    (
        "DateGreaterThan epoch",
        {"DateGreaterThan": {"aws:EpochTime": "1700000000"}},
        {"aws:EpochTime": "1600000000"},
        False,
    ),
    ("IpAddress", {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.2.3"}, True),
    ("NotIpAddress missing", {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {}, True),
    ("ForAnyValue: one in", {"ForAnyValue:StringEquals": {"tags": ["a", "b"]}}, {"tags": ["x", "a"]}, True),
    ("ForAnyValue: missing key", {"ForAnyValue:StringEquals": {"tags": ["a"]}}, {}, False),
    ("ForAllValues: all in", {"ForAllValues:StringEquals": {"tags": ["a", "b"]}}, {"tags": ["a", "b"]}, True),
    ("ForAllValues: one out", {"ForAllValues:StringEquals": {"tags": ["a", "b"]}}, {"tags": ["a", "c"]}, False),
    ("ForAllValues: missing key holds", {"ForAllValues:StringEquals": {"tags": ["a"]}}, {}, True),
    ("ForAllValues negated", {"ForAllValues:StringNotEquals": {"tags": ["a"]}}, {"tags": ["b", "c"]}, True),
]


@pytest.mark.parametrize(("what", "condition", "context", "allowed"), COND, ids=[c[0] for c in COND])
def test_condition_operators_hold_as_aws_documents(what, condition, context, allowed):
    policy = doc(allow("sqs:SendMessage", Condition=condition))
    assert ask("sqs:SendMessage", "*", identity=[policy], context=context).allowed is allowed, what


@pytest.mark.parametrize("operator", ["BinaryEquals", "StringSortOf", "ForSomeValues:StringEquals"])
def test_an_unknown_condition_operator_raises_rather_than_allows(operator):
    policy = doc(allow("sqs:SendMessage", Condition={operator: {"k": "v"}}))
    with pytest.raises(ValueError, match="not evaluated"):
        ask("sqs:SendMessage", "*", identity=[policy], context={"k": "v"})


def test_a_failed_condition_on_a_deny_is_no_deny():
    policy = doc(allow("s3:*"), deny("s3:*", Condition={"Bool": {"aws:SecureTransport": "false"}}))
    assert ask("s3:GetObject", OBJECT, identity=[policy], context={"aws:SecureTransport": True}).allowed


def test_the_decision_names_the_statement():
    policy = doc(allow("s3:*", Sid="ReadLake"), deny("s3:DeleteObject", OBJECT, Sid="NeverDelete"))
    assert ask("s3:GetObject", OBJECT, identity=[policy]).statement == "p0#ReadLake"
    assert ask("s3:DeleteObject", OBJECT, identity=[policy]).statement == "p0#NeverDelete"


# ---------------------------------------------------------------- permissions boundaries


def test_a_boundary_caps_what_identity_policies_allow():
    identity = [doc(allow(["s3:GetObject", "sqs:SendMessage"]))]
    boundary = doc(allow("sqs:*"))
    assert ask("sqs:SendMessage", "*", identity=identity, boundary=boundary).allowed
    refused = ask("s3:GetObject", OBJECT, identity=identity, boundary=boundary)
    assert not refused.allowed
    assert refused.reason == "because no permissions boundary allows the s3:GetObject action"


def test_a_boundary_grants_nothing_alone():
    decision = ask("sqs:SendMessage", "*", boundary=doc(allow("*")))
    assert decision.reason == "because no identity-based policy allows the sqs:SendMessage action"


def test_a_deny_in_the_boundary_wins():
    decision = ask("s3:GetObject", OBJECT, identity=[doc(allow("*"))], boundary=doc(allow("*"), deny("s3:*")))
    assert decision.reason == "with an explicit deny in a permissions boundary"


# ---------------------------------------------------------------- resource-based policies


def bucket_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return doc(*statements)


@pytest.mark.parametrize(
    ("principal", "boundary", "allowed"),
    [
        ({"AWS": SESSION}, None, True),  # the session itself
        ({"AWS": SESSION}, doc(allow("sqs:*")), True),  # a session named directly is not capped by the boundary
        ({"AWS": ROLE}, None, True),  # the role ARN names its sessions
        ({"AWS": ROLE}, doc(allow("sqs:*")), False),  # ... and is capped by the boundary
        ("*", None, True),
        ({"AWS": "*"}, None, True),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, None, False),  # the account delegates to IAM: no identity allow
        ({"AWS": ACCOUNT}, None, False),
        ({"AWS": "arn:aws:iam::999999999999:role/other"}, None, False),
        ({"Service": "sns.amazonaws.com"}, None, False),
    ],
)
def test_a_resource_policy_allows_the_principals_it_names(principal, boundary, allowed):
    policy = bucket_policy({"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": OBJECT})
    assert ask("s3:GetObject", OBJECT, resource_policy=policy, boundary=boundary).allowed is allowed


def test_a_service_principal_is_allowed_only_by_a_resource_policy_naming_it():
    topic = "arn:aws:sns:ap-northeast-2:123456789012:alerts"
    policy = doc({"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                  "Resource": topic, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}})  # fmt: skip
    assert ask("sqs:SendMessage", topic, caller=SNS, resource_policy=policy, context={"aws:SourceArn": topic}).allowed
    refused = ask("sqs:SendMessage", topic, caller=SNS, resource_policy=policy, context={"aws:SourceArn": "x"})
    assert refused.reason == "because no resource-based policy allows the sqs:SendMessage action"


def test_a_resource_policy_deny_on_the_account_covers_every_principal_in_it():
    policy = bucket_policy({"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                            "Action": "s3:DeleteObject", "Resource": OBJECT})  # fmt: skip
    decision = ask("s3:DeleteObject", OBJECT, identity=[doc(allow("s3:*"))], resource_policy=policy)
    assert decision.reason == "with an explicit deny in a resource-based policy"


def test_the_tls_only_bucket_policy_denies_plain_http_and_nothing_else():
    policy = bucket_policy({"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                            "Resource": [BUCKET, f"{BUCKET}/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}}})  # fmt: skip
    identity = [doc(allow("s3:GetObject", OBJECT))]
    assert ask("s3:GetObject", OBJECT, identity=identity, resource_policy=policy,
               context={"aws:SecureTransport": True}).allowed  # fmt: skip
    plain = ask(
        "s3:GetObject", OBJECT, identity=identity, resource_policy=policy, context={"aws:SecureTransport": False}
    )
    assert (plain.allowed, plain.reason, plain.statement) == (
        False, "with an explicit deny in a resource-based policy", "resource policy#TlsOnly")  # fmt: skip


def test_not_principal_in_a_deny_spares_only_those_it_names():
    policy = bucket_policy({"Effect": "Deny", "NotPrincipal": {"AWS": [ROLE, SESSION]}, "Action": "s3:*",
                            "Resource": "*"})  # fmt: skip
    identity = [doc(allow("s3:*"))]
    assert ask("s3:GetObject", OBJECT, identity=identity, resource_policy=policy).allowed
    other = Caller(
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/x/y", account=ACCOUNT, role_arn=f"arn:aws:iam::{ACCOUNT}:role/x"
    )
    assert not ask("s3:GetObject", OBJECT, caller=other, identity=identity, resource_policy=policy).allowed


# ---------------------------------------------------------------- KMS key policies

ROOT_KEY_POLICY = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
                       "Resource": "*"})  # fmt: skip


def test_a_key_policy_that_delegates_to_the_account_lets_identity_policies_decide():
    assert ask("kms:Decrypt", KEY, identity=[doc(allow("kms:Decrypt", KEY))], resource_policy=ROOT_KEY_POLICY).allowed
    refused = ask("kms:Decrypt", KEY, resource_policy=ROOT_KEY_POLICY)
    assert refused.reason == "because no identity-based policy allows the kms:Decrypt action"


def test_without_a_key_policy_allow_no_identity_policy_helps():
    services_only = doc({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "kms:*",
                         "Resource": "*"})  # fmt: skip
    decision = ask("kms:Decrypt", KEY, identity=[doc(allow("kms:*"))], resource_policy=services_only)
    assert (decision.allowed, decision.reason) == (
        False,
        "because no resource-based policy allows the kms:Decrypt action",
    )


def test_a_statement_without_action_is_refused_as_malformed():
    with pytest.raises(ValueError, match="neither Action nor NotAction"):
        ask("s3:GetObject", OBJECT, identity=[doc({"Effect": "Allow", "Resource": "*"})])


@pytest.mark.parametrize("spared", [[ROLE], [ROLE, f"arn:aws:iam::{ACCOUNT}:root"], [ACCOUNT]])
def test_not_principal_naming_the_role_or_account_but_not_the_session_spares_no_session(spared):
    policy = bucket_policy({"Effect": "Deny", "NotPrincipal": {"AWS": spared}, "Action": "s3:*", "Resource": "*"})
    assert not ask("s3:GetObject", OBJECT, identity=[doc(allow("s3:*"))], resource_policy=policy).allowed
