"""Each Glue job's permissions, listed from template.yaml: no wildcard on data, only its own lake
prefixes, only the secrets it needs, and nobody but the library publisher writes the scripts bucket."""

from __future__ import annotations

from typing import Any

import pytest

from local_stack.template import load_template
from shoplake import lake_layout

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
JOBS = sorted(name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::Glue::Job")
S3_WRITES = {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl"}
# Actions AWS gives no resource-level permissions for: "*" is the only resource they take. None touches data.
NO_RESOURCE_LEVEL = {
    "cloudwatch:PutMetricData",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeRouteTables",
    "ec2:CreateTags",
    "ec2:DeleteTags",
}
# The staged tables' folders of every run (never its checked marker), and the placeholders EMRFS puts for folders.
STAGED_TABLES = {f"{lake_layout.ETL_STAGING}*/{table}/" for table in lake_layout.CURATED_TABLES} | {
    f"{lake_layout.ETL_STAGING}*_$folder$"
}
# What each job may read and write in the lake: prefixes of shoplake.lake_layout, nothing else.
LAKE_ACCESS: dict[str, tuple[set[str], set[str]]] = {
    "EtlExtractJob": ({lake_layout.ETL_PUBLISHED_DAYS}, {lake_layout.ETL_RAW}),
    "EtlCleanJob": ({lake_layout.ETL_RAW}, {lake_layout.ETL_CLEAN}),
    "EtlCurateJob": ({lake_layout.ETL_CLEAN, lake_layout.CLICKSTREAM_EVENTS, lake_layout.ETL_STAGING}, STAGED_TABLES),
    "ClickstreamHourlyJob": (
        {lake_layout.ETL_CLEAN, lake_layout.CLICKSTREAM_EVENTS, lake_layout.ETL_STAGING},
        STAGED_TABLES,
    ),
    "EtlQualityJob": ({lake_layout.ETL_STAGING}, {f"{lake_layout.ETL_STAGING}*/{lake_layout.ETL_CHECKED}"}),
    "EtlPublishJob": (set(), {lake_layout.ETL_STAGING, lake_layout.ETL_CURATED}),
    "SurveyQualityJob": ({lake_layout.SURVEY_DATA}, set()),
}
# The only secrets any job reads: the extract's read-only login and the pseudonym salt.
SECRETS = {"EtlExtractJob": {"EtlDatabaseSecret", "PseudonymSaltSecret"}}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _branches(node: Any) -> list[Any]:
    """A statement or resource as written, with each Fn::If's two branches (a condition may hold or not)."""
    if isinstance(node, dict) and "Fn::If" in node:
        return [leaf for branch in node["Fn::If"][1:] for leaf in _branches(branch)]
    if isinstance(node, dict) and node == {"Ref": "AWS::NoValue"}:
        return []
    return [node]


def _statements(role_id: str, *, own_policies_only: bool = True) -> list[dict[str, Any]]:
    role = RESOURCES[role_id]["Properties"]
    documents = [policy["PolicyDocument"] for policy in role.get("Policies", [])]
    for arn in role.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and "Ref" in arn:
            documents.append(RESOURCES[arn["Ref"]]["Properties"]["PolicyDocument"])
        else:
            # A job's role takes only the template's own policies: AWSGlueServiceRole grants glue:* on *.
            assert not own_policies_only, f"{role_id}: managed policy {arn} is not the template's own"
    return [leaf for document in documents for node in document["Statement"] for leaf in _branches(node)]


def _permissions(job: str) -> list[tuple[str, Any, dict[str, Any]]]:
    """(action, resource, statement) for every Allow the job's role holds."""
    role_id = RESOURCES[job]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        (action, resource, statement)
        for statement in _statements(role_id)
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
        for listed in _as_list(statement["Resource"])
        for resource in _branches(listed)
    ]


def _lake_prefix(resource: Any) -> str | None:
    """The lake key prefix an object ARN names (`${LakeBucket.Arn}/raw/*` -> `raw/`), or None for other resources."""
    text = resource.get("Fn::Sub") if isinstance(resource, dict) else None
    if isinstance(text, str) and text.startswith("${LakeBucket.Arn}/"):
        return text.removeprefix("${LakeBucket.Arn}/").removesuffix("*")
    return None


def test_every_job_is_listed_here_and_no_two_groups_share_a_role() -> None:
    assert set(JOBS) == set(LAKE_ACCESS)
    roles = {job: RESOURCES[job]["Properties"]["Role"]["Fn::GetAtt"][0] for job in JOBS}
    for job, role in roles.items():
        sharing = {other for other, other_role in roles.items() if other_role == role}
        # jobs share a role only when their needs are the same
        assert {LAKE_ACCESS[other] == LAKE_ACCESS[job] for other in sharing} == {True}


@pytest.mark.parametrize("job", JOBS)
def test_no_wildcard_action_and_no_wildcard_resource_on_data(job: str) -> None:
    for action, resource, _ in _permissions(job):
        assert "*" not in action, f"{job}: wildcard action {action}"
        if resource == "*":
            assert action in NO_RESOURCE_LEVEL, f"{job}: {action} on every resource"
        text = str(resource)
        assert not text.endswith(":table/${LakeDatabase}/*"), f"{job}: {action} on every table"
        assert text != "${LakeBucket.Arn}/*", f"{job}: {action} on the whole lake"


@pytest.mark.parametrize("job", JOBS)
def test_each_job_reads_and_writes_only_its_own_lake_prefixes(job: str) -> None:
    reads, writes = LAKE_ACCESS[job]
    for action, resource, statement in _permissions(job):
        prefix = _lake_prefix(resource)
        if action == "s3:ListBucket" and resource == {"Fn::GetAtt": ["LakeBucket", "Arn"]}:
            listed = {p.removesuffix("*") for p in statement["Condition"]["StringLike"]["s3:prefix"]}
            assert listed <= reads | writes, f"{job} lists {listed - reads - writes}"
        elif action.startswith("s3:") and resource != {"Fn::Sub": "${GlueScriptsBucket.Arn}/*"}:
            assert prefix is not None, f"{job}: {action} on {resource}"
            allowed = writes if action in S3_WRITES else reads | writes
            assert prefix in allowed, f"{job}: {action} on {prefix}"


@pytest.mark.parametrize("job", JOBS)
def test_only_the_extract_reads_secrets_and_never_the_master_secret(job: str) -> None:
    secrets = {resource["Ref"] for action, resource, _ in _permissions(job) if action.startswith("secretsmanager:")}
    assert secrets == SECRETS.get(job, set())
    assert "DatabaseMasterSecretArn" not in str(_permissions(job))
    assert "DatabaseMasterSecretArn" not in str(RESOURCES[job]["Properties"])


def test_the_extract_logs_in_as_the_read_only_etl_role() -> None:
    arguments = RESOURCES["EtlExtractJob"]["Properties"]["DefaultArguments"]
    assert arguments["--database_secret"] == {"Ref": "EtlDatabaseSecret"}
    assert '"shop_etl"' in RESOURCES["EtlDatabaseSecret"]["Properties"]["SecretString"]
    connects = [r for a, r, _ in _permissions("EtlExtractJob") if a == "rds-db:connect"]
    assert len(connects) == 1 and str(connects[0]).count("dbuser:${ResourceId}/shop_etl") == 1
    connection = RESOURCES["ShopDatabaseConnection"]["Properties"]["ConnectionInput"]["ConnectionProperties"]
    assert connection["SECRET_ID"] == {"Ref": "EtlDatabaseSecret"}


def test_only_the_library_publisher_writes_the_scripts_bucket() -> None:
    writers = set()
    for name, resource in RESOURCES.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            statements = _statements(name, own_policies_only=False)
        elif resource["Type"] == "AWS::Serverless::Function":
            statements = [s for p in props.get("Policies", []) if isinstance(p, dict) for s in p.get("Statement", [])]
        else:
            continue
        for statement in statements:
            actions = set(_as_list(statement.get("Action", [])))
            if actions & S3_WRITES and "GlueScriptsBucket" in str(statement.get("Resource")):
                writers.add(name)
    assert writers == {"GlueLibraryFunction"}


def test_the_curate_role_may_write_every_staged_table() -> None:
    # GIVEN what the curate role (curate and clickstream_hourly) may put in the lake
    writes = {
        _lake_prefix(resource) for action, resource, _ in _permissions("EtlCurateJob") if action == "s3:PutObject"
    }
    # THEN every curated table's staged folder, so no table's staging fails with AccessDenied in AWS; and only
    # they (tests/unit/test_etl_attack17c.py: the quality step's checked marker is not among them)
    assert writes == STAGED_TABLES
