"""Create in moto the resources template.yaml declares, in dependency order.

Each supported resource type has one creator; types with nothing to emulate locally
(log groups, Chatbot, ...) get a stand-in physical id so that references to
them still resolve, and are listed in `Stack.not_emulated`. IAM roles and policies are
those of the template as aws-sam-translator expands it (`local_stack.iam.sam_iam`), so
the roles SAM generates exist too (`local_stack.iam.roles`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from local_stack.iam.model import Ledger
from local_stack.iam.nested import create_task_roles
from local_stack.iam.provisioning import as_custom_resource
from local_stack.iam.roles import RoleBook
from local_stack.iam.sam_iam import generated_iam, principal_roles, translate
from local_stack.template import Resolver, TemplateError, function_properties, references

ACCOUNT_ID = "123456789012"
REGION = "ap-northeast-2"


@dataclass
class Created:
    ref: str
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Stack:
    template: Mapping[str, Any]
    resolver: Resolver
    base_dir: Path
    resources: dict[str, Created] = field(default_factory=dict)
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_emulated: dict[str, str] = field(default_factory=dict)
    translated: Mapping[str, Any] = field(default_factory=dict)  # the template as CloudFormation gets it
    roles: RoleBook = field(default_factory=lambda: RoleBook(""))
    principal_roles: dict[str, str] = field(default_factory=dict)  # principal logical id -> role logical id
    provisioning_ledger: Ledger = field(default_factory=Ledger)  # what custom resources did, as their roles

    def ref(self, logical_id: str) -> str:
        function, _, published = logical_id.partition(".")
        if published in ("Version", "Alias"):  # SAM's AutoPublishAlias: the function's version or alias
            return f"{self.resources[function].attrs['Arn']}:{'1' if published == 'Version' else 'live'}"
        return self.resources[logical_id].ref

    def attr(self, logical_id: str, name: str) -> str:
        created = self.resources[logical_id]
        if name not in created.attrs:
            raise TemplateError(f"{logical_id} has no attribute {name} in the local stack")
        return created.attrs[name]

    def outputs(self) -> dict[str, Any]:
        return {
            name: self.resolver.resolve(spec["Value"])
            for name, spec in (self.template.get("Outputs") or {}).items()
            if "Condition" not in spec or self.resolver.condition(spec["Condition"])
        }

    def logical_ids_of_type(self, resource_type: str) -> list[str]:
        return [
            logical_id
            for logical_id in self.resources
            if logical_id in self.template["Resources"]  # not SAM's generated resources (a function's Url)
            and self.template["Resources"][logical_id]["Type"] == resource_type
        ]


Creator = Callable[[boto3.Session, str, dict[str, Any]], Created]


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


def _kms_key(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    key = session.client("kms").create_key(Description=props.get("Description", logical_id))["KeyMetadata"]
    return Created(ref=key["KeyId"], attrs={"Arn": key["Arn"], "KeyId": key["KeyId"]})


def _kms_alias(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    session.client("kms").create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    return Created(ref=props["AliasName"])


def _sns_topic(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    attributes = {"KmsMasterKeyId": props["KmsMasterKeyId"]} if "KmsMasterKeyId" in props else {}
    arn = session.client("sns").create_topic(Name=props.get("TopicName", logical_id), Attributes=attributes)["TopicArn"]
    return Created(ref=arn, attrs={"TopicArn": arn, "TopicName": arn.rsplit(":", 1)[-1]})


def _sqs_queue(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    name = props.get("QueueName", logical_id)
    attributes = {
        k: str(props[k])
        for k in ("MessageRetentionPeriod", "VisibilityTimeout", "KmsMasterKeyId", "DelaySeconds")
        if k in props
    }
    url = session.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return Created(ref=url, attrs={"Arn": _arn("sqs", name), "QueueName": name, "QueueUrl": url})


def _dynamodb_table(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    client = session.client("dynamodb")
    name = props.get("TableName", logical_id)
    description = client.create_table(
        TableName=name,
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
    )["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    return Created(ref=name, attrs={"Arn": description["TableArn"]})


def _s3_bucket(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    name = props.get("BucketName", logical_id.lower())
    s3 = session.client("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    if (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled":
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return Created(ref=name, attrs={"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"})


def _alarm(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    allowed = {
        "AlarmName", "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic", "Period",
        "EvaluationPeriods", "Threshold", "ComparisonOperator", "TreatMissingData", "AlarmActions", "OKActions",
    }  # fmt: skip
    args = {k: v for k, v in props.items() if k in allowed}
    args["AlarmName"] = args.get("AlarmName", logical_id)
    session.client("cloudwatch").put_metric_alarm(**args)
    return Created(ref=args["AlarmName"], attrs={"Arn": _arn("cloudwatch", f"alarm:{args['AlarmName']}")})


def _function(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    # Functions run in-process (see `local_stack.functions`); here they only get their names.
    name = props.get("FunctionName", logical_id)
    return Created(ref=name, attrs={"Arn": _arn("lambda", f"function:{name}")})


def _layer(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    arn = _arn("lambda", f"layer:{props.get('LayerName', logical_id)}:1")
    return Created(ref=arn, attrs={"Arn": arn})


def _glue_database(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    session.client("glue").create_database(DatabaseInput=props["DatabaseInput"])
    return Created(ref=props["DatabaseInput"]["Name"])


def _glue_table(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    session.client("glue").create_table(DatabaseName=props["DatabaseName"], TableInput=props["TableInput"])
    return Created(ref=props["TableInput"]["Name"])


def _glue_job(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    allowed = {"Name", "Description", "Role", "Command", "DefaultArguments", "GlueVersion", "Timeout", "MaxRetries"}
    session.client("glue").create_job(**{k: v for k, v in props.items() if k in allowed})
    return Created(ref=props["Name"])


def _secret(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    generated = props.get("GenerateSecretString") or {}
    value = props.get("SecretString") or secrets.token_urlsafe(int(generated.get("PasswordLength", 32)))
    arn = session.client("secretsmanager").create_secret(Name=props.get("Name", logical_id), SecretString=value)["ARN"]
    return Created(ref=arn, attrs={"Id": arn})


def _glue_library(stack: Stack) -> Creator:
    """What functions/glue_library_publisher does at deploy time, with the same code and as its role:
    the scripts and the library, zipped, in S3."""

    def create(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
        # the function the ServiceToken names (`!GetAtt GlueLibraryFunction.Arn`), and the role it runs as
        arns = {created.attrs.get("Arn"): logical for logical, created in stack.resources.items()}
        with as_custom_resource(stack, session, arns[props["ServiceToken"]]) as role_session:
            return _publish_glue_library(role_session, logical_id, props)

    return create


def _publish_glue_library(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    from shoplake import glue_library  # noqa: PLC0415

    content = glue_library.library_zip(glue_library.library_packages())
    uri = glue_library.publish(session.client("s3"), props["Bucket"], content)
    scripts = glue_library.publish_scripts(session.client("s3"), props["Bucket"], glue_library.scripts_folder())
    return Created(ref=f"{logical_id}-library", attrs={"Uri": uri, **scripts})


def _named(key: str) -> Creator:
    """Resources with nothing to emulate whose Ref is their name (a ruleset, a security configuration)."""

    def create(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
        return Created(ref=props.get(key, logical_id), attrs={"Arn": _arn("local", logical_id)})

    return create


def _kinesis_stream(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
    name = props.get("Name", logical_id)
    mode = props.get("StreamModeDetails") or {"StreamMode": "PROVISIONED"}
    args: dict[str, Any] = {"StreamName": name, "StreamModeDetails": mode}
    if mode["StreamMode"] == "PROVISIONED":
        args["ShardCount"] = props.get("ShardCount", 1)
    session.client("kinesis").create_stream(**args)
    return Created(ref=name, attrs={"Arn": _arn("kinesis", f"stream/{name}")})


def _state_machine(stack: Stack) -> Creator:
    def create(session: boto3.Session, logical_id: str, props: dict[str, Any]) -> Created:
        definition = (stack.base_dir / props["DefinitionUri"]).read_text(encoding="utf-8")
        for name, value in (props.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + name + "}", str(value))
        name = props.get("Name", logical_id)
        role_arn = stack.attr(stack.principal_roles[logical_id], "Arn")
        arn = session.client("stepfunctions").create_state_machine(name=name, definition=definition, roleArn=role_arn)[
            "stateMachineArn"
        ]
        return Created(ref=arn, attrs={"Arn": arn, "Name": name})

    return create


CREATORS: dict[str, Creator] = {
    "AWS::Kinesis::Stream": _kinesis_stream,
    "AWS::KinesisFirehose::DeliveryStream": _named("DeliveryStreamName"),
    "AWS::Glue::Database": _glue_database,
    "AWS::Glue::Table": _glue_table,
    "AWS::Glue::Job": _glue_job,
    "AWS::Glue::DataQualityRuleset": _named("Name"),
    "AWS::Glue::SecurityConfiguration": _named("Name"),
    "AWS::KMS::Key": _kms_key,
    "AWS::KMS::Alias": _kms_alias,
    "AWS::SNS::Topic": _sns_topic,
    "AWS::SQS::Queue": _sqs_queue,
    "AWS::DynamoDB::Table": _dynamodb_table,
    "AWS::S3::Bucket": _s3_bucket,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::Serverless::Function": _function,
    "AWS::Serverless::LayerVersion": _layer,
    "AWS::SecretsManager::Secret": _secret,
}


def _order(resources: Mapping[str, Any], needs: Mapping[str, set[str]]) -> list[str]:
    """Logical ids, each after what it refers to and what `needs` adds (a principal's role, a function's Globals)."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id not in resources and logical_id.removesuffix("Url") in resources:
            logical_id = logical_id.removesuffix("Url")  # SAM's <Function>Url, made with its function
        if logical_id in ordered or logical_id not in resources:
            return
        if logical_id in visiting:
            raise TemplateError(f"circular reference through {logical_id}")
        visiting.add(logical_id)
        spec = resources[logical_id]
        depends = spec.get("DependsOn") or []
        # A function's Events name the topics and rules it is wired to, not resources it needs first.
        props = {k: v for k, v in (spec.get("Properties") or {}).items() if k != "Events"}
        depends = [depends] if isinstance(depends, str) else list(depends)
        depends += sorted(needs.get(logical_id, set()))
        for dependency in sorted(references(props) | set(depends)):
            visit(dependency)
        visiting.discard(logical_id)
        ordered.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return ordered


