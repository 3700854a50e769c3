"""The S3 rows of the request table (local_stack/iam/requests.py): object and bucket calls as IAM checks.

Sources: S3 "Actions, resources, and condition keys" (Service Authorization Reference), the S3 API
Reference "Permissions" section of each operation, and the S3 User Guide on SSE-KMS. S3 ARNs carry no
region or account. Imported by local_stack/iam/requests.py, whose `rule` table these register in.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

from local_stack.iam.evaluate import ContextValue
from local_stack.iam.requests import Check, Params, Where, key_checks, kms_checks, rule


def _bucket(name: str) -> str:
    return f"arn:aws:s3:::{name}"


def _object(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def _versioned(action: str, params: Params) -> str:
    return action + "Version" if params.get("VersionId") else action


@rule("s3", "GetObject", actions=("s3:GetObject", "s3:GetObjectVersion", "kms:Decrypt"))
def _get_object(p: Params, w: Where) -> list[Check]:
    check = Check(_versioned("s3:GetObject", p), _object(p["Bucket"], p["Key"]))
    return [check, *kms_checks(w, _bucket(p["Bucket"]), "kms:Decrypt")]


@rule("s3", "HeadObject", actions=("s3:GetObject", "s3:GetObjectVersion"))
def _head_object(p: Params, w: Where) -> list[Check]:
    return [Check(_versioned("s3:GetObject", p), _object(p["Bucket"], p["Key"]))]


def _upload_key(p: Params, w: Where) -> str | None:
    """The key an upload encrypts with: its own `SSEKMSKeyId`, none for SSE-S3 or the AWS managed key, else
    the bucket's default (S3 User Guide, "Specifying server-side encryption with AWS KMS (SSE-KMS)")."""
    encryption = p.get("ServerSideEncryption")
    if encryption == "AES256":
        return None
    if p.get("SSEKMSKeyId"):
        named = str(p["SSEKMSKeyId"])
        return None if named.removeprefix(w.arn("kms", "")).startswith("alias/aws/") else named
    return None if encryption else w.key_of(_bucket(p["Bucket"]))  # aws:kms with no key id: aws/s3, AWS managed


_ACL = ("ACL", "GrantFullControl", "GrantRead", "GrantReadACP", "GrantWriteACP")
_PUT = ("s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectAcl", "kms:GenerateDataKey")


def _write(p: Params, w: Where, *kms_actions: str) -> list[Check]:
    """A write of an object, with the tag set and ACL it sets (S3 API Reference, PutObject, "Permissions")."""
    target = _object(p["Bucket"], p["Key"])
    found = [Check("s3:PutObject", target)]
    if p.get("Tagging"):
        found.append(Check("s3:PutObjectTagging", target))
    if any(p.get(grant) for grant in _ACL):
        found.append(Check("s3:PutObjectAcl", target))
    key = _upload_key(p, w)
    return found + key_checks(w, key, *kms_actions) if key else found


@rule("s3", "PutObject", actions=_PUT)
def _put_object(p: Params, w: Where) -> list[Check]:
    return _write(p, w, "kms:GenerateDataKey")


@rule("s3", "UploadPart", "CompleteMultipartUpload", actions=("s3:PutObject", "kms:GenerateDataKey"))
def _put_part(p: Params, w: Where) -> list[Check]:
    # The upload's key is not among a part's parameters: the bucket's default stands for it.
    return [
        Check("s3:PutObject", _object(p["Bucket"], p["Key"])),
        *kms_checks(w, _bucket(p["Bucket"]), "kms:GenerateDataKey"),
    ]


@rule("s3", "CreateMultipartUpload", actions=(*_PUT, "kms:Decrypt"))
def _create_multipart(p: Params, w: Where) -> list[Check]:
    # A multipart upload into an SSE-KMS bucket needs kms:Decrypt too (S3 user guide, "Using SSE-KMS").
    return _write(p, w, "kms:GenerateDataKey", "kms:Decrypt")


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


_COPY = ("s3:GetObject", "s3:GetObjectVersion", *_PUT, "kms:Decrypt")


@rule("s3", "CopyObject", "UploadPartCopy", actions=_COPY)
def _copy_object(p: Params, w: Where) -> list[Check]:
    bucket, key, version = _copy_source(p)
    read = Check("s3:GetObjectVersion" if version else "s3:GetObject", _object(bucket, key))
    return [read, *kms_checks(w, _bucket(bucket), "kms:Decrypt"), *_write(p, w, "kms:GenerateDataKey")]


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
