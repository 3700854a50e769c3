"""What IAM asks of each AWS call shoplake makes: actions, resource ARNs and condition context.

A pure table keyed by (botocore signing name, operation name), e.g. ("s3", "ListObjectsV2") or
("monitoring", "PutMetricData"). Each rule turns the call's API parameters into `Check`s, one per
(action, resource) pair IAM authorises; the sources are the Service Authorization Reference pages of
each service and the services' own guides where the action is not the operation's name (S3 "Actions,
resources, and condition keys", DynamoDB "Using IAM with transactions", Glue "Specifying AWS Glue
resource ARNs", KMS "Encryption context... / How <service> uses AWS KMS"). A call with no rule
raises `NoRule` (fail closed); `sts:GetCallerIdentity` needs no permission in AWS and gives no check.

Implied KMS: a call on an S3 bucket, SNS topic, SQS queue or secret encrypted with a customer managed
key also needs the KMS actions that service makes on the caller's behalf. `key_of(resource ARN)` says
which key (None: an AWS managed key or none, so no check). DynamoDB's use of a table's key is not
modelled: DynamoDB calls KMS with its own grant.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

from local_stack.iam.evaluate import ContextValue

KeyOf = Callable[[str], str | None]


@dataclass(frozen=True)
class Check:
    """One question for the evaluator: may the caller do `action` on `resource` (an ARN or "*")?"""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


class NoRuleError(LookupError):
    """The call has no rule here; the message says where to add one."""


@dataclass(frozen=True)
class Where:
    """The account and region the call is made in, and how encrypted resources name their keys."""

    region: str
    account: str
    key_of: KeyOf = lambda _arn: None

    def arn(self, service: str, rest: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{rest}"


Params = Mapping[str, Any]
Rule = Callable[[Params, Where], list[Check]]
RULES: dict[tuple[str, str], Rule] = {}
ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {}  # every action a rule can yield, for the catalogue test


def rule(service: str, *operations: str, actions: tuple[str, ...]) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        for operation in operations:
            RULES[service, operation] = fn
            ACTIONS[service, operation] = actions
        return fn

    return register


def simple(
    service: str, operations: tuple[str, ...], resource: Callable[[Params, Where], str], *, action: str = ""
) -> None:
    """Register operations that each ask one action (`action`, or `<service>:<operation>`) on one resource."""
    for operation in operations:
        name = action or f"{service}:{operation}"

        def one(p: Params, w: Where, name: str = name) -> list[Check]:
            return [Check(name, resource(p, w))]

        rule(service, operation, actions=(name,))(one)


def checks(
    service: str, operation: str, params: Params, *, region: str, account: str, key_of: KeyOf | None = None
) -> list[Check]:
    """The IAM checks one call needs. `service` is botocore's signing name (`model.service_model.signing_name`).

    Raises NoRuleError for a call this table does not know.
    """
    found = RULES.get((service, operation))
    if found is None:
        raise NoRuleError(f"no IAM rule for {service}:{operation}: add one in local_stack/iam/requests.py")
    return found(params, Where(region, account, key_of or (lambda _arn: None)))


def _kms(where: Where, resource_arn: str, *actions: str) -> list[Check]:
    key = where.key_of(resource_arn)
    return [Check(action, key) for action in actions] if key else []


# ---------------------------------------------------------------- S3 (resources carry no region or account)


def _bucket(name: str) -> str:
    return f"arn:aws:s3:::{name}"


def _object(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def _versioned(action: str, params: Params) -> str:
    return action + "Version" if params.get("VersionId") else action


@rule("s3", "GetObject", actions=("s3:GetObject", "s3:GetObjectVersion", "kms:Decrypt"))
def _get_object(p: Params, w: Where) -> list[Check]:
    check = Check(_versioned("s3:GetObject", p), _object(p["Bucket"], p["Key"]))
    return [check, *_kms(w, _bucket(p["Bucket"]), "kms:Decrypt")]


@rule("s3", "HeadObject", actions=("s3:GetObject", "s3:GetObjectVersion"))
def _head_object(p: Params, w: Where) -> list[Check]:
    return [Check(_versioned("s3:GetObject", p), _object(p["Bucket"], p["Key"]))]


@rule("s3", "PutObject", "UploadPart", "CompleteMultipartUpload", actions=("s3:PutObject", "kms:GenerateDataKey"))
def _put_object(p: Params, w: Where) -> list[Check]:
    return [
        Check("s3:PutObject", _object(p["Bucket"], p["Key"])),
        *_kms(w, _bucket(p["Bucket"]), "kms:GenerateDataKey"),
    ]


@rule("s3", "CreateMultipartUpload", actions=("s3:PutObject", "kms:GenerateDataKey", "kms:Decrypt"))
def _create_multipart(p: Params, w: Where) -> list[Check]:
    # A multipart upload into an SSE-KMS bucket needs kms:Decrypt too (S3 user guide, "Using SSE-KMS").
    return [*_put_object(p, w), *_kms(w, _bucket(p["Bucket"]), "kms:Decrypt")]


@rule("s3", "AbortMultipartUpload", actions=("s3:AbortMultipartUpload",))
def _abort_multipart(p: Params, w: Where) -> list[Check]:
    return [Check("s3:AbortMultipartUpload", _object(p["Bucket"], p["Key"]))]


def _copy_source(p: Params) -> tuple[str, str, str | None]:
    source = p["CopySource"]
    if isinstance(source, Mapping):
        return source["Bucket"], source["Key"], source.get("VersionId")
    path, _, query = unquote(str(source)).lstrip("/").partition("?versionId=")
    bucket, _, key = path.partition("/")
    return bucket, key, query or None


_COPY = ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "kms:Decrypt", "kms:GenerateDataKey")


@rule("s3", "CopyObject", "UploadPartCopy", actions=_COPY)
def _copy_object(p: Params, w: Where) -> list[Check]:
    bucket, key, version = _copy_source(p)
    read = Check("s3:GetObjectVersion" if version else "s3:GetObject", _object(bucket, key))
    return [read, *_kms(w, _bucket(bucket), "kms:Decrypt"), *_put_object(p, w)]


@rule("s3", "DeleteObject", actions=("s3:DeleteObject", "s3:DeleteObjectVersion"))
def _delete_object(p: Params, w: Where) -> list[Check]:
    return [Check(_versioned("s3:DeleteObject", p), _object(p["Bucket"], p["Key"]))]


@rule("s3", "DeleteObjects", actions=("s3:DeleteObject", "s3:DeleteObjectVersion"))
def _delete_objects(p: Params, w: Where) -> list[Check]:
    return [_delete_object({"Bucket": p["Bucket"], **o}, w)[0] for o in p["Delete"]["Objects"]]


def _listing(p: Params) -> dict[str, ContextValue]:
    keys = {"Prefix": "s3:prefix", "Delimiter": "s3:delimiter", "MaxKeys": "s3:max-keys"}
    return {name: p[param] for param, name in keys.items() if param in p}


@rule("s3", "ListObjectsV2", "ListObjects", actions=("s3:ListBucket",))
def _list_objects(p: Params, w: Where) -> list[Check]:
    return [Check("s3:ListBucket", _bucket(p["Bucket"]), _listing(p))]


@rule("s3", "HeadBucket", actions=("s3:ListBucket",))
def _head_bucket(p: Params, w: Where) -> list[Check]:
    return [Check("s3:ListBucket", _bucket(p["Bucket"]))]


@rule("s3", "ListObjectVersions", actions=("s3:ListBucketVersions",))
def _list_versions(p: Params, w: Where) -> list[Check]:
    return [Check("s3:ListBucketVersions", _bucket(p["Bucket"]), _listing(p))]


@rule("s3", "ListMultipartUploads", actions=("s3:ListBucketMultipartUploads",))
def _list_uploads(p: Params, w: Where) -> list[Check]:
    return [Check("s3:ListBucketMultipartUploads", _bucket(p["Bucket"]))]


# ---------------------------------------------------------------- DynamoDB


def _table(w: Where, name: str) -> str:
    return name if name.startswith("arn:") else w.arn("dynamodb", f"table/{name}")


simple("dynamodb", ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "DescribeTable"),
       lambda p, w: _table(w, p["TableName"]))  # fmt: skip
_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


@rule("dynamodb", "TransactWriteItems", actions=tuple(f"dynamodb:{a}" for a in _TRANSACT.values()))
def _transact_write(p: Params, w: Where) -> list[Check]:
    # "TransactWriteItems" is no IAM action: each item is authorised as its own operation.
    return [Check(f"dynamodb:{_TRANSACT[kind]}", _table(w, body["TableName"])) for i in p["TransactItems"]
            for kind, body in i.items()]  # fmt: skip


@rule("dynamodb", "TransactGetItems", actions=("dynamodb:GetItem",))
def _transact_get(p: Params, w: Where) -> list[Check]:
    return [Check("dynamodb:GetItem", _table(w, i["Get"]["TableName"])) for i in p["TransactItems"]]


def _batch(action: str) -> Rule:
    # Unlike a transaction, a batch is authorised as itself, on each table it names.
    return lambda p, w: [Check(action, _table(w, name)) for name in p["RequestItems"]]


rule("dynamodb", "BatchWriteItem", actions=("dynamodb:BatchWriteItem",))(_batch("dynamodb:BatchWriteItem"))
rule("dynamodb", "BatchGetItem", actions=("dynamodb:BatchGetItem",))(_batch("dynamodb:BatchGetItem"))


# ---------------------------------------------------------------- Glue: the catalog, the database, then the table


def catalog(operations: tuple[str, ...], table_of: Callable[[Params], str | None]) -> None:
    """Register Glue catalog operations, each authorised on the catalog, the database and (if any) the table."""
    for operation in operations:
        action = f"glue:{operation}"

        def one(p: Params, w: Where, action: str = action) -> list[Check]:
            database, table = p.get("DatabaseName") or p["Name"], table_of(p)
            found = [Check(action, w.arn("glue", "catalog")), Check(action, w.arn("glue", f"database/{database}"))]
            return [*found, Check(action, w.arn("glue", f"table/{database}/{table}"))] if table else found

        rule("glue", operation, actions=(action,))(one)


catalog(("GetTable", "DeleteTable", "UpdateTable"), lambda p: p["Name"])
catalog(("GetPartition", "GetPartitions", "CreatePartition", "UpdatePartition", "DeletePartition",
         "BatchCreatePartition", "BatchGetPartition", "BatchDeletePartition", "BatchUpdatePartition"),
        lambda p: p["TableName"])  # fmt: skip
catalog(("CreateTable",), lambda p: p["TableInput"]["Name"])
catalog(("GetTables",), lambda p: "*")
catalog(("GetDatabase",), lambda p: None)
simple("glue", ("StartJobRun", "GetJobRun", "GetJobRuns", "BatchStopJobRun", "GetJob"),
       lambda p, w: w.arn("glue", f"job/{p['JobName']}"))  # fmt: skip
simple("glue", ("GetDataQualityRuleset",), lambda p, w: w.arn("glue", f"dataQualityRuleset/{p['Name']}"))


@rule("glue", "GetConnection", actions=("glue:GetConnection",))
def _connection(p: Params, w: Where) -> list[Check]:
    return [Check("glue:GetConnection", w.arn("glue", r)) for r in ("catalog", f"connection/{p['Name']}")]


# ---------------------------------------------------------------- messaging and streams


@rule("sns", "Publish", actions=("sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"))
def _publish(p: Params, w: Where) -> list[Check]:
    topic = p.get("TopicArn") or p["TargetArn"]
    return [Check("sns:Publish", topic), *_kms(w, topic, "kms:GenerateDataKey", "kms:Decrypt")]


def _queue(w: Where, url: str) -> str:
    account, name = urlparse(url).path.strip("/").split("/")[-2:]
    return f"arn:aws:sqs:{w.region}:{account}:{name}"


@rule("sqs", "SendMessage", "SendMessageBatch", actions=("sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"))
def _send(p: Params, w: Where) -> list[Check]:
    queue = _queue(w, p["QueueUrl"])
    return [Check("sqs:SendMessage", queue), *_kms(w, queue, "kms:GenerateDataKey", "kms:Decrypt")]


@rule("sqs", "ReceiveMessage", actions=("sqs:ReceiveMessage", "kms:Decrypt"))
def _receive(p: Params, w: Where) -> list[Check]:
    queue = _queue(w, p["QueueUrl"])
    return [Check("sqs:ReceiveMessage", queue), *_kms(w, queue, "kms:Decrypt")]


simple(
    "sqs", ("DeleteMessage", "DeleteMessageBatch"), lambda p, w: _queue(w, p["QueueUrl"]), action="sqs:DeleteMessage"
)
_QUEUE_OPS = ("GetQueueAttributes", "ChangeMessageVisibility", "PurgeQueue")
simple("sqs", _QUEUE_OPS, lambda p, w: _queue(w, p["QueueUrl"]))
simple("sqs", ("GetQueueUrl",), lambda p, w: w.arn("sqs", p["QueueName"]))


def _stream(p: Params, w: Where) -> str:
    if p.get("StreamARN"):
        return str(p["StreamARN"])
    if "StreamName" in p:
        return w.arn("kinesis", f"stream/{p['StreamName']}")
    try:  # moto's shard iterator is base64 of "<stream>:<shard>:<sequence>"; AWS's is opaque
        stream = base64.b64decode(p["ShardIterator"]).decode().split(":")[0]
    except (binascii.Error, UnicodeDecodeError, KeyError) as error:
        raise NoRuleError(f"kinesis: no stream name in {sorted(p)}") from error
    return w.arn("kinesis", f"stream/{stream}")


simple("kinesis", ("PutRecord", "PutRecords", "GetRecords", "GetShardIterator", "ListShards", "DescribeStream",
                   "DescribeStreamSummary"), _stream)  # fmt: skip
simple("firehose", ("PutRecord", "PutRecordBatch"),
       lambda p, w: w.arn("firehose", f"deliverystream/{p['DeliveryStreamName']}"))  # fmt: skip


# ---------------------------------------------------------------- compute, secrets, keys, identity, metrics, mail


def _function(p: Params, w: Where) -> str:
    """A function's ARN from a name, "<name>:<qualifier>", "<account>:function:<name>" or an ARN."""
    name = str(p["FunctionName"])
    if name.startswith("arn:"):
        return name
    if ":function:" in name:
        account, _, rest = name.partition(":function:")
        return f"arn:aws:lambda:{w.region}:{account}:function:{rest}"
    return w.arn("lambda", f"function:{name}")


