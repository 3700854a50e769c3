"""Kinesis Data Firehose, locally: what moto's Firehose does not do.

moto neither invokes a transform nor partitions. For each delivery stream the template
declares with a Kinesis source, this reads the stream, invokes the transform function
with Firehose's event, checks the answer against Firehose's contract (one result per
recordId, a known result, base64 data), converts the Ok records to Parquet against the
Glue table the stream's schema configuration names (as Firehose's record format
conversion does), writes them under the prefix with the returned partition keys, and
writes failed records under the error prefix in Firehose's processing-failed format.
"""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq

from local_stack.functions import LocalFunction
from local_stack.iam.hook import authorize
from local_stack.iam.model import Ledger
from local_stack.iam.principals import Principals
from local_stack.provision import ACCOUNT_ID, REGION, Stack

RESULTS = {"Ok", "Dropped", "ProcessingFailed"}
_GLUE_TO_ARROW: dict[str, pa.DataType] = {
    "string": pa.string(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "smallint": pa.int16(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "array<string>": pa.list_(pa.string()),
}


def arrow_schema_of(table_input: dict[str, Any]) -> pa.Schema:
    """The Parquet schema Firehose's conversion takes from a Glue table."""
    columns = table_input["StorageDescriptor"]["Columns"]
    return pa.schema([pa.field(c["Name"], _GLUE_TO_ARROW[c["Type"]]) for c in columns])


def _prefix(template: str, keys: dict[str, str], arrival: datetime, error_type: str = "") -> str:
    def substitute(match: re.Match[str]) -> str:
        namespace, name = match.group(1), match.group(2)
        if namespace == "partitionKeyFromLambda":
            return keys[name]
        if namespace == "timestamp":
            java = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H"}
            return arrival.strftime(java[name])
        if namespace == "firehose" and name == "error-output-type":
            return error_type
        raise ValueError(f"the local Firehose cannot expand !{{{namespace}:{name}}}")

    return re.sub(r"!\{([A-Za-z]+):([A-Za-z-]+)\}", substitute, template)


@dataclass
class Delivery:
    written: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    records_in: int = 0


@dataclass
class _Stream:
    name: str
    source: str
    bucket: str
    prefix: str
    error_prefix: str
    transform: LocalFunction | None
    transform_arn: str | None
    schema: pa.Schema
    principal: str | None  # the stream's logical id, whose role Firehose assumes
    iterators: dict[str, str] = field(default_factory=dict)

    @property
    def partition_keys(self) -> list[str]:
        return re.findall(r"!\{partitionKeyFromLambda:([A-Za-z0-9_-]+)\}", self.prefix)


class LocalFirehose:
    def __init__(
        self,
        session: boto3.Session,
        stack: Stack,
        functions: dict[str, LocalFunction],
        principals: Principals | None = None,
        iam_ledger: Ledger | None = None,
    ) -> None:
        self.session = session
        self.principals = principals
        self.iam_ledger = iam_ledger if iam_ledger is not None else Ledger()
        self.streams: list[_Stream] = []
        self._roles: dict[str, boto3.Session] = {}  # stream name -> its role's session (ClickstreamFirehoseRole)
        by_arn = {f.arn: f for f in functions.values()}
        for logical_id in stack.logical_ids_of_type("AWS::KinesisFirehose::DeliveryStream"):
            props = stack.properties[logical_id]
            source = props.get("KinesisStreamSourceConfiguration")
            if not source:
                continue
            destination = props["ExtendedS3DestinationConfiguration"]
            processors = (destination.get("ProcessingConfiguration") or {}).get("Processors") or []
            lambda_arn = next(
                (
                    p["ParameterValue"]
                    for proc in processors
                    for p in proc["Parameters"]
                    if p["ParameterName"] == "LambdaArn"
                ),
                None,
            )
            schema_config = destination["DataFormatConversionConfiguration"]["SchemaConfiguration"]
            table = next(
                stack.properties[t]["TableInput"]
                for t in stack.logical_ids_of_type("AWS::Glue::Table")
                if stack.properties[t]["TableInput"]["Name"] == schema_config["TableName"]
            )
            principal = logical_id if principals is not None and logical_id in principals.names() else None
            if principals is not None and principal is not None:
                self._roles[props["DeliveryStreamName"]] = principals.session(principal)
            self.streams.append(
                _Stream(
                    name=props["DeliveryStreamName"],
                    source=source["KinesisStreamARN"].rsplit("/", 1)[-1],
                    bucket=destination["BucketARN"].rsplit(":", 1)[-1],
                    prefix=destination["Prefix"],
                    error_prefix=destination["ErrorOutputPrefix"],
                    transform=by_arn.get(lambda_arn) if lambda_arn else None,
                    transform_arn=lambda_arn,
                    schema=arrow_schema_of(table),
                    principal=principal,
                )
            )

    def _as(self, stream: _Stream) -> boto3.Session:
        """Firehose reads its source and writes its destination as the stream's role."""
        return self._roles.get(stream.name, self.session)

    def _authorize_transform(self, stream: _Stream) -> None:
        """Firehose invokes the transform as the stream's role: lambda:InvokeFunction on the configured ARN
        (Firehose Developer Guide, "Grant Firehose access to an AWS Lambda function"). Raises ClientError
        "AccessDenied" when the role may not."""
        if self.principals is None or stream.principal is None or stream.transform_arn is None:
            return
        authorize(self.principals, self.iam_ledger, stream.principal, "lambda:InvokeFunction", stream.transform_arn)

    def _read(self, stream: _Stream) -> list[dict[str, Any]]:
        kinesis = self._as(stream).client("kinesis")
        if not stream.iterators:
            for shard in kinesis.list_shards(StreamName=stream.source)["Shards"]:
                stream.iterators[shard["ShardId"]] = kinesis.get_shard_iterator(
                    StreamName=stream.source, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
        records: list[dict[str, Any]] = []
        for shard_id in list(stream.iterators):
            while True:
                answer = kinesis.get_records(ShardIterator=stream.iterators[shard_id], Limit=10_000)
                stream.iterators[shard_id] = answer["NextShardIterator"]
                records.extend({"shard": shard_id, **record} for record in answer["Records"])
                if not answer["Records"]:
                    break
        return records

    def flush(self) -> list[Delivery]:
        """Deliver everything waiting on the source streams; returns what was written."""
        return [self._deliver(stream) for stream in self.streams]

    def _deliver(self, stream: _Stream) -> Delivery:
        delivery = Delivery()
        records = self._read(stream)
        delivery.records_in = len(records)
        if not records:
            return delivery
        now = datetime.now(UTC)
        arrival = {str(i): r["ApproximateArrivalTimestamp"] for i, r in enumerate(records)}
        event: dict[str, Any] = {
            "invocationId": str(uuid.uuid4()),
            "sourceKinesisStreamArn": f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/{stream.source}",
            "deliveryStreamArn": f"arn:aws:firehose:{REGION}:{ACCOUNT_ID}:deliverystream/{stream.name}",
            "region": REGION,
            "records": [
                {
                    "recordId": str(i),
                    "approximateArrivalTimestamp": int(r["ApproximateArrivalTimestamp"].timestamp() * 1000),
                    "data": base64.b64encode(r["Data"]).decode(),
                    "kinesisRecordMetadata": {
                        "shardId": r["shard"],
                        "partitionKey": r["PartitionKey"],
                        "approximateArrivalTimestamp": int(r["ApproximateArrivalTimestamp"].timestamp() * 1000),
                        "sequenceNumber": r["SequenceNumber"],
                        "subsequenceNumber": 0,
                    },
                }
                for i, r in enumerate(records)
            ],
        }
        raw = {item["recordId"]: item["data"] for item in event["records"]}
        failed: list[tuple[str, str, str]] = []  # (recordId, errorCode, errorMessage)
        ok: dict[tuple[tuple[str, str], ...], list[bytes]] = defaultdict(list)
        if stream.transform is not None:
            self._authorize_transform(stream)
        answer = (
            stream.transform.invoke(event)
            if stream.transform
            else {"records": [{"recordId": k, "result": "Ok", "data": v} for k, v in raw.items()]}
        )
        answered = {}
        for result in answer.get("records", []):
            answered[result.get("recordId")] = result
        for record_id in raw:
            result = answered.get(record_id)
            if result is None or result.get("result") not in RESULTS:
                failed.append(
                    (
                        record_id,
                        "Lambda.MissingRecordId" if result is None else "Lambda.InvalidOutput",
                        "the transform's answer broke Firehose's contract",
                    )
                )
            elif result["result"] == "ProcessingFailed":
                failed.append((record_id, "Lambda.ProcessingFailedStatus", "the transform marked the record failed"))
            elif result["result"] == "Ok":
                keys = (result.get("metadata") or {}).get("partitionKeys") or {}
                try:
                    line = base64.b64decode(result["data"], validate=True)
                except (ValueError, TypeError):
                    failed.append((record_id, "Lambda.InvalidOutput", "the transform returned data that is not base64"))
                    continue
                if not all(isinstance(keys.get(k), str) for k in stream.partition_keys):
                    failed.append((record_id, "DynamicPartitioning.MetadataExtractionFailed", "partition keys missing"))
                    continue
                ok[tuple(sorted(keys.items()))].append(line)
        for keys, lines in ok.items():
            key = (
                _prefix(stream.prefix, dict(keys), now)
                + f"{stream.name}-1-{now:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}.parquet"
            )
            table = pajson.read_json(
                io.BytesIO(b"".join(lines)), parse_options=pajson.ParseOptions(explicit_schema=stream.schema)
            )
            sink = io.BytesIO()
            pq.write_table(table.select(stream.schema.names), sink, compression="snappy")
            self._as(stream).client("s3").put_object(Bucket=stream.bucket, Key=key, Body=sink.getvalue())
            delivery.written.append(key)
        if failed:
            body = "".join(
                json.dumps(
                    {
                        "attemptsMade": 1,
                        "arrivalTimestamp": int(arrival[record_id].timestamp() * 1000),
                        "errorCode": code,
                        "errorMessage": message,
                        "attemptEndingTimestamp": int(now.timestamp() * 1000),
                        "rawData": raw[record_id],
                        "lambdaArn": stream.transform.arn if stream.transform else None,
                    }
                )
                + "\n"
                for record_id, code, message in failed
            )
            key = (
                _prefix(stream.error_prefix, {}, now, "processing-failed")
                + f"{stream.name}-1-{now:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
            )
            self._as(stream).client("s3").put_object(Bucket=stream.bucket, Key=key, Body=body.encode())
            delivery.errors.append(key)
        return delivery
