"""S3 object-created events, read once: keys decoded as S3 encoded them, the version named, test events ignored.

Two shapes arrive: S3's event notification, "Event message structure"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html), and the
EventBridge "Object Created" event (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html);
samples of both in tests/events/s3_*.json and tests/events/eventbridge_s3_*.json.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

# What makes an upload the same upload for Powertools idempotency: a redelivery of one
# notification repeats all four; a second upload of the same key has a new version and sequencer.
IDEMPOTENCY_KEY = "[bucket, key, version_id, sequencer]"


@dataclass(frozen=True)
class ObjectCreated:
    """One created object: bucket, decoded key, version, size in bytes, ETag (as S3 sent it) and sequencer.

    `version_id` is the S3 version the event names, or None in a bucket that never had versioning (S3 then
    leaves `versionId` out or sends `"null"`). `sequencer` is S3's hexadecimal ordering value for the key,
    or the ETag when a record has none.
    """

    bucket: str
    key: str
    version_id: str | None
    size: int
    etag: str
    sequencer: str

    @property
    def upload_id(self) -> str:
        """This upload's stable id: 20 hex digits of SHA-256 of `"<bucket>/<key>@<version or sequencer>"`.

        Two uploads under one key differ in version (in an unversioned bucket, in sequencer); a redelivery
        of one event repeats both, so every output named by it is replaced, never duplicated.
        """
        which = self.version_id or self.sequencer or self.etag
        return hashlib.sha256(f"{self.bucket}/{self.key}@{which}".encode()).hexdigest()[:20]

    def as_dict(self) -> dict[str, Any]:
        """`{"bucket", "key", "version_id", "size", "etag", "sequencer"}`, e.g. for logs and the idempotency key."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ObjectCreated:
        """The object `as_dict` wrote. Raises KeyError for a missing field."""
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})


def decode_key(raw: str) -> str:
    """A notification's `s3.object.key` as the real key.

    S3 form-encodes keys in notifications (application/x-www-form-urlencoded): a space is `+`, a real `+`
    is `%2B`, Korean is UTF-8 `%XX`. Never raises (`urllib.parse.unquote_plus`): a malformed `%` escape is
    kept, invalid UTF-8 becomes U+FFFD.
    """
    return unquote_plus(raw)


def _version(value: object) -> str | None:
    # S3 writes the literal "null" for an object put while versioning was never enabled.
    return str(value) if value and value != "null" else None


def _from_eventbridge(event: Mapping[str, Any]) -> ObjectCreated:
    # EventBridge sends the key as it is (not form-encoded), and `etag`/`version-id` spelled so.
    detail = event["detail"]
    obj = detail["object"]
    return ObjectCreated(
        bucket=detail["bucket"]["name"],
        key=obj["key"],
        version_id=_version(obj.get("version-id")),
        size=int(obj.get("size") or 0),
        etag=obj.get("etag") or "",
        sequencer=obj.get("sequencer") or obj.get("etag") or "",
    )


def objects_created(event: Mapping[str, Any]) -> list[ObjectCreated]:
    """The objects an event says were created, in order; any other event yields nothing.

    `event` is an S3 notification `{"Records": [...]}` (only `ObjectCreated:*` records count; the
    `s3:TestEvent` has no `Records`), or an EventBridge event with `source: aws.s3` and `detail-type:
    Object Created`. A missing `size` counts as 0; a missing or `"null"` version gives `version_id` None.
    Raises KeyError when an object-created record lacks the bucket name or the object key.
    """
    if event.get("source") == "aws.s3":
        return [_from_eventbridge(event)] if event.get("detail-type") == "Object Created" else []
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
                version_id=_version(obj.get("versionId")),
                size=int(obj.get("size") or 0),
                etag=obj.get("eTag") or obj.get("etag") or "",
                # Two uploads of one key differ in sequencer; a redelivery of one upload does not.
                sequencer=obj.get("sequencer") or obj.get("eTag") or "",
            )
        )
    return created
