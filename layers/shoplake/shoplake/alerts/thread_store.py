"""Where each happening's thread is kept: one DynamoDB item per thread key, written only conditionally.

The table (`AlertThreadTable` in template.yaml; name in `THREAD_TABLE_NAME`) has the partition key
`thread_key` (S) and the TTL attribute `expires_at` (N, epoch seconds). A thread's item holds:

- `thread`: the `threads.Thread` as JSON text (its pending Slack actions included: the outbox);
- `version` (N): raised by every save; a save names the version it read (optimistic concurrency), and the
  first save of a key requires that no item exists (`attribute_not_exists`), so two first events make one
  thread;
- `lease_owner` (S) and `lease_until` (N): who is performing the pending Slack actions, and until when;
- `sweep` (BOOL): whether the five-minute sweep must look at it (open, flapping or with pending actions).

A Slack request seen by the interactivity endpoint is an item `slack-request#<signature>` in the same table,
expiring with its `expires_at`. Conditional writes: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from shoplake.alerts.threads import Thread

REQUEST_PREFIX = "slack-request#"
KEY = "thread_key"
# DynamoDB's limit on a partition key's value (Developer Guide, "Partition key length").
KEY_MAX_BYTES = 2048


class VersionConflictError(RuntimeError):
    """Another writer saved the thread since it was read (or created it first); read it again and retry."""


@dataclass(frozen=True)
class StoredThread:
    """A thread as stored: its `version`, the lease on its pending actions (`lease_owner`, `lease_until`
    in epoch seconds; None when nobody holds one), and when DynamoDB may delete it (`expires_at`, epoch s)."""

    thread: Thread
    version: int
    lease_owner: str | None = None
    lease_until: float | None = None
    expires_at: float | None = None

    def leased_by_other(self, owner: str, now: float) -> bool:
        """True while another invocation's lease runs: it is posting this thread's pending actions."""
        return (
            self.lease_owner is not None
            and self.lease_owner != owner
            and self.lease_until is not None
            and now < self.lease_until
        )


class ThreadStore:
    """The threads in a DynamoDB table (`table`: a boto3 `dynamodb.Table` resource); items expire `ttl_s`
    seconds after their last save."""

    def __init__(self, table: Any, *, ttl_s: float) -> None:
        self.table = table
        self.ttl_s = ttl_s

    def get(self, key: str) -> StoredThread | None:
        """The thread stored under `key` (a strongly consistent read), or None. Errors of boto3 propagate."""
        if len(key.encode("utf-8")) > KEY_MAX_BYTES:  # DynamoDB refuses such a key: no thread can have it
            return None
        item = self.table.get_item(Key={KEY: key}, ConsistentRead=True).get("Item")
        return _stored(item) if item else None

    def save(
        self,
        thread: Thread,
        *,
        version: int | None,
        now: float,
        lease_owner: str | None = None,
        lease_until: float | None = None,
    ) -> StoredThread:
        """Write `thread` if the stored version is still `version` (None: if no item exists); returns it as
        stored, with the next version. Raises VersionConflictError when the condition fails; other boto3 errors
        propagate."""
        new_version = (version or 0) + 1
        item: dict[str, Any] = {
            KEY: thread.key,
            "version": new_version,
            "thread": json.dumps(thread.to_dict(), separators=(",", ":")),
            "expires_at": int(now + self.ttl_s),
            "sweep": thread.is_open or thread.flapping or bool(thread.pending),
        }
        if lease_owner is not None and lease_until is not None:
            item["lease_owner"] = lease_owner
            item["lease_until"] = Decimal(str(round(lease_until, 3)))
        condition = Attr(KEY).not_exists() if version is None else Attr("version").eq(version)
        try:
            self.table.put_item(Item=item, ConditionExpression=condition)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise VersionConflictError(f"thread {thread.key!r} changed since version {version}") from None
            raise
        return StoredThread(
            thread, new_version, lease_owner if lease_until else None, lease_until, float(item["expires_at"])
        )

    def remember_request(self, signature: str, expires_at: int) -> bool:
        """Record a Slack request by its `signature` until `expires_at` (epoch seconds); False when it was
        already recorded (a replay). Other boto3 errors propagate."""
        try:
            self.table.put_item(
                Item={KEY: REQUEST_PREFIX + signature, "expires_at": int(expires_at)},
                ConditionExpression=Attr(KEY).not_exists(),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def open_threads(self) -> list[StoredThread]:
        """Every thread the sweep must look at (`sweep` true), every page of a filtered scan; request records
        are never among them."""
        condition = Attr("sweep").eq(True) & ~Attr(KEY).begins_with(REQUEST_PREFIX)
        found: list[StoredThread] = []
        arguments: dict[str, Any] = {"FilterExpression": condition, "ConsistentRead": True}
        while True:
            page = self.table.scan(**arguments)
            found += [_stored(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _stored(item: dict[str, Any]) -> StoredThread:
    lease_until = item.get("lease_until")
    return StoredThread(
        thread=Thread.from_dict(json.loads(item["thread"])),
        version=int(item["version"]),
        lease_owner=item.get("lease_owner"),
        lease_until=float(lease_until) if lease_until is not None else None,
        expires_at=float(item["expires_at"]) if item.get("expires_at") is not None else None,
    )
