"""The core platform's defences, checked on its templates.

WAF in front of the shop, nothing open to the internet but the public load balancer, every
ingress rule saying who may come in, encryption at rest, TLS to every bucket and least privilege.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.infra_core_templates import (
    ALL,
    CHILDREN,
    INFRA,
    as_list,
    everywhere,
    resources_of,
    statements,
)

# ---------------------------------------------------------------- the edge


def test_the_public_load_balancer_is_behind_waf_with_sql_injection_managed_and_rate_rules_logged() -> None:
    # GIVEN the edge child
    edge = CHILDREN["Edge"]
    (association,) = resources_of(edge, "AWS::WAFv2::WebACLAssociation").values()
    acl_id = association["Properties"]["WebACLArn"]["Fn::GetAtt"][0]

    # THEN the web ACL is associated with the public load balancer
    assert association["Properties"]["ResourceArn"] == {"Ref": "PublicLoadBalancer"}
    assert edge["Resources"]["PublicLoadBalancer"]["Properties"]["Scheme"] == "internet-facing"
    # AND it runs AWS's managed SQL injection, core, bad inputs and IP reputation rules, and a rate rule
    rules = edge["Resources"][acl_id]["Properties"]["Rules"]
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in rules
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert {
        "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    } <= managed
    assert any("RateBasedStatement" in r["Statement"] for r in rules)
    # AND managed rules block (no count-only override)
    assert all(r.get("OverrideAction", {"None": {}}) == {"None": {}} for r in rules)
    # AND its requests are logged
    (logging,) = resources_of(edge, "AWS::WAFv2::LoggingConfiguration").values()
    assert logging["Properties"]["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}


def test_https_uses_a_modern_tls_policy_and_port_80_only_redirects() -> None:
    edge = CHILDREN["Edge"]
    listeners = resources_of(edge, "AWS::ElasticLoadBalancingV2::Listener")
    https = next(spec["Properties"] for spec in listeners.values() if spec["Properties"]["Protocol"] == "HTTPS")
    http = next(spec["Properties"] for spec in listeners.values() if spec["Properties"]["Protocol"] == "HTTP")
    assert https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    assert [a["Type"] for a in http["DefaultActions"]] == ["redirect"]
    assert http["DefaultActions"][0]["RedirectConfig"]["Protocol"] == "HTTPS"


def test_product_images_are_served_by_cloudfront_through_origin_access_control_only() -> None:
    edge = CHILDREN["Edge"]
    distribution = edge["Resources"]["ImagesDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = distribution["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["ImagesOriginAccessControl", "Id"]}
    assert distribution["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    policy = edge["Resources"]["ProductImagesBucketPolicy"]["Properties"]["PolicyDocument"]
    allow = [s for s in statements(policy) if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allow] == [{"Service": "cloudfront.amazonaws.com"}]
    assert "distribution/${ImagesDistribution}" in allow[0]["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]


# ---------------------------------------------------------------- who may come in


def _ingress_rules() -> list[tuple[str, str, dict[str, Any]]]:
    """Every ingress rule, inline or separate, with the group it opens."""
    found = []
    for name, logical_id, spec in everywhere("AWS::EC2::SecurityGroup"):
        for rule in spec["Properties"].get("SecurityGroupIngress", []):
            found.append((name, logical_id, rule))
    for name, _, spec in everywhere("AWS::EC2::SecurityGroupIngress"):
        group = spec["Properties"]["GroupId"]["Fn::GetAtt"][0]
        found.append((name, group, spec["Properties"]))
    return found


def test_only_the_public_load_balancer_is_open_to_the_internet_on_443_and_80() -> None:
    # GIVEN every ingress rule of the platform
    open_to_all = [
        (logical_id, rule["FromPort"], rule["ToPort"])
        for _, logical_id, rule in _ingress_rules()
        if rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0"
    ]
    # THEN only the public load balancer's group admits the internet, on HTTPS and HTTP (to redirect)
    assert sorted(open_to_all) == [
        ("PublicLoadBalancerSecurityGroup", 80, 80),
        ("PublicLoadBalancerSecurityGroup", 443, 443),
    ]


def test_every_ingress_rule_says_who_may_come_in() -> None:
    assert all(rule.get("Description") for _, _, rule in _ingress_rules())
    text = (INFRA / "security-groups.yaml").read_text(encoding="utf-8")
    rule_resources = re.findall(r"\n((?:  #[^\n]*\n)*)  \w+:\n    Type: AWS::EC2::SecurityGroupIngress", text)
    assert rule_resources
    assert all("Who may come in" in comment for comment in rule_resources)


def test_the_database_admits_only_the_app_tier_and_the_glue_connection_on_5432() -> None:
    rules = [rule for _, group, rule in _ingress_rules() if group == "DatabaseSecurityGroup"]
    sources = sorted(rule["SourceSecurityGroupId"]["Fn::GetAtt"][0] for rule in rules)
    assert sources == ["AppSecurityGroup", "GlueConnectionSecurityGroup"]
    assert all((rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 5432, 5432) for rule in rules)


def test_the_glue_connection_group_admits_itself_on_all_tcp_as_glue_requires() -> None:
    rules = [rule for _, group, rule in _ingress_rules() if group == "GlueConnectionSecurityGroup"]
    assert rules == [
        {
            "GroupId": {"Fn::GetAtt": ["GlueConnectionSecurityGroup", "GroupId"]},
            "Description": rules[0]["Description"],
            "IpProtocol": "tcp",
            "FromPort": 0,
            "ToPort": 65535,
            "SourceSecurityGroupId": {"Fn::GetAtt": ["GlueConnectionSecurityGroup", "GroupId"]},
        }
    ]


def test_the_container_instances_admit_nothing() -> None:
    assert [r for _, group, r in _ingress_rules() if group == "ContainerInstanceSecurityGroup"] == []


# ---------------------------------------------------------------- encryption and TLS


@pytest.mark.parametrize(("name", "logical_id"), [(n, i) for n, i, _ in everywhere("AWS::S3::Bucket")])
def test_every_bucket_is_encrypted_private_and_refuses_plain_http(name: str, logical_id: str) -> None:
    # GIVEN a bucket of the platform
    template = ALL[name]
    props = template["Resources"][logical_id]["Properties"]

    # THEN it is encrypted at rest and blocks public access
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"aws:kms", "AES256"}
    assert all(props["PublicAccessBlockConfiguration"].values())
    # AND its policy denies every request not made over TLS, to the bucket and to its objects
    policies = [
        p["Properties"]["PolicyDocument"]
        for p in resources_of(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical_id}
    ]
    (policy,) = policies
    deny = next(s for s in statements(policy) if s["Sid"] == "DenyInsecureTransport")
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"Fn::GetAtt": [logical_id, "Arn"]} in deny["Resource"]
    assert {"Fn::Sub": f"${{{logical_id}.Arn}}/*"} in deny["Resource"]


def test_everything_that_stores_data_is_encrypted_at_rest() -> None:
    for _, logical_id, spec in everywhere("AWS::Logs::LogGroup"):
        assert "KmsKeyId" in spec["Properties"], logical_id
    for _, logical_id, spec in everywhere("AWS::KMS::Key"):
        assert spec["Properties"]["EnableKeyRotation"] is True, logical_id
    for _, logical_id, spec in everywhere("AWS::Backup::BackupVault"):
        assert "EncryptionKeyArn" in spec["Properties"], logical_id
    for _, logical_id, spec in everywhere("AWS::ECR::Repository"):
        assert spec["Properties"]["EncryptionConfiguration"]["EncryptionType"] == "KMS", logical_id
    for _, logical_id, spec in everywhere("AWS::CodeBuild::Project"):
        assert "EncryptionKey" in spec["Properties"], logical_id
    for _, logical_id, spec in everywhere("AWS::CodePipeline::Pipeline"):
        assert spec["Properties"]["ArtifactStore"]["EncryptionKey"]["Type"] == "KMS", logical_id
    for _, logical_id, spec in everywhere("AWS::CloudTrail::Trail"):
        assert "KMSKeyId" in spec["Properties"], logical_id
    for _, logical_id, spec in everywhere("AWS::RDS::DBInstance"):
        assert spec["Properties"]["StorageEncrypted"] is True, logical_id


def test_the_audit_trail_covers_every_region_and_shows_tampering() -> None:
    ((_, _, trail),) = everywhere("AWS::CloudTrail::Trail")
    props = trail["Properties"]
    assert props["IsMultiRegionTrail"] is True
    assert props["EnableLogFileValidation"] is True
    assert props["IncludeGlobalServiceEvents"] is True


# ---------------------------------------------------------------- least privilege


def _policy_documents() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for name, logical_id, spec in everywhere("AWS::IAM::Role"):
        for policy in spec["Properties"].get("Policies", []):
            found.append((name, logical_id, policy["PolicyDocument"]))
    return found


def test_no_role_is_granted_wildcard_actions_on_all_resources() -> None:
    # GIVEN every inline statement of every role
    wildcards = [
        (logical_id, action)
        for _, logical_id, document in _policy_documents()
        for statement in statements(document)
        if statement["Resource"] == "*"
        for action in as_list(statement["Action"])
        if "*" in action
    ]
    # THEN none grants a family of actions (service:*, service:Get*) on every resource
    assert wildcards == []


def test_every_statement_on_all_resources_says_why_beside_it() -> None:
    # GIVEN the inline statements that name Resource "*" (APIs that take no resource)
    for name, logical_id, document in _policy_documents():
        text = (INFRA / name).read_text(encoding="utf-8")
        for statement in statements(document):
            if statement["Effect"] != "Allow" or statement["Resource"] != "*":
                continue
            # THEN a comment directly above the statement gives the reason
            match = re.search(rf"\n((?:\s*#[^\n]*\n)+)\s*- Sid: {statement['Sid']}\n", text)
            assert match, f"{name} {logical_id} {statement['Sid']}"


def test_key_policies_give_every_action_only_to_the_account_itself() -> None:
    for name, logical_id, spec in everywhere("AWS::KMS::Key"):
        for statement in statements(spec["Properties"]["KeyPolicy"]):
            if "kms:*" in as_list(statement["Action"]):
                assert statement["Principal"] == {
                    "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
                }, f"{name} {logical_id}"


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_checkov_skip_carries_a_reason(name: str) -> None:
    for logical_id, spec in ALL[name]["Resources"].items():
        for skip in spec.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 30, f"{logical_id} {skip['id']}"
