"""The template's customer managed KMS keys: which resources each encrypts, and each key's policy.

Implied KMS (local_stack/iam/requests.py): a call on an SSE-KMS bucket, an encrypted topic or queue
also needs the KMS actions the service makes for the caller, allowed by the caller's role *and* the
key policy. Source of the properties: CloudFormation's `AWS::S3::Bucket` `BucketEncryption`
(`KMSMasterKeyID` with `SSEAlgorithm: aws:kms`), `AWS::SNS::Topic` and `AWS::SQS::Queue`
`KmsMasterKeyId`, `AWS::SecretsManager::Secret` `KmsKeyId`, `AWS::KMS::Key` `KeyPolicy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from local_stack.iam.model import PolicyDocument

if TYPE_CHECKING:
    from local_stack.provision import Stack


def _own_key_arn(stack: Stack, text: str) -> str | None:
    """A key given as an ARN or as one of the stack's key ids, as the key's ARN."""
    if text.startswith("arn:aws:kms:") and ":key/" in text:
        return text
    for logical_id in stack.logical_ids_of_type("AWS::KMS::Key"):
        arn = stack.attr(logical_id, "Arn")
        if text in (arn, stack.ref(logical_id), arn.rsplit("/", 1)[-1]):
            return arn
    return None


def _key_arn(stack: Stack, key: Any) -> str | None:
    """A key given as an ARN, a key id, an alias name or alias ARN, as the key's ARN (None if none of the
    stack's: an AWS managed alias such as "alias/aws/s3")."""
    text = str(key)
    if text.startswith("alias/") or ":alias/" in text:
        return key_aliases(stack).get(text)
    return _own_key_arn(stack, text)


def key_aliases(stack: Stack) -> dict[str, str]:
    """`{alias name ("alias/x") and alias ARN: the ARN of the key it points at}`, for every AWS::KMS::Alias
    of the stack whose TargetKeyId is one of its keys (CloudFormation: `AliasName`, `TargetKeyId` a key id
    or key ARN)."""
    found = {}
    for logical_id in stack.logical_ids_of_type("AWS::KMS::Alias"):
        props = stack.properties[logical_id]
        if key := _own_key_arn(stack, str(props["TargetKeyId"])):
            name = str(props["AliasName"])
            found[name] = key
            found[f"{key.split(':key/', 1)[0]}:{name}"] = key  # the alias ARN, in the key's region and account
    return found


def _encryption_key(kind: str, props: Mapping[str, Any]) -> Any:
    if kind == "AWS::S3::Bucket":
        rules = (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
        for rule in rules:
            default = rule.get("ServerSideEncryptionByDefault") or {}
            if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse"):
                return default.get("KMSMasterKeyID")
        return None
    return props.get("KmsMasterKeyId")


def _resource_arn(stack: Stack, kind: str, logical_id: str) -> str:
    if kind == "AWS::S3::Bucket":
        return f"arn:aws:s3:::{stack.ref(logical_id)}"
    if kind == "AWS::SNS::Topic":
        return stack.ref(logical_id)
    return stack.attr(logical_id, "Arn")


def encrypting_keys(stack: Stack) -> dict[str, str]:
    """`{bucket, topic, queue or secret ARN: the customer managed key ARN that encrypts it}`."""
    found = {}
    for kind in ("AWS::S3::Bucket", "AWS::SNS::Topic", "AWS::SQS::Queue"):
        for logical_id in stack.logical_ids_of_type(kind):
            props = stack.properties[logical_id]  # resolved when it was created
            key = _encryption_key(kind, props)
            if key and (arn := _key_arn(stack, key)):
                found[_resource_arn(stack, kind, logical_id)] = arn
    for logical_id in stack.logical_ids_of_type("AWS::SecretsManager::Secret"):
        props = stack.properties[logical_id]
        if props.get("KmsKeyId") and (arn := _key_arn(stack, props["KmsKeyId"])):
            secret = stack.ref(logical_id)
            found[secret] = arn
            # a secret asked for by name is authorised as its ARN with the six random characters unknown
            found[f"{secret.rsplit(':', 1)[0]}:{props.get('Name', logical_id)}-??????"] = arn
    return found


def key_policies(stack: Stack) -> dict[str, PolicyDocument]:
    """`{key ARN: its key policy}`, resolved, for every key the local stack made."""
    return {
        stack.attr(logical_id, "Arn"): stack.properties[logical_id]["KeyPolicy"]
        for logical_id in stack.logical_ids_of_type("AWS::KMS::Key")
    }
