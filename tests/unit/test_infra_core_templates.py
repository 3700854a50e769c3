"""What the core platform (infra_core/) promises the shop, checked on its templates.

The original design asks for three tiers across two zones, a Multi-AZ database, backups at 02:00
Korea time kept a week with point-in-time restore, WAF in front of the shop, nothing open to the
internet but the public load balancer, encryption at rest, TLS to every bucket and least privilege.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from local_stack.template import ROOT, load_template

INFRA = ROOT / "infra_core"
PLATFORM = load_template(INFRA / "platform.yaml")
CHILD_PATHS = {logical_id: INFRA / spec["Properties"]["Location"] for logical_id, spec in PLATFORM["Resources"].items()}
CHILDREN = {logical_id: load_template(path) for logical_id, path in CHILD_PATHS.items()}
# Every template under infra_core/, children and the copy vault deployed in the second region.
ALL_PATHS = sorted(INFRA.glob("*.yaml"))
ALL = {path.name: load_template(path) for path in ALL_PATHS}
REGION = "ap-northeast-2"
TWO_ZONES = [
    {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
    {"Fn::Select": [1, {"Fn::GetAZs": ""}]},
]


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def everywhere(resource_type: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, logical_id, spec)
        for name, template in ALL.items()
        for logical_id, spec in resources_of(template, resource_type).items()
    ]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------- the shape of the templates


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_template_describes_itself_and_every_parameter_and_output(name: str) -> None:
    # GIVEN a template of the core platform
    template = ALL[name]
    text = (INFRA / name).read_text(encoding="utf-8")

    # THEN it opens with a folded description paragraph
    assert re.search(r"^Description: >\n", text, re.MULTILINE)
    assert len(template["Description"]) > 100
    # AND every parameter is typed and described, and every output described
    for parameter, spec in template.get("Parameters", {}).items():
        assert spec.get("Type") and spec.get("Description"), parameter
    for output, spec in template.get("Outputs", {}).items():
        assert spec.get("Description"), output


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_template_takes_the_environment_name(name: str) -> None:
    parameter = ALL[name]["Parameters"]["EnvironmentName"]
    assert parameter["AllowedValues"] == ["dev", "prod"]


def _has_environment_tag(properties: dict[str, Any]) -> bool:
    for key in ("Tags", "BackupVaultTags", "BackupPlanTags"):
        tags = properties.get(key)
        if isinstance(tags, dict) and "shoplake:environment" in tags:
            return True
        if isinstance(tags, list) and any(t.get("Key") == "shoplake:environment" for t in tags):
            return True
    return False


@pytest.mark.parametrize("name", sorted(ALL))
def test_everything_that_can_carry_tags_is_tagged_with_its_environment(name: str) -> None:
    # GIVEN the resources of a template whose type takes tags (CloudFormation's own schema says which)
    untagged = []
    for logical_id, spec in ALL[name]["Resources"].items():
        if spec["Type"].startswith("AWS::Serverless::"):
            taggable = True
        else:
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, spec["Type"]).schema
            taggable = bool({"Tags", "BackupVaultTags", "BackupPlanTags"} & set(schema.get("properties", {})))
        props = spec["Properties"]
        if spec["Type"] == "AWS::Backup::BackupPlan":
            props = props["BackupPlan"] | {"BackupPlanTags": props.get("BackupPlanTags")}
        # THEN each of them carries shoplake:environment
        if taggable and not _has_environment_tag(props):
            untagged.append(logical_id)
    assert untagged == []


def test_the_parent_only_wires_children_that_exist_with_parameters_and_outputs_they_declare() -> None:
    # GIVEN the parent template
    for logical_id, spec in PLATFORM["Resources"].items():
        # THEN every resource is a nested application built from a local child template
        assert spec["Type"] == "AWS::Serverless::Application"
        assert CHILD_PATHS[logical_id].is_file()
        child = CHILDREN[logical_id]
        # AND every parameter it passes is one the child declares, and none the child needs is missing
        passed = set(spec["Properties"]["Parameters"])
        declared = set(child["Parameters"])
        required = {name for name, p in child["Parameters"].items() if "Default" not in p}
        assert passed <= declared, logical_id
        assert required <= passed, logical_id
    # AND every child output it reads (!GetAtt Child.Outputs.X) is one that child declares
    text = (INFRA / "platform.yaml").read_text(encoding="utf-8")
    for child_id, output in re.findall(r"!GetAtt (\w+)\.Outputs\.(\w+)", text):
        assert output in CHILDREN[child_id]["Outputs"], f"{child_id}.{output}"


def test_the_parent_exposes_what_the_nightly_etl_glue_connection_needs() -> None:
    outputs = PLATFORM["Outputs"]
    needed = {
        "VpcId",
        "AppSubnetIds",
        "DbSubnetIds",
        "GlueSubnetId",
        "GlueAvailabilityZone",
        "GlueConnectionSecurityGroupId",
        "DatabaseEndpointAddress",
        "DatabaseEndpointPort",
        "DatabaseMasterSecretArn",
    }
    assert needed <= set(outputs)
    assert outputs["DatabaseMasterSecretArn"]["Value"] == {
        "Fn::GetAtt": ["Database", "Outputs.DatabaseMasterSecretArn"]
    }
    assert CHILDREN["Database"]["Outputs"]["DatabaseMasterSecretArn"]["Value"] == {
        "Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]
    }


def test_the_application_deploys_the_platform_only_when_asked_and_passes_it_the_alert_topic() -> None:
    # GIVEN the application's own template
    template = load_template(ROOT / "template.yaml")
    core = template["Resources"]["CorePlatform"]

    # THEN the platform is one nested application, off by default because it costs money
    assert core["Type"] == "AWS::Serverless::Application"
    assert core["Properties"]["Location"] == "infra_core/platform.yaml"
    assert core["Condition"] == "CorePlatformDeployed"
    assert template["Parameters"]["DeployCorePlatform"]["Default"] == "false"
    # AND its alarms and backups report to the alert topic, which reaches Slack
    passed = core["Properties"]["Parameters"]
    assert passed["AlarmTopicArn"] == {"Ref": "AlertTopic"}
    assert passed["EnvironmentName"] == {"Ref": "EnvironmentName"}
    assert set(passed) <= set(PLATFORM["Parameters"])
    assert set(template["Parameters"]["CorePlatformSizing"]["AllowedValues"]) == set(PLATFORM["Mappings"]["Sizing"])


# ---------------------------------------------------------------- two zones for every tier


def test_every_tier_has_a_subnet_in_each_of_two_zones() -> None:
    # GIVEN the network's subnets, grouped by the tier they serve
    network = CHILDREN["Network"]
    zones_by_tier: dict[str, list[Any]] = {}
    for spec in resources_of(network, "AWS::EC2::Subnet").values():
        tier = next(t["Value"] for t in spec["Properties"]["Tags"] if t["Key"] == "shoplake:tier")
        zones_by_tier.setdefault(tier, []).append(spec["Properties"]["AvailabilityZone"])

    # THEN public, web, app and db each have one subnet in the first zone and one in the second
    assert set(zones_by_tier) == {"public", "web", "app", "db"}
    for tier, zones in zones_by_tier.items():
        assert sorted(zones, key=str) == sorted(TWO_ZONES, key=str), tier


def test_each_zone_leaves_through_its_own_nat_gateway_unless_dev_asks_for_one() -> None:
    network = CHILDREN["Network"]
    nat_gateways = resources_of(network, "AWS::EC2::NatGateway")
    assert len(nat_gateways) == 2
    assert network["Parameters"]["SingleNatGateway"]["Default"] == "false"
    assert PLATFORM["Mappings"]["Sizing"]["design"]["SingleNatGateway"] == "false"
    assert PLATFORM["Mappings"]["Sizing"]["cost-optimised"]["SingleNatGateway"] == "false"


def test_the_database_subnets_have_no_route_out() -> None:
    network = CHILDREN["Network"]
    routes = resources_of(network, "AWS::EC2::Route").values()
    assert all(route["Properties"]["RouteTableId"] != {"Ref": "DbRouteTable"} for route in routes)


def test_both_tiers_run_on_auto_scaling_groups_spread_over_two_zones_from_two_to_six() -> None:
    # GIVEN the compute child and what the parent passes it
    compute = CHILDREN["Compute"]
    passed = PLATFORM["Resources"]["Compute"]["Properties"]["Parameters"]
    groups = resources_of(compute, "AWS::AutoScaling::AutoScalingGroup")

    # THEN there is one group per tier, over that tier's two subnets
    assert {g["Properties"]["VPCZoneIdentifier"]["Ref"] for g in groups.values()} == {"WebSubnetIds", "AppSubnetIds"}
    assert passed["WebSubnetIds"] == {"Fn::GetAtt": ["Network", "Outputs.WebSubnetIds"]}
    assert passed["AppSubnetIds"] == {"Fn::GetAtt": ["Network", "Outputs.AppSubnetIds"]}
    outputs = CHILDREN["Network"]["Outputs"]
    assert outputs["WebSubnetIds"]["Value"] == {"Fn::Join": [",", [{"Ref": "WebSubnet1"}, {"Ref": "WebSubnet2"}]]}
    assert outputs["AppSubnetIds"]["Value"] == {"Fn::Join": [",", [{"Ref": "AppSubnet1"}, {"Ref": "AppSubnet2"}]]}
    # AND each keeps at least 2 and at most 6 instances, as the original design sized them
    for group in groups.values():
        assert group["Properties"]["MinSize"] == {"Ref": "MinInstancesPerTier"}
        assert group["Properties"]["MaxSize"] == {"Ref": "MaxInstancesPerTier"}
    assert compute["Parameters"]["MinInstancesPerTier"]["Default"] == 2
    assert compute["Parameters"]["MaxInstancesPerTier"]["Default"] == 6


def test_each_tier_has_a_capacity_provider_with_managed_scaling() -> None:
    compute = CHILDREN["Compute"]
    providers = resources_of(compute, "AWS::ECS::CapacityProvider")
    assert {p["Properties"]["AutoScalingGroupProvider"]["AutoScalingGroupArn"]["Ref"] for p in providers.values()} == {
        "WebAutoScalingGroup",
        "AppAutoScalingGroup",
    }
    for provider in providers.values():
        group_provider = provider["Properties"]["AutoScalingGroupProvider"]
        assert group_provider["ManagedScaling"]["Status"] == "ENABLED"
        assert group_provider["ManagedTerminationProtection"] == "ENABLED"


def test_services_spread_over_zones_roll_back_failed_deployments_and_scale_on_cpu_and_requests() -> None:
    compute = CHILDREN["Compute"]
    for spec in resources_of(compute, "AWS::ECS::Service").values():
        props = spec["Properties"]
        assert {"Type": "spread", "Field": "attribute:ecs.availability-zone"} in props["PlacementStrategies"]
        assert props["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    metrics = sorted(
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]
        for p in resources_of(compute, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    )
    assert metrics == sorted(["ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"] * 2)


def test_container_instances_require_imdsv2_have_no_ssh_key_and_are_reached_through_session_manager() -> None:
    compute = CHILDREN["Compute"]
    for spec in resources_of(compute, "AWS::EC2::LaunchTemplate").values():
        data = spec["Properties"]["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert "KeyName" not in data
        assert all(m["Ebs"]["Encrypted"] is True for m in data["BlockDeviceMappings"])
    role = compute["Resources"]["ContainerInstanceRole"]["Properties"]
    managed = str(role["ManagedPolicyArns"])
    assert "AmazonSSMManagedInstanceCore" in managed
    assert "CloudWatchAgentServerPolicy" in managed
    assert compute["Parameters"]["EcsAmiId"]["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert compute["Parameters"]["InstanceType"]["Default"] == "m5.large"


def test_images_are_scanned_on_push_immutable_and_expire() -> None:
    for _, logical_id, spec in everywhere("AWS::ECR::Repository"):
        props = spec["Properties"]
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}, logical_id
        assert props["ImageTagMutability"] == "IMMUTABLE", logical_id
        assert "rules" in props["LifecyclePolicy"]["LifecyclePolicyText"], logical_id


# ---------------------------------------------------------------- the database


def test_the_database_is_multi_az_encrypted_private_and_keeps_its_password_in_secrets_manager() -> None:
    database = CHILDREN["Database"]
    (props,) = (spec["Properties"] for spec in resources_of(database, "AWS::RDS::DBInstance").values())
    assert props["Engine"] == "postgres"
    assert props["MultiAZ"] is True
    assert props["StorageEncrypted"] is True
    assert props["KmsKeyId"] == {"Fn::GetAtt": ["DatabaseKey", "Arn"]}
    assert props["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in props
    assert props["PubliclyAccessible"] is False
    assert props["DeletionProtection"] is True
    assert props["EnablePerformanceInsights"] is True
    assert props["MonitoringInterval"] > 0


def test_the_database_refuses_connections_without_tls() -> None:
    database = CHILDREN["Database"]
    group = database["Resources"]["DatabaseParameterGroup"]["Properties"]
    assert group["Parameters"]["rds.force_ssl"] == "1"
    assert database["Resources"]["Database"]["Properties"]["DBParameterGroupName"] == {"Ref": "DatabaseParameterGroup"}


# ---------------------------------------------------------------- backup


def test_the_database_is_backed_up_daily_at_two_korea_time_continuously_for_seven_days() -> None:
    # GIVEN the backup plan
    backup = CHILDREN["Backup"]
    (plan,) = resources_of(backup, "AWS::Backup::BackupPlan").values()
    rules = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    daily = next(r for r in rules if r["ScheduleExpression"] == "cron(0 17 * * ? *)")

    # THEN the daily rule runs at 17:00 UTC (02:00 KST) with point-in-time restore, kept 7 days
    assert daily.get("ScheduleExpressionTimezone", "Etc/UTC") == "Etc/UTC"
    assert daily["EnableContinuousBackup"] is True
    assert daily["Lifecycle"]["DeleteAfterDays"] == {"Ref": "DailyRetentionDays"}
    assert backup["Parameters"]["DailyRetentionDays"]["Default"] == 7
    # AND weekly and monthly rules keep longer
    assert len(rules) == 3
    assert {r["Lifecycle"]["DeleteAfterDays"]["Ref"] for r in rules} == {
        "DailyRetentionDays",
        "WeeklyRetentionDays",
        "MonthlyRetentionDays",
    }


def test_every_backup_is_copied_to_a_vault_in_a_second_region() -> None:
    backup = CHILDREN["Backup"]
    (plan,) = resources_of(backup, "AWS::Backup::BackupPlan").values()
    for rule in plan["Properties"]["BackupPlan"]["BackupPlanRule"]:
        (copy,) = rule["CopyActions"]
        assert "${CopyRegion}" in copy["DestinationBackupVaultArn"]["Fn::Sub"]
        assert "shoplake-${EnvironmentName}-copy" in copy["DestinationBackupVaultArn"]["Fn::Sub"]
    assert backup["Parameters"]["CopyRegion"]["Default"] != REGION
    copy_vault = ALL["backup-copy-vault.yaml"]["Resources"]["CopyVault"]["Properties"]
    assert copy_vault["BackupVaultName"] == {"Fn::Sub": "shoplake-${EnvironmentName}-copy"}


def test_backups_are_selected_by_tag_and_the_database_carries_it() -> None:
    backup = CHILDREN["Backup"]
    (selection,) = resources_of(backup, "AWS::Backup::BackupSelection").values()
    (condition,) = selection["Properties"]["BackupSelection"]["ListOfTags"]
    tag_key = backup["Parameters"]["BackupTagKey"]["Default"]
    assert condition == {
        "ConditionType": "STRINGEQUALS",
        "ConditionKey": {"Ref": "BackupTagKey"},
        "ConditionValue": "true",
    }
    database_tags = CHILDREN["Database"]["Resources"]["Database"]["Properties"]["Tags"]
    assert {"Key": tag_key, "Value": "true"} in database_tags


def test_failed_backups_reach_the_alarm_topic_and_the_restore_drill_is_written_and_scripted() -> None:
    vault = CHILDREN["Backup"]["Resources"]["BackupVault"]["Properties"]
    assert vault["Notifications"]["SNSTopicArn"] == {"Ref": "AlarmTopicArn"}
    assert "BACKUP_JOB_FAILED" in vault["Notifications"]["BackupVaultEvents"]
    drill = (ROOT / "scripts" / "restore-drill.sh").read_text(encoding="utf-8")
    assert "start-restore-job" in drill
    assert "delete-db-instance" in drill
    assert "scripts/restore-drill.sh" in (ROOT / "docs" / "restore-drill.md").read_text(encoding="utf-8")


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


# ---------------------------------------------------------------- watched


MONITORING = CHILDREN["Monitoring"]
ALARMS = resources_of(MONITORING, "AWS::CloudWatch::Alarm")
RUNBOOK = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("logical_id", sorted(ALARMS))
def test_every_alarm_tells_the_alarm_topic_and_links_its_runbook_section(logical_id: str) -> None:
    # GIVEN an alarm of the platform
    props = ALARMS[logical_id]["Properties"]
    section = props["AlarmName"]["Fn::Sub"].removeprefix("shoplake-${EnvironmentName}-")

    # THEN it tells the alarm topic (hence Slack) when it fires and when it clears
    assert props["AlarmActions"] == [{"Ref": "AlarmTopicArn"}]
    assert props["OKActions"] == [{"Ref": "AlarmTopicArn"}]
    # AND its description links to the runbook's section of the same name, which exists
    assert props["AlarmDescription"]["Fn::Sub"].endswith(f"Runbook: ${{RunbookUrl}}#{section}")
    assert f"\n### {section}\n" in RUNBOOK
    body = RUNBOOK.split(f"\n### {section}\n", 1)[1].split("\n### ", 1)[0]
    assert "**Means**" in body
    assert "**Check**" in body
    assert "**Do**" in body


def test_the_alarms_cover_what_the_original_design_watches() -> None:
    watched = {(p["Properties"]["Namespace"], p["Properties"]["MetricName"]) for p in ALARMS.values()}
    assert {
        ("AWS/ECS", "CPUUtilization"),
        ("AWS/ECS", "MemoryUtilization"),
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("AWS/ApplicationELB", "UnHealthyHostCount"),
        ("AWS/ApplicationELB", "TargetResponseTime"),
        ("AWS/RDS", "CPUUtilization"),
        ("AWS/RDS", "FreeStorageSpace"),
        ("AWS/RDS", "DatabaseConnections"),
        ("AWS/RDS", "ReplicaLag"),
    } <= watched
    assert resources_of(MONITORING, "AWS::CloudWatch::Dashboard")


# ---------------------------------------------------------------- deployed by pipeline


def test_pipelines_are_v2_read_github_through_codeconnections_and_are_named_for_the_notifier() -> None:
    cicd = CHILDREN["Cicd"]
    pipelines = resources_of(cicd, "AWS::CodePipeline::Pipeline")
    assert len(pipelines) == 2
    for spec in pipelines.values():
        props = spec["Properties"]
        assert props["PipelineType"] == "V2"
        # The application's EventBridge rule sends pipelines named shoplake-<env>-* to Slack.
        assert props["Name"]["Fn::Sub"].startswith("shoplake-${EnvironmentName}-")
        source = props["Stages"][0]["Actions"][0]
        assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
        assert source["Configuration"]["ConnectionArn"] == {"Ref": "GitHubConnection"}
    assert cicd["Resources"]["GitHubConnection"]["Type"] == "AWS::CodeConnections::Connection"


def test_one_pipeline_deploys_images_to_ecs_and_one_deploys_this_sam_application() -> None:
    cicd = CHILDREN["Cicd"]
    services = cicd["Resources"]["ServicesPipeline"]["Properties"]["Stages"]
    providers = [a["ActionTypeId"]["Provider"] for stage in services for a in stage["Actions"]]
    assert providers.count("ECS") == 2
    builds = resources_of(cicd, "AWS::CodeBuild::Project")
    buildspecs = {Path(b["Properties"]["Source"]["BuildSpec"]) for b in builds.values()}
    texts = [(ROOT / path).read_text(encoding="utf-8") for path in buildspecs]
    assert any("docker push" in text and "imagedefinitions" in text for text in texts)
    assert any("sam deploy" in text and "make build" in text for text in texts)


def test_the_app_tier_sends_the_clickstream_and_signs_photo_uploads_and_nothing_more() -> None:
    # GIVEN the compute child, as the parent wires it
    compute = CHILDREN["Compute"]
    wired = PLATFORM["Resources"]["Compute"]["Properties"]["Parameters"]
    assert wired["ClickstreamStreamName"] == {"Ref": "ClickstreamStreamName"}
    assert wired["ProductImagesBucketName"] == {"Fn::GetAtt": ["Edge", "Outputs.ProductImagesBucketName"]}
    parent = load_template()["Resources"]["CorePlatform"]["Properties"]["Parameters"]
    assert parent["ClickstreamStreamName"] == {"Ref": "ClickstreamStream"}
    # THEN the app's containers are told where to send events and photos, and may do just that
    (app,) = compute["Resources"]["AppTaskDefinition"]["Properties"]["ContainerDefinitions"]
    names = {e["Name"] for e in app["Environment"]}
    assert {"SHOP_CLICKSTREAM_STREAM", "SHOP_IMAGE_BUCKET"} <= names
    (policy,) = compute["Resources"]["AppTaskRole"]["Properties"]["Policies"]
    allowed = {a for s in statements(policy["PolicyDocument"]) for a in as_list(s["Action"])}
    assert allowed == {"kinesis:PutRecord", "kinesis:PutRecords", "s3:PutObject"}
    (web,) = compute["Resources"]["WebTaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert "IMAGE_BASE_URL" in {e["Name"] for e in web["Environment"]}
