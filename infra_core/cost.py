"""The core platform's monthly cost, from what its templates create and the price table beside them.

`python -m infra_core.cost` (or `make cost`) prints, line by line, what the original design's sizing
costs as the templates build it, what the cost-optimised profile costs, what each cheaper option
saves, and whether the cost-optimised target can be met. Counts (instances, NAT gateways, endpoints,
keys, alarms, rules) come from the templates and the sizing profiles of `platform.yaml`; prices and
the assumed traffic come from `prices.ap-northeast-2.toml`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.template import load_template

HERE = Path(__file__).resolve().parent
PRICES_PATH = HERE / "prices.ap-northeast-2.toml"
PLATFORM_PATH = HERE / "platform.yaml"


@dataclass(frozen=True)
class Line:
    """One line of the estimate: what, how much of it, and its monthly price in USD."""

    item: str
    quantity: str
    monthly: float


@dataclass(frozen=True)
class Templates:
    """The parent and its children, each as CloudFormation would read it."""

    platform: dict[str, Any]
    children: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, platform_path: Path = PLATFORM_PATH) -> Templates:
        platform = load_template(platform_path)
        children = {
            logical_id: load_template(platform_path.parent / spec["Properties"]["Location"])
            for logical_id, spec in platform["Resources"].items()
        }
        return cls(platform=platform, children=children)

    def settings(self, profile: str) -> dict[str, str]:
        """The values a sizing profile of platform.yaml gives its children."""
        return dict(self.platform["Mappings"]["Sizing"][profile])

    def profiles(self) -> list[str]:
        return list(self.platform["Mappings"]["Sizing"])


def load_prices(path: Path = PRICES_PATH) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _default(template: Mapping[str, Any], parameter: str) -> Any:
    return template["Parameters"][parameter]["Default"]


def _condition_holds(template: Mapping[str, Any], name: str, parameters: Mapping[str, str]) -> bool:
    """Evaluates the few condition functions the children use, against given parameter values."""

    def value(node: Any) -> Any:
        if isinstance(node, dict) and "Ref" in node:
            ref = node["Ref"]
            return parameters.get(ref, template["Parameters"].get(ref, {}).get("Default"))
        return node

    def holds(node: Any) -> bool:
        if isinstance(node, dict) and "Condition" in node:
            return holds(template["Conditions"][node["Condition"]])
        (function, arguments), *_ = node.items()
        if function == "Fn::Equals":
            return bool(value(arguments[0]) == value(arguments[1]))
        if function == "Fn::Not":
            return not holds(arguments[0])
        if function == "Fn::And":
            return all(holds(a) for a in arguments)
        if function == "Fn::Or":
            return any(holds(a) for a in arguments)
        raise ValueError(f"cannot evaluate {function} in condition {name}")

    return holds(template["Conditions"][name])


def _resources(
    template: Mapping[str, Any], resource_type: str, parameters: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The resources of a type that a deployment with these parameter values creates."""
    created = []
    for spec in template["Resources"].values():
        if spec["Type"] != resource_type:
            continue
        condition = spec.get("Condition")
        if condition and not _condition_holds(template, condition, parameters or {}):
            continue
        created.append(spec)
    return created


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
    groups = _resources(compute, "AWS::AutoScaling::AutoScalingGroup")
    instances = len(groups) * int(_default(compute, "MinInstancesPerTier"))
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
        for template in _resources(compute, "AWS::EC2::LaunchTemplate")[:1]
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
    for db in _resources(database, "AWS::RDS::DBInstance"):
        copies = 2 if db["Properties"].get("MultiAZ") is True else 1
        db_hour = float(prices["rds_postgres_instance_hour"][db_class])
        az_note = "Multi-AZ" if copies == 2 else "single-AZ"
        lines.append(
            Line(f"RDS PostgreSQL {db_class} {az_note}", f"{copies} x {db_hour} USD/h", copies * db_hour * hours)
        )
        storage = int(_default(database, "AllocatedStorageGiB"))
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
    nat_gateways = len(_resources(network, "AWS::EC2::NatGateway", network_parameters))
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
        for e in _resources(endpoints, "AWS::EC2::VPCEndpoint", endpoint_parameters)
        if e["Properties"].get("VpcEndpointType") == "Interface"
    ]
    nat_gb = float(usage["nat_processed_gb"]) - (float(usage["endpoint_processed_gb"]) if interface_endpoints else 0.0)
    lines.append(Line("NAT data processing", f"{nat_gb:g} GB", nat_gb * unit["nat_gateway_gb"]))
    zones = 2
    load_balancers = _resources(edge, "AWS::ElasticLoadBalancingV2::LoadBalancer") + _resources(
        compute, "AWS::ElasticLoadBalancingV2::LoadBalancer"
    )
    internet_facing = sum(1 for lb in load_balancers if lb["Properties"].get("Scheme") == "internet-facing")
    addresses = len(_resources(network, "AWS::EC2::EIP", network_parameters)) + internet_facing * zones
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
    for acl in _resources(edge, "AWS::WAFv2::WebACL"):
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

    if _resources(edge, "AWS::CloudFront::Distribution"):
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
    keys = sum(len(_resources(t, "AWS::KMS::Key")) for t in templates.children.values())
    copy_vault = load_template(HERE / "backup-copy-vault.yaml")
    keys += len(_resources(copy_vault, "AWS::KMS::Key"))
    lines.append(Line("KMS customer-managed keys", f"{keys} keys", keys * unit["kms_key_month"]))
    alarms = sum(len(_resources(t, "AWS::CloudWatch::Alarm")) for t in templates.children.values())
    dashboards = sum(len(_resources(t, "AWS::CloudWatch::Dashboard")) for t in templates.children.values())
    lines.append(
        Line(
            "CloudWatch alarms and dashboards",
            f"{alarms} alarms + {dashboards} dashboard",
            alarms * unit["cloudwatch_alarm_month"] + dashboards * unit["cloudwatch_dashboard_month"],
        )
    )
    insights = any(
        setting.get("Name") == "containerInsights" and setting.get("Value") == "enabled"
        for cluster in _resources(compute, "AWS::ECS::Cluster")
        for setting in cluster["Properties"].get("ClusterSettings", [])
    )
    # Memory and disk per Auto Scaling group, from the CloudWatch agent.
    agent_metrics = 2 * len(_resources(compute, "AWS::AutoScaling::AutoScalingGroup"))
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


