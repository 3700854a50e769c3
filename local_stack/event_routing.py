"""Route events to functions the way the template's `Events` declare, through moto itself.

Every SNS, EventBridge rule and S3 event source gets a tap queue that moto delivers to
(SNS subscription, rule target, bucket notification), so moto does the matching. Draining
a tap rebuilds the payload Lambda would receive and invokes the function asynchronously.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import boto3

from local_stack.functions import Invocation, LocalFunction
from local_stack.iam.evaluate import Caller, evaluate
from local_stack.iam.model import Ledger, Registry, Use
from local_stack.provision import ACCOUNT_ID, REGION, Stack

# The service principal that invokes a function for each kind of event source (Lambda Developer Guide,
# "Granting function access to AWS services"); SAM writes an AWS::Lambda::Permission for each.
SERVICE_OF = {"SNS": "sns.amazonaws.com", "EventBridge": "events.amazonaws.com", "S3": "s3.amazonaws.com"}


@dataclass(frozen=True)
class Tap:
    function: str
    event_name: str
    kind: str
    queue_url: str
    source_arn: str  # the topic, rule or bucket that invokes the function, as aws:SourceArn


def _sns_record(body: Mapping[str, Any], subscription_arn: str) -> dict[str, Any]:
    """SNS's SQS delivery body rebuilt as the record SNS hands Lambda."""
    sns = {
        "Type": body.get("Type", "Notification"),
        "MessageId": body["MessageId"],
        "TopicArn": body["TopicArn"],
        "Subject": body.get("Subject"),
        "Message": body["Message"],
        "Timestamp": body["Timestamp"],
        "SignatureVersion": body.get("SignatureVersion", "1"),
        "Signature": body.get("Signature", "local"),
        "SigningCertUrl": body.get("SigningCertURL", "local"),
        "UnsubscribeUrl": body.get("UnsubscribeURL", "local"),
        "MessageAttributes": body.get("MessageAttributes") or {},
    }
    return {
        "Records": [
            {"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": subscription_arn, "Sns": sns}
        ]
    }


