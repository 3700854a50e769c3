"""Every botocore call made while `enforce` is entered is authorised as its signer's role (local_stack/iam/hook.py).

A fake registry of two principals built from plain policy documents; moto's `mock_aws` answers the
calls that are allowed through.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.handlers
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local_stack.iam.hook import authorize, enforce
from local_stack.iam.model import Ledger, PolicyDocument, Principal, Use

REGION, ACCOUNT = "ap-northeast-2", "123456789012"
BUCKET, TABLE = "lake", "idem"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"


def role(name: str, *statements: dict[str, Any], boundary: PolicyDocument | None = None) -> Principal:
    arn = f"arn:aws:iam::{ACCOUNT}:role/shoplake-dev-{name}Role"
    return Principal(
        name=name,
        role_name=f"shoplake-dev-{name}Role",
        role_arn=arn,
        policies=((f"{name}Policy", {"Version": "2012-10-17", "Statement": list(statements)}),),
        boundary=boundary,
        session_arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/shoplake-dev-{name}Role/{name}",
    )


READER = role(
    "Reader",
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/raw/*"},
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}",
     "Condition": {"StringLike": {"s3:prefix": "raw/*"}}},
    {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:GetItem"], "Resource": TABLE_ARN},
)  # fmt: skip
WRITER = role(
    "Writer",
    {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": f"arn:aws:s3:::{BUCKET}/*"},
    {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:ConditionCheckItem"], "Resource": TABLE_ARN},
)


class FakeRegistry:
    def __init__(self, keys: dict[str, Principal], policies: dict[str, PolicyDocument] | None = None) -> None:
        self.keys, self.policies = keys, policies or {}

    def by_access_key(self, access_key: str) -> Principal | None:
        return self.keys.get(access_key)

    def is_harness(self, access_key: str) -> bool:
        return access_key == "testing"

    def resource_policy(self, resource_arn: str) -> PolicyDocument | None:
        return self.policies.get(resource_arn)

    def principal(self, name: str) -> Principal:
        return next(p for p in self.keys.values() if p.name == name)


def client(service: str, key: str) -> Any:
    return boto3.client(
        service, region_name=REGION, aws_access_key_id=key, aws_secret_access_key="s", aws_session_token="t"
    )


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry({"ASIAREADER": READER, "ASIAWRITER": WRITER})


@pytest.fixture
def world(registry: FakeRegistry) -> Iterator[tuple[FakeRegistry, Ledger]]:
    ledger = Ledger()
    with mock_aws(), enforce(registry, ledger):
        s3 = client("s3", "testing")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key="raw/a.json", Body=b"{}")
        s3.put_object(Bucket=BUCKET, Key="curated/b.json", Body=b"{}")
        client("dynamodb", "testing").create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )  # fmt: skip
        yield registry, ledger


def denied(call: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value


def test_a_granted_call_passes_and_is_recorded(world):
    _, ledger = world
    body = client("s3", "ASIAREADER").get_object(Bucket=BUCKET, Key="raw/a.json")["Body"].read()
    assert body == b"{}"
    (use,) = [u for u in ledger.uses if u.action == "s3:GetObject"]
    # the ledger names the statement that allowed it (what the report counts as used)
    assert use == Use("Reader", "s3:GetObject", f"arn:aws:s3:::{BUCKET}/raw/a.json", True, "sdk",
                      "allowed by an identity-based policy", "ReaderPolicy#0")  # fmt: skip


def test_an_ungranted_call_fails_with_access_denied_naming_principal_action_and_resource(world):
    _, ledger = world
    error = denied(lambda: client("s3", "ASIAREADER").get_object(Bucket=BUCKET, Key="curated/b.json"))
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert error.response["Error"]["Message"] == (
        f"User: {READER.session_arn} is not authorized to perform: s3:GetObject on resource: "
        f"arn:aws:s3:::{BUCKET}/curated/b.json because no identity-based policy allows the s3:GetObject action"
    )
    assert error.response["ResponseMetadata"]["RequestId"]
    assert ledger.uses[-1] == Use("Reader", "s3:GetObject", f"arn:aws:s3:::{BUCKET}/curated/b.json", False, "sdk",
                                  "because no identity-based policy allows the s3:GetObject action")  # fmt: skip


def test_a_json_service_answers_access_denied_exception(world):
    error = denied(lambda: client("dynamodb", "ASIAWRITER").get_item(TableName=TABLE, Key={"id": {"S": "x"}}))
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert f"dynamodb:GetItem on resource: {TABLE_ARN}" in str(error)


def test_a_listing_is_checked_with_its_prefix(world):
    s3 = client("s3", "ASIAREADER")
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="raw/")["KeyCount"] == 1
    assert "s3:ListBucket" in str(denied(lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix="curated/")))


def test_a_transaction_needs_each_items_own_action(world):
    item = {"TableName": TABLE, "Item": {"id": {"S": "k"}}}
    check = {"TableName": TABLE, "Key": {"id": {"S": "k"}}, "ConditionExpression": "attribute_not_exists(id)"}
    client("dynamodb", "ASIAWRITER").transact_write_items(TransactItems=[{"Put": item}])
    # the reader may PutItem but not ConditionCheckItem, and "TransactWriteItems" itself is granted to nobody
    error = denied(lambda: client("dynamodb", "ASIAREADER").transact_write_items(
        TransactItems=[{"Put": {**item, "Item": {"id": {"S": "j"}}}}, {"ConditionCheck": check}]))  # fmt: skip
    assert "dynamodb:ConditionCheckItem" in str(error)


def test_harness_calls_pass_and_are_recorded_apart(world):
    _, ledger = world
    client("s3", "testing").get_object(Bucket=BUCKET, Key="curated/b.json")
    assert ledger.uses[-1] == Use("harness", "s3:GetObject", "*", True, "harness")


def test_an_unknown_key_fails_closed(world):
    error = denied(lambda: client("s3", "ASIASTALE").get_object(Bucket=BUCKET, Key="raw/a.json"))
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert "ASIASTALE" in str(error)
    assert "no principal's" in str(error)


def test_a_call_with_no_rule_fails_closed(world):
    error = denied(lambda: client("s3", "ASIAREADER").get_bucket_tagging(Bucket=BUCKET))
    assert "no IAM rule for s3:GetBucketTagging: add one in local_stack/iam/requests.py" in str(error)


TLS_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
     "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    {"Sid": "NoReaderWrites", "Effect": "Deny", "Principal": {"AWS": READER.role_arn}, "Action": "s3:GetObject",
     "Resource": f"arn:aws:s3:::{BUCKET}/raw/secret*"},
]}  # fmt: skip


def test_a_bucket_policy_tls_deny_never_fires_for_sdk_calls_but_a_deny_naming_the_principal_does(registry):
    registry.policies[f"arn:aws:s3:::{BUCKET}"] = TLS_ONLY
    ledger = Ledger()
    with mock_aws(), enforce(registry, ledger):
        harness = client("s3", "testing")
        harness.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        harness.put_object(Bucket=BUCKET, Key="raw/a.json", Body=b"{}")
        harness.put_object(Bucket=BUCKET, Key="raw/secret.json", Body=b"{}")
        reader = client("s3", "ASIAREADER")
        assert reader.get_object(Bucket=BUCKET, Key="raw/a.json")["Body"].read() == b"{}"
        error = denied(lambda: reader.get_object(Bucket=BUCKET, Key="raw/secret.json"))
    assert "with an explicit deny in a resource-based policy" in str(error)


def test_a_resource_policy_alone_can_allow(registry):
    registry.policies[f"arn:aws:s3:::{BUCKET}"] = {"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": READER.role_arn}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{BUCKET}/inbox/*"}]}  # fmt: skip
    with mock_aws(), enforce(registry, Ledger()):
        client("s3", "testing").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        client("s3", "ASIAREADER").put_object(Bucket=BUCKET, Key="inbox/x", Body=b"1")
        assert denied(lambda: client("s3", "ASIAREADER").put_object(Bucket=BUCKET, Key="raw/x", Body=b"1"))


def test_explicit_checks_raise_the_same_error_and_are_recorded(registry):
    ledger = Ledger()
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:transform"
    with pytest.raises(ClientError) as caught:
        authorize(registry, ledger, "Reader", "lambda:InvokeFunction", function)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert f"{READER.session_arn} is not authorized to perform: lambda:InvokeFunction on resource: {function}" in str(
        caught.value
    )
    authorize(registry, ledger, WRITER, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/images/x.png", via="explicit")
    assert [(u.principal, u.allowed, u.via) for u in ledger.uses] == [("Reader", False, "explicit"),
                                                                        ("Writer", True, "explicit")]  # fmt: skip


def test_the_handlers_leave_with_the_context_and_the_default_session_is_reset(registry):
    before = list(botocore.handlers.BUILTIN_HANDLERS)
    boto3.setup_default_session(region_name=REGION)
    with enforce(registry, Ledger()):
        assert boto3.DEFAULT_SESSION is None
        assert len(botocore.handlers.BUILTIN_HANDLERS) == len(before) + 2
        boto3.setup_default_session(region_name=REGION)
    assert boto3.DEFAULT_SESSION is None
    assert before == botocore.handlers.BUILTIN_HANDLERS
    with mock_aws():  # a client made after exit is not checked
        client("s3", "ASIASTALE").list_buckets()


def test_a_boundary_caps_the_role(registry):
    only_listing = {"Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
    capped = role("Capped", {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, boundary=only_listing)
    registry.keys["ASIACAPPED"] = capped
    with mock_aws(), enforce(registry, Ledger()):
        client("s3", "testing").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        client("s3", "ASIACAPPED").list_objects_v2(Bucket=BUCKET)
        error = denied(lambda: client("s3", "ASIACAPPED").put_object(Bucket=BUCKET, Key="k", Body=b""))
    assert "because no permissions boundary allows the s3:PutObject action" in str(error)


LAKE_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/lake"


def test_a_write_into_a_bucket_under_a_customer_managed_key_needs_the_key_too(registry):
    # GIVEN a bucket encrypted with a customer managed key whose policy delegates to the account's IAM
    registry.policies[LAKE_KEY] = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
    }
    keyed = role(
        "Keyed",
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"},
        {"Effect": "Allow", "Action": "kms:GenerateDataKey", "Resource": LAKE_KEY},
    )
    registry.keys["ASIAKEYED"] = keyed
    ledger = Ledger()
    with mock_aws(), enforce(registry, ledger, key_of={f"arn:aws:s3:::{BUCKET}": LAKE_KEY}.get):
        client("s3", "testing").create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        # WHEN a role with the key writes, and one without it
        client("s3", "ASIAKEYED").put_object(Bucket=BUCKET, Key="k", Body=b"1")
        error = denied(lambda: client("s3", "ASIAWRITER").put_object(Bucket=BUCKET, Key="k", Body=b"1"))
    # THEN the second is refused on the key, and both key checks are in the ledger
    assert f"kms:GenerateDataKey on resource: {LAKE_KEY}" in str(error)
    assert [(u.principal, u.allowed) for u in ledger.uses if u.action == "kms:GenerateDataKey"] == [
        ("Keyed", True),
        ("Writer", False),
    ]


def test_a_key_policy_that_does_not_delegate_refuses_even_a_granted_role(registry):
    registry.policies[LAKE_KEY] = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:*", "Resource": "*"}
        ]
    }
    keyed = role("Keyed", {"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    with pytest.raises(ClientError, match="because no resource-based policy allows the kms:Decrypt action"):
        authorize(registry, Ledger(), keyed, "kms:Decrypt", LAKE_KEY)


def test_a_kms_call_by_alias_is_judged_on_the_key_and_its_policy_and_an_unknown_alias_fails_closed(registry):
    registry.keys["ASIAKEYED"] = role("Keyed", {"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    ledger = Ledger()
    with mock_aws():
        key = client("kms", "testing").create_key()["KeyMetadata"]["Arn"]
        # GIVEN a key whose policy lets only a service use it, known by the alias alias/lake
        registry.policies[key] = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"},
                                                 "Action": "kms:*", "Resource": "*"}]}  # fmt: skip
        with enforce(registry, ledger, aliases={"alias/lake": key}):
            # WHEN the role, granted kms:* on everything, names the key by its alias, and by an unknown one
            by_alias = denied(lambda: client("kms", "ASIAKEYED").describe_key(KeyId="alias/lake"))
            unknown = denied(lambda: client("kms", "ASIAKEYED").describe_key(KeyId="alias/gone"))
    # THEN the first is judged on the key ARN, whose key policy refuses; the second is refused outright
    assert f"kms:DescribeKey on resource: {key} because no resource-based policy allows" in str(by_alias)
    assert "the KMS alias 'alias/gone' points at no key the local stack knows" in str(unknown)
    assert [(u.resource, u.allowed) for u in ledger.uses if u.principal == "Keyed"] == [(key, False), ("*", False)]


def test_moto_step_functions_engine_turns_a_denied_task_into_the_services_access_denied(registry):
    # GIVEN the engine's own clients (key "ak") standing for a state-machine role that may not read the table
    registry.keys["ak"] = role("StateMachine", {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"})
    definition = {"StartAt": "Read", "States": {"Read": {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem", "End": True,
        "Parameters": {"TableName": TABLE, "Key": {"id": {"S": "x"}}}}}}  # fmt: skip
    ledger = Ledger()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), enforce(registry, ledger):
        sfn = client("stepfunctions", "testing")
        machine = sfn.create_state_machine(
            name="m", definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/sm"
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        for _ in range(100):
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.05)
    # THEN the execution fails with the service's error (not States.Runtime), naming action and resource
    assert (described["status"], described.get("error")) == ("FAILED", "DynamoDB.AccessDeniedException")
    assert f"dynamodb:GetItem on resource: {TABLE_ARN}" in described.get("cause", "")
    assert Use("StateMachine", "dynamodb:GetItem", TABLE_ARN, False, "sdk",
               "because no identity-based policy allows the dynamodb:GetItem action") in ledger.uses  # fmt: skip
