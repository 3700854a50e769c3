"""S3 event notifications, read once: keys decoded as S3 encoded them, test events ignored."""

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
    bucket: str
    key: str
    size: int
    etag: str
    sequencer: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def decode_key(raw: str) -> str:
    """S3 form-encodes keys in notifications: a space is '+', a real '+' is %2B, Korean is %XX."""
    return unquote_plus(raw)


def objects_created(event: Mapping[str, Any]) -> list[ObjectCreated]:
    """The ObjectCreated records of a notification; `s3:TestEvent` and other records yield nothing."""
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