class EventRouter:
    def __init__(
        self,
        session: boto3.Session,
        stack: Stack,
        functions: Mapping[str, LocalFunction],
        registry: Registry | None = None,
        iam_ledger: Ledger | None = None,
    ) -> None:
        self.session = session
        self.registry = registry  # None: deliveries are not checked against the functions' permissions
        self.iam_ledger = iam_ledger if iam_ledger is not None else Ledger()
        self.stack = stack
        self.functions = functions
        self.taps: list[Tap] = []
        self.schedules: dict[str, tuple[str, dict[str, Any]]] = {}
        self._subscriptions: dict[str, str] = {}
        self._bucket_queues: dict[str, list[dict[str, Any]]] = {}
        self.history: list[Invocation] = []
        self._sequence = 0
        self._named_versions: set[tuple[str, str, str]] = set()

    def _tap_queue(self, function: str, event_name: str) -> tuple[str, str]:
        name = f"local-tap-{function}-{event_name}"[:80]
        sqs = self.session.client("sqs")
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        return url, f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"

    def wire(self) -> None:
        resolver = self.stack.resolver
        for logical_id in self.functions:
            for event_name, spec in (self.stack.properties[logical_id].get("Events") or {}).items():
                kind, props = spec["Type"], resolver.resolve(spec.get("Properties") or {})
                wiring: dict[str, Callable[[str, str, dict[str, Any]], None]] = {
                    "SNS": self._wire_sns,
                    "EventBridgeRule": self._wire_rule,
                    "CloudWatchEvent": self._wire_rule,
                    "S3": self._wire_s3,
                    "Schedule": self._wire_schedule,
                    "ScheduleV2": self._wire_schedule,
                }
                if kind not in wiring:
                    raise NotImplementedError(f"{logical_id}.{event_name}: local routing of {kind} events")
                wiring[kind](logical_id, event_name, props)
        sqs = self.session.client("s3")
        for bucket, configurations in self._bucket_queues.items():
            sqs.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configurations}
            )

    def _wire_sns(self, function: str, event_name: str, props: dict[str, Any]) -> None:
        url, arn = self._tap_queue(function, event_name)
        subscription = self.session.client("sns").subscribe(TopicArn=props["Topic"], Protocol="sqs", Endpoint=arn)
        self._subscriptions[url] = subscription["SubscriptionArn"]
        self.taps.append(Tap(function, event_name, "SNS", url, props["Topic"]))

    def _wire_rule(self, function: str, event_name: str, props: dict[str, Any]) -> None:
        url, arn = self._tap_queue(function, event_name)
        events = self.session.client("events")
        rule = f"{self.functions[function].name}-{event_name}"[:64]
        events.put_rule(Name=rule, EventPattern=json.dumps(props["Pattern"]), State="ENABLED")
        events.put_targets(Rule=rule, Targets=[{"Id": "tap", "Arn": arn}])
        self.taps.append(Tap(function, event_name, "EventBridge", url, self._rule_arn(function, event_name)))

    def _wire_s3(self, function: str, event_name: str, props: dict[str, Any]) -> None:
        url, arn = self._tap_queue(function, event_name)
        events = props["Events"] if isinstance(props["Events"], list) else [props["Events"]]
        configuration: dict[str, Any] = {"Id": f"{function}-{event_name}", "QueueArn": arn, "Events": events}
        rules = ((props.get("Filter") or {}).get("S3Key") or {}).get("Rules")
        if rules:
            # CloudFormation's S3Key.Rules is the API's Key.FilterRules.
            configuration["Filter"] = {"Key": {"FilterRules": rules}}
        self._bucket_queues.setdefault(props["Bucket"], []).append(configuration)
        self.taps.append(Tap(function, event_name, "S3", url, f"arn:aws:s3:::{props['Bucket']}"))

    def _rule_arn(self, function: str, event_name: str) -> str:
        """The ARN of the rule SAM makes for the event (logical id `<function><event>`), or the stand-in ARN
        local_stack/iam/resource_policies.py gives it when it is not made locally."""
        rule = f"{function}{event_name}"
        if rule in self.stack.resources:
            return str(self.stack.attr(rule, "Arn"))
        return f"arn:aws:local:{REGION}:{ACCOUNT_ID}:{rule}"

    def _may_deliver(self, tap: Tap) -> bool:
        """Whether the tap's service may invoke the function: its lambda:InvokeFunction judged against the
        function's resource policy with aws:SourceArn and aws:SourceAccount, and recorded in the ledger."""
        if self.registry is None:
            return True
        service = SERVICE_OF[tap.kind]
        function_arn = self.functions[tap.function].arn
        decision = evaluate(
            Caller(arn="", account=ACCOUNT_ID, service=service),
            "lambda:InvokeFunction",
            function_arn,
            resource_policy=self.registry.resource_policy(function_arn),
            context={"aws:SourceArn": tap.source_arn, "aws:SourceAccount": ACCOUNT_ID},
        )
        use = Use(service, "lambda:InvokeFunction", function_arn, decision.allowed, "explicit", decision.reason)
        self.iam_ledger.record(use)
        return decision.allowed

    def _wire_schedule(self, function: str, event_name: str, props: dict[str, Any]) -> None:
        self.schedules[event_name] = (function, props)

    def _payload(self, tap: Tap, body: Mapping[str, Any]) -> Mapping[str, Any] | None:
        if tap.kind == "SNS":
            return _sns_record(body, self._subscriptions[tap.queue_url])
        if tap.kind == "S3":
            if "Records" not in body:
                return None  # s3:TestEvent, sent once when the notification is configured
            # S3 form-encodes keys but leaves "/" alone; moto encodes it as %2F.
            for record in body["Records"]:
                record["s3"]["object"]["key"] = record["s3"]["object"]["key"].replace("%2F", "/")
                self._name_version(record)
        if tap.kind == "EventBridge":
            # moto leaves out the account EventBridge stamps on every event.
            return {"account": ACCOUNT_ID, **body}
        return body

    def _name_version(self, record: dict[str, Any]) -> None:
        """Add the `versionId` and `sequencer` S3 sends and moto leaves out.

        The version is the oldest of the key's versions with the record's ETag not yet named by an earlier
        record, so two uploads of one name each get their own, whenever their events are drained.
        """
        obj = record["s3"]["object"]
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(obj["key"])
        self._sequence += 1
        obj.setdefault("sequencer", f"{self._sequence:016X}")
        listing = self.session.client("s3").list_object_versions(Bucket=bucket, Prefix=key)
        versions = sorted(
            (v for v in listing.get("Versions", []) if v["Key"] == key and v["VersionId"] != "null"),
            key=lambda v: v["LastModified"],
        )
        for version in versions:
            named = (bucket, key, version["VersionId"])
            if version["ETag"].strip('"') == obj.get("eTag", "").strip('"') and named not in self._named_versions:
                self._named_versions.add(named)
                obj["versionId"] = version["VersionId"]
                return

    def deliver_pending(self, max_rounds: int = 50) -> list[Invocation]:
        """Deliver everything waiting, including events the invoked functions cause, until quiet."""
        sqs = self.session.client("sqs")
        delivered: list[Invocation] = []
        for _ in range(max_rounds):
            moved = False
            for tap in self.taps:
                while True:
                    messages = sqs.receive_message(QueueUrl=tap.queue_url, MaxNumberOfMessages=10).get("Messages", [])
                    if not messages:
                        break
                    for message in messages:
                        sqs.delete_message(QueueUrl=tap.queue_url, ReceiptHandle=message["ReceiptHandle"])
                        payload = self._payload(tap, json.loads(message["Body"]))
                        if payload is not None and self._may_deliver(tap):
                            moved = True
                            delivered.append(self.functions[tap.function].invoke_async(payload, self.session))
            if not moved:
                break
        self.history.extend(delivered)
        return delivered

    def discard_pending(self) -> None:
        """Drop what is waiting in every tap, as if those events had been delivered elsewhere."""
        sqs = self.session.client("sqs")
        for tap in self.taps:
            sqs.purge_queue(QueueUrl=tap.queue_url)

    def fire_schedule(self, event_name: str, when: datetime | None = None) -> Invocation:
        """What EventBridge Scheduler sends at the scheduled time, sent now."""
        function, props = self.schedules[event_name]
        moment = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        payload = props.get("Input")
        event = (
            json.loads(payload)
            if isinstance(payload, str)
            else {
                "version": "0",
                "id": f"local-{event_name}-{moment}",
                "detail-type": "Scheduled Event",
                "source": "aws.scheduler" if "ScheduleExpressionTimezone" in props else "aws.events",
                "account": ACCOUNT_ID,
                "time": moment,
                "region": REGION,
                "resources": [f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/{event_name}"],
                "detail": {},
            }
        )
        invocation = self.functions[function].invoke_async(event, self.session)
        self.history.append(invocation)
        return invocation