# Each cheaper option on its own, applied to the design's sizing.
OPTIONS: dict[str, dict[str, str]] = {
    "Graviton container instances (m6g.large)": {"InstanceType": "m6g.large"},
    "Graviton database (db.m6g.large)": {"DbInstanceClass": "db.m6g.large"},
    "one NAT gateway (dev)": {"SingleNatGateway": "true"},
    "no interface endpoints (traffic through NAT)": {"InterfaceEndpoints": "false"},
    "smaller dev database (db.t4g.medium)": {"DbInstanceClass": "db.t4g.medium"},
}

# The original design's sizing: the lines its 856.72 USD is made of, as far as its total tells.
ORIGINAL_DESIGN_LINES = ("EC2 ", "EBS gp3", "RDS PostgreSQL", "RDS gp3", "NAT gateways", "Application load balancers")

# What the brief holds fixed for the cost-optimised profile: two zones, Multi-AZ, the same capacity.
FIXED_BY_THE_BRIEF = (
    "EC2 ",
    "EBS gp3",
    "RDS PostgreSQL",
    "RDS gp3",
    "NAT gateways",
    "Public IPv4",
    "Application load balancers",
)


def report(templates: Templates | None = None, prices: Mapping[str, Any] | None = None) -> list[str]:
    """The text `make cost` prints."""
    templates = templates or Templates.load()
    prices = prices or load_prices()
    original = float(prices["original_design"]["total"])
    target = float(prices["original_design"]["target_cost_optimised"])
    design = estimate(templates, templates.settings("design"), prices)
    optimised = estimate(templates, templates.settings("cost-optimised"), prices)
    out = ["Core platform, ap-northeast-2, on-demand USD a month (prices: infra_core/prices.ap-northeast-2.toml)", ""]

    original_lines = [line for line in design if line.item.startswith(ORIGINAL_DESIGN_LINES)]
    remainder = round(original - total(original_lines), 2)
    out.append(f"{'line':<46} {'original':>9} {'design':>9} {'optimised':>9}  quantity (design / cost-optimised)")
    optimised_by_kind = {_kind(line.item): line for line in optimised}
    for line in design:
        other = optimised_by_kind.pop(_kind(line.item), None)
        in_original = f"{line.monthly:9.2f}" if line in original_lines else f"{'-':>9}"
        other_price = f"{other.monthly:9.2f}" if other else f"{'-':>9}"
        other_quantity = other.quantity if other else "-"
        out.append(
            f"{line.item:<46} {in_original} {line.monthly:9.2f} {other_price}  {line.quantity} / {other_quantity}"
        )
    for line in optimised_by_kind.values():
        out.append(f"{line.item:<46} {'-':>9} {'-':>9} {line.monthly:9.2f}  - / {line.quantity}")
    out.append(f"{'original: its small items, not itemised':<46} {remainder:9.2f} {'-':>9} {'-':>9}")
    out.append(f"{'sum':<46} {original:9.2f} {total(design):9.2f} {total(optimised):9.2f}")
    out.append("")
    out.append(
        f"The original design's {original:.2f} is known only as a total; its lines above are its sizing "
        "(four m5.large, db.m5.large Multi-AZ, two NAT gateways, two load balancers) priced with this table, "
        "and the rest is its small items. "
        f"The design as built here costs {total(design) - original:+.2f} more: interface endpoints, WAF, CloudFront, "
        "public IPv4 addresses, keys, logs and metrics, backup copies in a second region, the pipelines."
    )
    out.append("")
    out.append("What each cheaper option saves on its own, from the design's sizing:")
    for name, change in OPTIONS.items():
        saved = total(design) - total(estimate(templates, {**templates.settings("design"), **change}, prices))
        out.append(f"  {name:<46} {saved:8.2f}")
    out.append("")
    fixed = [line for line in optimised if line.item.startswith(FIXED_BY_THE_BRIEF)]
    floor = total(fixed)
    out.append(
        f"Target for the cost-optimised profile: {target:.2f}. The lines the brief fixes (two zones, Multi-AZ, "
        "the same capacity) cost alone, at the cost-optimised prices:"
    )
    for line in fixed:
        out.append(f"  {line.item:<46} {line.monthly:8.2f}")
    verdict = "cannot be reached on demand" if floor > target else "can be reached"
    out.append(f"  {'floor':<46} {floor:8.2f}  -> {target:.2f} {verdict}")
    out.append("")
    out.append(f"design total: {total(design):.2f} USD/month")
    out.append(f"cost-optimised total: {total(optimised):.2f} USD/month")
    return out


def _kind(item: str) -> str:
    """A line's kind, the same across profiles (the instance type or class in its name aside)."""
    words = item.split()
    return " ".join(w for w in words if not any(ch.isdigit() for ch in w) or w in {"gp3", "IPv4", "V2"})


def main() -> None:
    # The report is this command's output.
    print("\n".join(report()))  # noqa: T201


if __name__ == "__main__":
    main()