def provision(
    session: boto3.Session, template: Mapping[str, Any], parameters: Mapping[str, str], base_dir: Path
) -> Stack:
    """Create the template's resources; `base_dir` is where its CodeUri and ContentUri paths start."""
    pseudo = {
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Region": REGION,
        "AWS::Partition": "aws",
        "AWS::StackName": f"shoplake-{parameters.get('EnvironmentName', 'dev')}",
        "AWS::URLSuffix": "amazonaws.com",
    }
    resolver = Resolver.for_template(template, parameters, pseudo)
    translated = translate(template, REGION) if "Transform" in template else template
    roles = RoleBook(pseudo["AWS::StackName"])
    stack = Stack(template, resolver, base_dir, translated=translated, roles=roles)
    stack.principal_roles = principal_roles(translated)
    resolver.ref_of = stack.ref
    resolver.attr_of = stack.attr
    iam = generated_iam(translated)  # first, so each role is made as early as its references allow
    resources = {**iam, **{k: v for k, v in template["Resources"].items() if k not in iam}}
    creators = {
        **CREATORS,
        "AWS::IAM::Role": _wrap(roles.role),
        "AWS::IAM::Policy": _wrap(roles.policy),
        "AWS::IAM::ManagedPolicy": _wrap(roles.managed_policy),
        "AWS::Serverless::StateMachine": _state_machine(stack),
        "Custom::GlueLibrary": _glue_library(stack),
    }
    needs = {principal: {role} for principal, role in stack.principal_roles.items()}
    for logical_id, spec in template["Resources"].items():
        if spec["Type"] == "AWS::Serverless::Function":
            needs.setdefault(logical_id, set()).update(references((template.get("Globals") or {}).get("Function")))
    for logical_id in _order(resources, needs):
        spec = resources[logical_id]
        if "Condition" in spec and not resolver.condition(spec["Condition"]):
            continue
        raw = (
            function_properties(template, logical_id)
            if spec["Type"] == "AWS::Serverless::Function"
            else spec.get("Properties") or {}
        )
        props = resolver.resolve({k: v for k, v in raw.items() if k != "Events"})
        stack.properties[logical_id] = {**props, "Events": raw.get("Events") or {}}
        creator = creators.get(spec["Type"])
        if creator is None:
            stack.not_emulated[logical_id] = spec["Type"]
            stack.resources[logical_id] = Created(ref=f"{logical_id}-local", attrs={"Arn": _arn("local", logical_id)})
            continue
        stack.resources[logical_id] = creator(session, logical_id, props)
        if spec["Type"] == "AWS::Serverless::Function" and props.get("FunctionUrlConfig"):
            # SAM's generated AWS::Lambda::Url; locally the function is invoked in-process with a URL event.
            url = f"https://{local_function_url_host(stack.ref(logical_id))}/"
            stack.resources[f"{logical_id}Url"] = Created(ref=url, attrs={"FunctionUrl": url})
    create_task_roles(session, stack)  # the shop's code runs locally even where its platform does not
    return stack


def _wrap(create: Callable[[boto3.Session, str, dict[str, Any]], tuple[str, dict[str, str]]]) -> Creator:
    return lambda session, logical_id, props: Created(*create(session, logical_id, props))


def local_function_url_host(function_name: str) -> str:
    """The stand-in host of a function URL in the local stack (AWS's form: `<url-id>.lambda-url.<region>.on.aws`)."""
    return f"{function_name}.lambda-url.{REGION}.on.aws"
