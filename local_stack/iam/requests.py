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
which key (None: an AWS managed key or none, so no check); an upload naming its own key
(`SSEKMSKeyId`) needs that key instead. `aliases` maps a KMS alias name or alias ARN to the key ARN it
points at: a call by alias is authorised on the key (KMS Developer Guide, "Using aliases to control
access to KMS keys"), and an alias it does not know fails closed. DynamoDB's use of a table's key is
not modelled: DynamoDB calls KMS with its own grant.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from local_stack.iam.evaluate import ContextValue

KeyOf = Callable[[str], str | None]


@dataclass(frozen=True)
class Check:
    """One question for the evaluator: may the caller do `action` on `resource` (an ARN or "*")?

    `unresolved`, when set, says why the resource could not be known (a KMS alias of no known key): the
    check is then denied whatever the policies say (fail closed), with that reason.
    """

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    unresolved: str = ""


class NoRuleError(LookupError):
    """The call has no rule here; the message says where to add one."""


@dataclass(frozen=True)
class Where:
    """The account and region the call is made in, and how encrypted resources name their keys."""

    region: str
    account: str
    key_of: KeyOf = lambda _arn: None
    aliases: Mapping[str, str] = field(default_factory=dict)

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
    service: str,
    operation: str,
    params: Params,
    *,
    region: str,
    account: str,
    key_of: KeyOf | None = None,
    aliases: Mapping[str, str] | None = None,
) -> list[Check]:
    """The IAM checks one call needs. `service` is botocore's signing name (`model.service_model.signing_name`).

    `aliases`: `{alias name ("alias/x") or alias ARN: key ARN}`; a KMS alias it does not hold gives checks
    marked `unresolved` (denied by the hook). Raises NoRuleError for a call this table does not know.
    """
    found = RULES.get((service, operation))
    if found is None:
        raise NoRuleError(f"no IAM rule for {service}:{operation}: add one in local_stack/iam/requests.py")
    return found(params, Where(region, account, key_of or (lambda _arn: None), dict(aliases or {})))


def kms_checks(where: Where, resource_arn: str, *actions: str) -> list[Check]:
    """The implied KMS checks of a call on `resource_arn`: each action on its customer managed key, if any."""
    key = where.key_of(resource_arn)
    return [Check(action, key) for action in actions] if key else []


# ---------------------------------------------------------------- DynamoDB


def _table(w: Where, name: str) -> str:
    return name if name.startswith("arn:") else w.arn("dynamodb", f"table/{name}")


simple("dynamodb", ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable"),
       lambda p, w: _table(w, p["TableName"]))  # fmt: skip
# A read through an index is authorised on table/<t>/index/<i>, which a grant on the table alone does not
# cover (DynamoDB Developer Guide, "Using IAM policy conditions ... / Amazon DynamoDB: Allows access to a
# specific table and all of its indexes"); Query and Scan are the operations that take an IndexName.
simple("dynamodb", ("Query", "Scan"), lambda p, w: _table(w, p["TableName"]) + (
       f"/index/{p['IndexName']}" if p.get("IndexName") else ""))  # fmt: skip
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
    return [Check("sns:Publish", topic), *kms_checks(w, topic, "kms:GenerateDataKey", "kms:Decrypt")]


def _queue(w: Where, url: str) -> str:
    account, name = urlparse(url).path.strip("/").split("/")[-2:]
    return f"arn:aws:sqs:{w.region}:{account}:{name}"


@rule("sqs", "SendMessage", "SendMessageBatch", actions=("sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"))
def _send(p: Params, w: Where) -> list[Check]:
    queue = _queue(w, p["QueueUrl"])
    return [Check("sqs:SendMessage", queue), *kms_checks(w, queue, "kms:GenerateDataKey", "kms:Decrypt")]


@rule("sqs", "ReceiveMessage", actions=("sqs:ReceiveMessage", "kms:Decrypt"))
def _receive(p: Params, w: Where) -> list[Check]:
    queue = _queue(w, p["QueueUrl"])
    return [Check("sqs:ReceiveMessage", queue), *kms_checks(w, queue, "kms:Decrypt")]


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


_FULL_SECRET_ARN = re.compile(r"^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:.+-[A-Za-z0-9]{6}$")


def _secret(w: Where, secret_id: str) -> str:
    """The secret's full ARN. A name or partial ARN (no "-" and six random characters, as Secrets Manager
    reads an ARN: "Find secrets ... by partial ARN") stands for the ARN AWS gave it, whose six characters
    it cannot know: "?" stands for each, so "secret:<name>-*" matches and another exact ARN does not."""
    if _FULL_SECRET_ARN.match(secret_id):
        return secret_id
    name = secret_id.split(":secret:", 1)[1] if secret_id.startswith("arn:") else secret_id
    return w.arn("secretsmanager", f"secret:{name}-??????")


@rule("secretsmanager", "GetSecretValue", actions=("secretsmanager:GetSecretValue", "kms:Decrypt"))
def _secret_value(p: Params, w: Where) -> list[Check]:
    secret = _secret(w, p["SecretId"])
    return [Check("secretsmanager:GetSecretValue", secret), *kms_checks(w, secret, "kms:Decrypt")]


simple("secretsmanager", ("DescribeSecret",), lambda p, w: _secret(w, p["SecretId"]))


def key_arn(w: Where, key_id: str) -> str | None:
    """A key named by ARN, key id, alias name or alias ARN, as the key's ARN, which IAM authorises on;
    None for an alias `w.aliases` does not know (see `key_checks`)."""
    alias = key_id if key_id.startswith("alias/") else None
    if alias is None and key_id.startswith("arn:") and ":alias/" in key_id:
        alias = key_id
    if alias is None:
        return key_id if key_id.startswith("arn:") else w.arn("kms", f"key/{key_id}")
    found = (
        w.aliases.get(alias)
        or w.aliases.get(w.arn("kms", alias))
        or w.aliases.get(alias.split(":", 5)[-1] if alias.startswith("arn:") else alias)
    )
    return found


def key_checks(w: Where, key_id: str, *actions: str) -> list[Check]:
    """Each action on the key `key_id` names; on an unknown alias, checks that are denied (fail closed)."""
    key = key_arn(w, key_id)
    if key is not None:
        return [Check(action, key) for action in actions]
    why = (f"the KMS alias {key_id!r} points at no key the local stack knows (known: {sorted(w.aliases)}); "
           "name the key, or declare its AWS::KMS::Alias")  # fmt: skip
    return [Check(action, "*", unresolved=why) for action in actions]


def _key_rule(action: str) -> Rule:
    def one(p: Params, w: Where) -> list[Check]:
        if "KeyId" not in p:
            raise NoRuleError("kms: a call without KeyId (the key inside the ciphertext) has no rule: pass KeyId")
        return key_checks(w, str(p["KeyId"]), action)

    return one


for _operation in ("Decrypt", "Encrypt", "GenerateDataKey", "DescribeKey", "Sign", "Verify", "GetPublicKey"):
    rule("kms", _operation, actions=(f"kms:{_operation}",))(_key_rule(f"kms:{_operation}"))


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


# The S3 rows live apart for length; importing them registers them in RULES.
from local_stack.iam import requests_s3  # noqa: E402, F401
