"""A presigned S3 URL authorised, when it is used, as the principal who signed it.

S3 authorises a presigned request when it arrives, with the permissions of the credentials that signed
it (S3 User Guide, "Sharing objects with presigned URLs": "limited by the permissions of the user who
created it"); signing needs no permission at all. The local stack follows such URLs over plain HTTP to
moto, which the botocore hook never sees, so whoever follows one calls `authorize_presigned` first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from html import escape
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.exceptions import ClientError
from moto.s3.responses import S3Response

from local_stack.iam.hook import authorize, not_authorized
from local_stack.iam.model import Ledger, Registry, Use
from local_stack.iam.requests import KeyOf, checks

# The presigned operations the local stack follows, by HTTP method (SigV4 query auth names no operation).
OPERATIONS = {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject"}


def signer_key(url: str) -> str:
    """The access key that signed `url`: SigV4's `X-Amz-Credential` (`<key>/<date>/<region>/s3/aws4_request`)
    or SigV2's `AWSAccessKeyId`. Raises ValueError on a URL that is not presigned."""
    query = parse_qs(urlsplit(url).query)
    if "X-Amz-Credential" in query:
        return query["X-Amz-Credential"][0].split("/", 1)[0]
    if "AWSAccessKeyId" in query:
        return query["AWSAccessKeyId"][0]
    raise ValueError(f"not a presigned S3 URL: {url}")


def bucket_and_key(url: str) -> tuple[str, str]:
    """`(bucket, key)` of a path-style (`http://host/bucket/key`) or virtual-hosted (`bucket.s3...`) URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    path = unquote(parts.path.lstrip("/"))
    if ".s3." in host or ".s3-" in host:
        return host.split(".s3", 1)[0], path
    bucket, _, key = path.partition("/")
    return bucket, key


def authorize_presigned(
    registry: Registry, ledger: Ledger, url: str, *, method: str = "GET", keys: Mapping[str, str] | None = None
) -> None:
    """Authorise the S3 request `url` presigns, as its signer, and record it in `ledger`.

    `keys` maps a bucket ARN to the customer managed KMS key encrypting it (the implied kms:Decrypt).
    The harness's URLs pass (recorded as the harness's). Raises ClientError "AccessDenied" with AWS's
    message when the signer may not, or when no principal holds the signing key.
    """
    key = signer_key(url)
    operation = OPERATIONS[method.upper()]
    if registry.is_harness(key):
        ledger.record(Use("harness", f"s3:{operation}", "*", True, "harness"))
        return
    principal = registry.by_access_key(key)
    if principal is None:
        ledger.record(Use(f"unknown key {key}", f"s3:{operation}", "*", False, "explicit", "unknown key"))
        message = not_authorized(key, f"s3:{operation}", "*", "because the signing key is no principal's")
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, operation)
    bucket, name = bucket_and_key(url)
    params = {"Bucket": bucket, "Key": name}
    region = parse_qs(urlsplit(url).query).get("X-Amz-Credential", ["/x/ap-northeast-2"])[0].split("/")[2]
    account = principal.role_arn.split(":")[4]
    found = checks("s3", operation, params, region=region, account=account, key_of=(keys or {}).get)
    for check in found:
        authorize(registry, ledger, principal, check.action, check.resource, check.context, region=region)


@contextmanager
def presigned_requests_authorized(registry: Registry, ledger: Ledger, key_of: KeyOf | None = None) -> Iterator[None]:
    """While entered, moto's S3 authorises every presigned object request it answers, as its signer.

    Whoever follows a presigned URL (a browser, `requests`, urllib) reaches moto without botocore, so
    the check sits where moto answers an object request; a refused one gets S3's 403 AccessDenied.
    Patches `moto.s3.responses.S3Response.key_response` (moto 5, pinned) and restores it on exit.
    """
    original = S3Response.key_response

    def key_response(self: Any, request: Any, full_url: str, headers: Any) -> Any:
        method = str(request.method).upper()
        query = parse_qs(urlsplit(full_url).query)
        if method in OPERATIONS and ("X-Amz-Credential" in query or "AWSAccessKeyId" in query):
            try:
                authorize_presigned(registry, ledger, full_url, method=method, keys=_Keys(key_of))
            except ClientError as error:
                message = escape(error.response["Error"]["Message"])
                body = f"<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
                return 403, {"Content-Type": "application/xml"}, body
        return original(self, request, full_url, headers)

    S3Response.key_response = key_response  # type: ignore[method-assign]
    try:
        yield
    finally:
        S3Response.key_response = original  # type: ignore[method-assign]


class _Keys(dict[str, str]):
    """A `key_of` function as the mapping `authorize_presigned` takes."""

    def __init__(self, key_of: KeyOf | None) -> None:
        super().__init__()
        self._key_of = key_of

    def get(self, key: str, default: Any = None) -> Any:
        found = self._key_of(key) if self._key_of else None
        return default if found is None else found
