"""The template's KMS aliases, as the key each points at (local_stack/iam/keys.py), on a stand-in stack."""

from __future__ import annotations

from typing import Any

from local_stack.iam.keys import encrypting_keys, key_aliases

REGION, ACCOUNT = "ap-northeast-2", "123456789012"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"


class FakeStack:
    """The little of local_stack.provision.Stack keys.py reads: resolved properties, Ref and Fn::GetAtt."""

    def __init__(self, resources: dict[str, tuple[str, dict[str, Any]]]) -> None:
        self.resources = resources
        self.properties = {logical_id: props for logical_id, (_, props) in resources.items()}

    def logical_ids_of_type(self, kind: str) -> list[str]:
        return [logical_id for logical_id, (k, _) in self.resources.items() if k == kind]

    def ref(self, logical_id: str) -> str:
        return {"LakeKey": KEY_ID, "Lake": "lake"}[logical_id]

    def attr(self, logical_id: str, name: str) -> str:
        assert (logical_id, name) == ("LakeKey", "Arn")
        return KEY


STACK = FakeStack({
    "LakeKey": ("AWS::KMS::Key", {"KeyPolicy": {}}),
    "LakeKeyAlias": ("AWS::KMS::Alias", {"AliasName": "alias/lake", "TargetKeyId": KEY_ID}),
    "AwsManaged": ("AWS::KMS::Alias", {"AliasName": "alias/other", "TargetKeyId": "alias/aws/s3"}),
    "Lake": ("AWS::S3::Bucket", {"BucketEncryption": {"ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/lake"}}]}}),
})  # fmt: skip


def test_each_alias_by_name_and_by_arn_points_at_its_keys_arn():
    assert key_aliases(STACK) == {"alias/lake": KEY, f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/lake": KEY}  # type: ignore[arg-type]


def test_a_bucket_encrypted_by_alias_is_encrypted_by_the_key_it_points_at():
    assert encrypting_keys(STACK) == {"arn:aws:s3:::lake": KEY}  # type: ignore[arg-type]
