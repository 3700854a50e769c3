"""The core platform's monthly cost, line by line, from what its templates create and the price table.

Counts (instances, NAT gateways, endpoints, keys, alarms, rules) come from the templates and the
sizing profiles of `platform.yaml` (infra_core/templates.py); prices and the assumed traffic come
from `prices.ap-northeast-2.toml`. All amounts are USD a month, on demand.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra_core.templates import HERE, Templates, created, default
from local_stack.template import load_template

PRICES_PATH = HERE / "prices.ap-northeast-2.toml"


@dataclass(frozen=True)
class Line:
    """One line of the estimate: what, how much of it, and its monthly price in USD."""

    item: str
    quantity: str
    monthly: float


def load_prices(path: Path = PRICES_PATH) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def estimate(templates: Templates, settings: Mapping[str, str], prices: Mapping[str, Any]) -> list[Line]:
    """What the platform costs a month with these sizing values, line by line."""
    return [
        *_compute_lines(templates, settings, prices),
        *_database_lines(templates, settings, prices),
        *_network_lines(templates, settings, prices),
        *_operations_lines(templates, settings, prices),
    ]


def _compute_lines(templates: Templates, settings: Mapping[str, str], prices: Mapping[str, Any]) -> list[Line]:
    """Container instances and their volumes."""
    hours = float(prices["hours_per_month"])
    unit = prices["unit"]
    compute = templates.children["Compute"]
    lines: list[Line] = []

    # Container instances: each tier's Auto Scaling group runs at least its minimum.
    instance_type = settings["InstanceType"]
    groups = created(compute, "AWS::AutoScaling::AutoScalingGroup")
    instances = len(groups) * int(default(compute, "MinInstancesPerTier"))
    instance_hour = float(prices["ec2_instance_hour"][instance_type])
    lines.append(
        Line(
            f"EC2 {instance_type} container instances",
            f"{instances} x {instance_hour} USD/h",
            instances * instance_hour * hours,
        )
    )
    volume_gb = sum(
        int(mapping["Ebs"]["VolumeSize"])
        for template in created(compute, "AWS::EC2::LaunchTemplate")[:1]
        for mapping in template["Properties"]["LaunchTemplateData"]["BlockDeviceMappings"]
    )
    lines.append(
        Line(
            "EBS gp3 root volumes",
            f"{instances} x {volume_gb} GB",
            instances * volume_gb * float(unit["ebs_gp3_gb_month"]),
        )
    )
    return lines


def _database_lines(templates: Templates, settings: Mapping[str, str], prices: Mapping[str, Any]) -> list[Line]:
    """The database, its storage and its secret."""
    hours = float(prices["hours_per_month"])
    unit = prices["unit"]
    database = templates.children["Database"]
    lines: list[Line] = []

    # The database: Multi-AZ bills the standby as a second instance and its storage twice.
    db_class = settings["DbInstanceClass"]
    for db in created(database, "AWS::RDS::DBInstance"):
        copies = 2 if db["Properties"].get("MultiAZ") is True else 1
        db_hour = float(prices["rds_postgres_instance_hour"][db_class])
        az_note = "Multi-AZ" if copies == 2 else "single-AZ"
        lines.append(
            Line(f"RDS PostgreSQL {db_class} {az_note}", f"{copies} x {db_hour} USD/h", copies * db_hour * hours)
        )
        storage = int(default(database, "AllocatedStorageGiB"))
        lines.append(
            Line(
                f"RDS gp3 storage {az_note}",
                f"{copies} x {storage} GB",
                copies * storage * float(unit["rds_gp3_gb_month"]),
            )
        )
        if db["Properties"].get("ManageMasterUserPassword") is True:
            lines.append(
                Line("Secrets Manager (RDS-managed master secret)", "1 secret", unit["secrets_manager_secret_month"])
            )
    return lines


def _network_lines(templates: Templates, settings: Mapping[str, str], prices: Mapping[str, Any]) -> list[Line]:
    """NAT, addresses, endpoints, load balancers, WAF and CloudFront."""
    hours = float(prices["hours_per_month"])
    unit = prices["unit"]
    usage = prices["usage"]
    network = templates.children["Network"]
    compute = templates.children["Compute"]
    edge = templates.children["Edge"]
    endpoints = templates.children["Endpoints"]
    lines: list[Line] = []

    # NAT gateways and the public addresses they and the public load balancer hold.
    network_parameters = {"SingleNatGateway": settings["SingleNatGateway"]}
    nat_gateways = len(created(network, "AWS::EC2::NatGateway", network_parameters))
    lines.append(
        Line(
            "NAT gateways",
            f"{nat_gateways} x {unit['nat_gateway_hour']} USD/h",
            nat_gateways * unit["nat_gateway_hour"] * hours,
        )
    )
    endpoint_parameters = {"EnableInterfaceEndpoints": settings["InterfaceEndpoints"]}
    interface_endpoints = [
        e
        for e in created(endpoints, "AWS::EC2::VPCEndpoint", endpoint_parameters)
        if e["Properties"].get("VpcEndpointType") == "Interface"
    ]
    nat_gb = float(usage["nat_processed_gb"]) - (float(usage["endpoint_processed_gb"]) if interface_endpoints else 0.0)
    lines.append(Line("NAT data processing", f"{nat_gb:g} GB", nat_gb * unit["nat_gateway_gb"]))
    zones = 2
    load_balancers = created(edge, "AWS::ElasticLoadBalancingV2::LoadBalancer") + created(
        compute, "AWS::ElasticLoadBalancingV2::LoadBalancer"
    )
    internet_facing = sum(1 for lb in load_balancers if lb["Properties"].get("Scheme") == "internet-facing")
    addresses = len(created(network, "AWS::EC2::EIP", network_parameters)) + internet_facing * zones
    lines.append(
        Line(
            "Public IPv4 addresses",
            f"{addresses} x {unit['public_ipv4_hour']} USD/h",
            addresses * unit["public_ipv4_hour"] * hours,
        )
    )
    if interface_endpoints:
        count = len(interface_endpoints) * zones
        lines.append(
            Line(
                "Interface VPC endpoints",
                f"{len(interface_endpoints)} x {zones} zones",
                count * unit["interface_endpoint_az_hour"] * hours,
            )
        )
        lines.append(
            Line(
                "Interface endpoint data",
                f"{usage['endpoint_processed_gb']} GB",
                usage["endpoint_processed_gb"] * unit["interface_endpoint_gb"],
            )
        )

    # Load balancers: the hour and the capacity units.
    lines.append(
        Line(
            "Application load balancers",
            f"{len(load_balancers)} x {unit['alb_hour']} USD/h",
            len(load_balancers) * unit["alb_hour"] * hours,
        )
    )
    lcu = float(usage["alb_public_lcu"]) + float(usage["alb_internal_lcu"])
    lines.append(Line("Load balancer capacity units", f"{lcu:g} LCU average", lcu * unit["alb_lcu_hour"] * hours))
    lines.append(
        Line(
            "Data out to the internet",
            f"{usage['internet_out_gb']} GB",
            usage["internet_out_gb"] * unit["internet_transfer_out_gb"],
        )
    )

    # WAF: the web ACL, each rule or managed rule group, the requests it inspects.
    for acl in created(edge, "AWS::WAFv2::WebACL"):
        rules = len(acl["Properties"]["Rules"])
        lines.append(
            Line(
                "WAF web ACL and rules",
                f"1 ACL + {rules} rules + {usage['waf_million_requests']} M requests",
                unit["waf_web_acl_month"]
                + rules * unit["waf_rule_month"]
                + usage["waf_million_requests"] * unit["waf_million_requests"],
            )
        )

    if created(edge, "AWS::CloudFront::Distribution"):
        lines.append(
            Line(
                "CloudFront (product images)",
                f"{usage['cloudfront_gb']} GB + {usage['cloudfront_10k_requests'] / 100:g} M requests",
                usage["cloudfront_gb"] * unit["cloudfront_korea_gb"]
                + usage["cloudfront_10k_requests"] * unit["cloudfront_https_10k_requests"],
            )
        )
    return lines


def _operations_lines(templates: Templates, settings: Mapping[str, str], prices: Mapping[str, Any]) -> list[Line]:
    """Keys, monitoring, logs, backups and the pipelines."""
    unit = prices["unit"]
    usage = prices["usage"]
    compute = templates.children["Compute"]
    lines: list[Line] = []

    # Keys, alarms, dashboards and logs, counted over every child (and the copy vault's key).
    keys = sum(len(created(t, "AWS::KMS::Key")) for t in templates.children.values())
    copy_vault = load_template(HERE / "backup-copy-vault.yaml")
    keys += len(created(copy_vault, "AWS::KMS::Key"))
    lines.append(Line("KMS customer-managed keys", f"{keys} keys", keys * unit["kms_key_month"]))
    alarms = sum(len(created(t, "AWS::CloudWatch::Alarm")) for t in templates.children.values())
    dashboards = sum(len(created(t, "AWS::CloudWatch::Dashboard")) for t in templates.children.values())
    lines.append(
        Line(
            "CloudWatch alarms and dashboards",
            f"{alarms} alarms + {dashboards} dashboard",
            alarms * unit["cloudwatch_alarm_month"] + dashboards * unit["cloudwatch_dashboard_month"],
        )
    )
    insights = any(
        setting.get("Name") == "containerInsights" and setting.get("Value") == "enabled"
        for cluster in created(compute, "AWS::ECS::Cluster")
        for setting in cluster["Properties"].get("ClusterSettings", [])
    )
    # Memory and disk per Auto Scaling group, from the CloudWatch agent.
    agent_metrics = 2 * len(created(compute, "AWS::AutoScaling::AutoScalingGroup"))
    metrics = agent_metrics + (int(usage["container_insights_metrics"]) if insights else 0)
    lines.append(
        Line("CloudWatch custom metrics", f"{metrics} metrics", metrics * unit["cloudwatch_custom_metric_month"])
    )
    lines.append(
        Line(
            "CloudWatch Logs ingestion",
            f"{usage['logs_ingested_gb']} GB",
            usage["logs_ingested_gb"] * unit["cloudwatch_logs_ingested_gb"],
        )
    )

    # Backups: storage here, the copies in the second region and the transfer there.
    lines.append(
        Line(
            "AWS Backup storage and second-region copies",
            f"{usage['database_backup_gb']} GB + {usage['copied_backup_gb']} GB copied",
            (usage["database_backup_gb"] + usage["copied_backup_gb"]) * unit["backup_rds_gb_month"]
            + usage["copied_backup_transfer_gb"] * unit["inter_region_transfer_gb"],
        )
    )

    # The pipelines: build minutes and V2 action minutes beyond the free ones.
    pipeline_minutes = max(0, usage["pipeline_action_minutes"] - unit["codepipeline_v2_free_action_minutes"])
    lines.append(
        Line(
            "CodeBuild and CodePipeline V2",
            f"{usage['build_minutes']} build min + {pipeline_minutes} action min",
            usage["build_minutes"] * unit["codebuild_general1_medium_minute"]
            + pipeline_minutes * unit["codepipeline_v2_action_minute"],
        )
    )
    return lines


def total(lines: Iterable[Line]) -> float:
    return round(sum(line.monthly for line in lines), 2)
