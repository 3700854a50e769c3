"""S3 event notifications, read once: keys decoded as S3 encoded them, test events ignored.

The format is S3's "Event message structure"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html);
samples in tests/events/s3_*.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

# What makes an upload the same upload for Powertools idempotency: a redelivery of one
# notification repeats all three; a second upload of the same key has a new sequencer.
IDEMPOTENCY_KEY = "[bucket, key, sequencer]"


@dataclass(frozen=True)
class ObjectCreated:
    """One created object: bucket, decoded key, size in bytes, ETag (as S3 sent it) and the event's sequencer.

    `sequencer` is S3's hexadecimal ordering value for the key, or the ETag when a record has none.
    """

    bucket: str
    key: str
    size: int
    etag: str
    sequencer: str

    def as_dict(self) -> dict[str, Any]:
        """`{"bucket", "key", "size", "etag", "sequencer"}`, e.g. for logs and the idempotency key."""
        return dict(self.__dict__)


def decode_key(raw: str) -> str:
    """A notification's `s3.object.key` as the real key.

    S3 form-encodes keys in notifications (application/x-www-form-urlencoded): a space is `+`, a real `+`
    is `%2B`, Korean is UTF-8 `%XX`. Never raises (`urllib.parse.unquote_plus`): a malformed `%` escape is
    kept, invalid UTF-8 becomes U+FFFD.
    """
    return unquote_plus(raw)


def objects_created(event: Mapping[str, Any]) -> list[ObjectCreated]:
    """The `ObjectCreated:*` records of an S3 notification, in order; other records yield nothing.

    `event` is the Lambda payload `{"Records": [...]}`; the `s3:TestEvent` (no `Records`) and any other
    `eventName` give no objects. A missing `size` counts as 0. Raises KeyError when an ObjectCreated record
    lacks `s3`, `s3.bucket.name`, `s3.object` or `s3.object.key`.
    """
    created = []
    for record in event.get("Records") or []:
        if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        s3 = record["s3"]
        obj = s3["object"]
        created.append(
            ObjectCreated(
                bucket=s3["bucket"]["name"],
                key=decode_key(obj["key"]),
                size=int(obj.get("size") or 0),
                etag=obj.get("eTag") or obj.get("etag") or "",
                # Two uploads of one key differ in sequencer; a redelivery of one upload does not.
                sequencer=obj.get("sequencer") or obj.get("eTag") or "",
            )
        )
    return created
