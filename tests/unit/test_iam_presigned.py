"""A presigned S3 URL is authorised when it is used, as its signer (local_stack/iam/presigned.py)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_stack.iam.model import Ledger, PolicyDocument, Principal
from local_stack.iam.presigned import authorize_presigned, bucket_and_key, signer_key

REGION, ACCOUNT = "ap-northeast-2", "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/shoplake-dev-ReaderRole"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/shoplake-dev-ReaderRole/Reader"
RAW_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::lake/raw/*"}]}  # fmt: skip
READER = Principal("Reader", "shoplake-dev-ReaderRole", ROLE, (("ReaderPolicy", RAW_ONLY),), None, SESSION)


class _Registry:
    def by_access_key(self, access_key: str) -> Principal | None:
        return READER if access_key == "ASIAREADER" else None

    def is_harness(self, access_key: str) -> bool:
        return access_key == "testing"

    def resource_policy(self, resource_arn: str) -> PolicyDocument | None:
        return None


def _presigned(key: str, signer: str = "ASIAREADER", **kw: Any) -> str:
    s3 = boto3.client("s3", region_name=REGION, endpoint_url="http://127.0.0.1:5000", aws_access_key_id=signer,
                      aws_secret_access_key="s", aws_session_token="t", **kw)  # fmt: skip
    return str(s3.generate_presigned_url("get_object", Params={"Bucket": "lake", "Key": key}))


def test_the_signer_key_bucket_and_key_are_read_from_the_url() -> None:
    url = _presigned("raw/a b.json")
    assert signer_key(url) == "ASIAREADER"
    assert bucket_and_key(url) == ("lake", "raw/a b.json")


def test_a_presigned_url_within_its_signers_grants_is_allowed_and_recorded() -> None:
    ledger = Ledger()
    authorize_presigned(_Registry(), ledger, _presigned("raw/orders.json"))
    assert [(u.principal, u.action, u.allowed) for u in ledger.uses] == [("Reader", "s3:GetObject", True)]


def test_a_presigned_url_outside_its_signers_grants_is_refused() -> None:
    # GIVEN a URL the reader signed for an object its role may not read (signing itself needs no permission)
    ledger = Ledger()
    # WHEN it is used THEN S3 refuses it as the signer
    with pytest.raises(ClientError, match="AccessDenied"):
        authorize_presigned(_Registry(), ledger, _presigned("private/secret.csv"))
    assert [(u.principal, u.allowed) for u in ledger.uses] == [("Reader", False)]


def test_a_url_signed_with_a_key_no_principal_holds_is_refused() -> None:
    with pytest.raises(ClientError, match="AccessDenied"):
        authorize_presigned(_Registry(), Ledger(), _presigned("raw/orders.json", signer="ASIASTALE"))
