"""The core platform stays up and can be restored: two zones, Multi-AZ, backups copied away.

The original design asks for every tier across two zones, a Multi-AZ database that refuses
connections without TLS, and backups at 02:00 Korea time kept a week with point-in-time restore;
here they are also copied to a second region.
"""

from __future__ import annotations

from typing import Any

from local_stack.template import ROOT
from tests.infra_core_templates import (
    ALL,
    CHILDREN,
    PLATFORM,
    REGION,
    TWO_ZONES,
    everywhere,
    resources_of,
)

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