simple("lambda", ("Invoke", "InvokeAsync"), _function, action="lambda:InvokeFunction")
simple("states", ("StartExecution", "StartSyncExecution"), lambda p, w: p["stateMachineArn"])
simple("states", ("DescribeExecution", "StopExecution", "GetExecutionHistory"), lambda p, w: p["executionArn"])


def _secret(w: Where, secret_id: str) -> str:
    # A name stands for the ARN AWS gives it, whose six random characters it cannot know: "?" stands
    # for each, so a grant of "secret:<name>-*" matches and a grant of another exact ARN does not.
    return secret_id if secret_id.startswith("arn:") else w.arn("secretsmanager", f"secret:{secret_id}-??????")


@rule("secretsmanager", "GetSecretValue", actions=("secretsmanager:GetSecretValue", "kms:Decrypt"))
def _secret_value(p: Params, w: Where) -> list[Check]:
    secret = _secret(w, p["SecretId"])
    return [Check("secretsmanager:GetSecretValue", secret), *_kms(w, secret, "kms:Decrypt")]


simple("secretsmanager", ("DescribeSecret",), lambda p, w: _secret(w, p["SecretId"]))


def _key(p: Params, w: Where) -> str:
    if "KeyId" not in p:
        raise NoRuleError("kms: a call without KeyId (the key inside the ciphertext) has no rule: pass KeyId")
    key_id = str(p["KeyId"])
    if key_id.startswith("arn:"):
        return key_id
    return w.arn("kms", key_id if key_id.startswith("alias/") else f"key/{key_id}")


simple("kms", ("Decrypt", "Encrypt", "GenerateDataKey", "DescribeKey", "Sign", "Verify", "GetPublicKey"), _key)
rule("sts", "GetCallerIdentity", actions=())(lambda p, w: [])  # AWS needs no permission for it
simple("sts", ("AssumeRole",), lambda p, w: p["RoleArn"])


@rule("monitoring", "PutMetricData", actions=("cloudwatch:PutMetricData",))
def _metric(p: Params, w: Where) -> list[Check]:
    return [Check("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": p["Namespace"]})]


@rule("ses", "SendEmail", actions=("ses:SendEmail",))
def _send_email(p: Params, w: Where) -> list[Check]:
    # SES authorises the sending identity; without FromEmailAddressIdentityArn that is the address's domain.
    sender = str(p["FromEmailAddress"]).rsplit("<", 1)[-1].rstrip(">")
    identity = p.get("FromEmailAddressIdentityArn") or w.arn("ses", f"identity/{sender.rsplit('@', 1)[-1]}")
    return [Check("ses:SendEmail", identity, {"ses:FromAddress": sender})]


def covered() -> list[tuple[str, str]]:
    """Every (signing name, operation) the table knows, sorted."""
    return sorted(RULES)
