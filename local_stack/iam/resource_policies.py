"""The resource-based policies of the translated template, resolved, by the ARN they guard.

Bucket policies stay out of moto (its object-read check has no principal and no context, so the
TLS-only deny would refuse every read, docs/design/iam-enforced-locally.md section 2); topic policies
and Lambda permissions are read here the same way, for the local IAM evaluator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from local_stack.iam.model import PolicyDocument

if TYPE_CHECKING:
    from local_stack.provision import Stack


def _permission_statement(props: Mapping[str, Any], function_arn: str, sid: str) -> dict[str, Any]:
    """An `AWS::Lambda::Permission` as the statement Lambda adds to the function's policy.

    SourceArn and SourceAccount become `AWS:SourceArn`/`AWS:SourceAccount` conditions, FunctionUrlAuthType a
    `lambda:FunctionUrlAuthType` StringEquals, and `InvokedViaFunctionUrl: true` a `lambda:InvokedViaFunctionUrl`
    Bool, as Lambda writes them into the function's policy (GetPolicy).
    """
    principal = str(props["Principal"])
    who = {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal}
    condition: dict[str, dict[str, Any]] = {}
    if "SourceArn" in props:
        condition["ArnLike"] = {"AWS:SourceArn": props["SourceArn"]}
    if "SourceAccount" in props:
        condition.setdefault("StringEquals", {})["AWS:SourceAccount"] = props["SourceAccount"]
    # A function URL's permission holds only for calls through the URL (CloudFormation, "AWS::Lambda::Permission"
    # FunctionUrlAuthType and InvokedViaFunctionUrl; Lambda Developer Guide, "Control access to function URLs")
    if "FunctionUrlAuthType" in props:
        condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = props["FunctionUrlAuthType"]
    if str(props.get("InvokedViaFunctionUrl", "")).lower() == "true":
        condition["Bool"] = {"lambda:InvokedViaFunctionUrl": "true"}
    statement = {"Sid": sid, "Effect": "Allow", "Principal": who, "Action": props["Action"], "Resource": function_arn}
    return {**statement, "Condition": condition} if condition else statement


def resource_policies(stack: Stack) -> dict[str, PolicyDocument]:
    """`{resource ARN: policy document}` for every bucket policy, topic policy and Lambda permission."""
    found: dict[str, Any] = {}
    pseudo = stack.resolver.pseudo
    stand_in = f"arn:aws:local:{pseudo['AWS::Region']}:{pseudo['AWS::AccountId']}:"

    def attr(logical_id: str, name: str) -> str:
        # SAM's own resources (an alarm's EventBridge rule) are not made locally: a stand-in ARN names them
        return stack.attr(logical_id, name) if logical_id in stack.resources else stand_in + logical_id

    resolver = replace(stack.resolver, attr_of=attr)
    for logical_id, spec in stack.translated["Resources"].items():
        kind = spec["Type"]
        if kind not in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::Lambda::Permission"):
            continue
        if "Condition" in spec and not resolver.condition(spec["Condition"]):
            continue
        props = resolver.resolve(spec.get("Properties") or {})
        if kind == "AWS::S3::BucketPolicy":
            found[f"arn:aws:s3:::{props['Bucket']}"] = props["PolicyDocument"]
        elif kind == "AWS::SNS::TopicPolicy":
            for topic in props["Topics"]:
                found[topic] = props["PolicyDocument"]
        else:
            name = str(props["FunctionName"])
            arn = name if name.startswith("arn:") else (
                f"arn:aws:lambda:{pseudo['AWS::Region']}:{pseudo['AWS::AccountId']}:function:{name}")  # fmt: skip
            policy = found.setdefault(arn, {"Version": "2012-10-17", "Statement": []})
            policy["Statement"].append(_permission_statement(props, arn, logical_id))
    return found
