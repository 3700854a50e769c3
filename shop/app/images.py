"""Product images go straight from the seller's browser to S3, with a presigned POST that fixes
the key, the content type and the largest size; the shop itself never carries the bytes."""

from __future__ import annotations

from typing import Any


class ImageUploads:
    def __init__(self, s3: Any, bucket: str, max_bytes: int, expires_seconds: int = 600) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.max_bytes = max_bytes
        self.expires_seconds = expires_seconds

    def presign(self, key: str, content_type: str) -> dict[str, Any]:
        post: dict[str, Any] = self.s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, self.max_bytes]],
            ExpiresIn=self.expires_seconds,
        )
        return {"key": key, "url": post["url"], "fields": post["fields"]}
