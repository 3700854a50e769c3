"""The core platform's cost estimate: counted from the templates, priced from the table in the repository."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from infra_core.cost import report
from infra_core.estimate import Line, estimate, load_prices, total
from infra_core.templates import Templates
from local_stack.template import ROOT, samconfig_parameters

TEMPLATES = Templates.load()
PRICES = load_prices()


def line(lines: list[Line], starts_with: str) -> Line:
    (found,) = [entry for entry in lines if entry.item.startswith(starts_with)]
    return found


def test_the_design_runs_four_instances_and_a_multi_az_database_of_the_original_sizing() -> None:
    # GIVEN the design profile of platform.yaml
    lines = estimate(TEMPLATES, TEMPLATES.settings("design"), PRICES)

    # THEN two tiers of two m5.large each and a db.m5.large with its standby are priced
    hours = PRICES["hours_per_month"]
    assert line(lines, "EC2 m5.large").monthly == pytest.approx(4 * 0.118 * hours)
    assert line(lines, "RDS PostgreSQL db.m5.large Multi-AZ").monthly == pytest.approx(2 * 0.236 * hours)
    # AND a NAT gateway per zone and the interface endpoints in both zones
    assert line(lines, "NAT gateways").quantity.startswith("2 x")
    assert line(lines, "Interface VPC endpoints").quantity == "7 x 2 zones"


def test_the_estimate_follows_the_templates_not_a_copy_of_them() -> None:
    # GIVEN the compute child asks for three instances per tier instead of two
    templates = copy.deepcopy(TEMPLATES)
    templates.children["Compute"]["Parameters"]["MinInstancesPerTier"]["Default"] = 3

    # WHEN the design is estimated
    lines = estimate(templates, templates.settings("design"), PRICES)

    # THEN six instances are priced
    assert line(lines, "EC2 m5.large").quantity.startswith("6 x")


def test_dev_leaves_through_one_nat_gateway_and_pays_no_endpoints() -> None:
    lines = estimate(TEMPLATES, TEMPLATES.settings("dev"), PRICES)
    assert line(lines, "NAT gateways").quantity.startswith("1 x")
    assert not [entry for entry in lines if entry.item.startswith("Interface VPC endpoints")]
    assert line(lines, "Public IPv4").quantity.startswith("3 x")  # one NAT address, two for the load balancer


def test_the_cost_optimised_profile_keeps_zones_multi_az_and_capacity_and_costs_less() -> None:
    # GIVEN the two profiles
    design = estimate(TEMPLATES, TEMPLATES.settings("design"), PRICES)
    optimised = estimate(TEMPLATES, TEMPLATES.settings("cost-optimised"), PRICES)

    # THEN the cost-optimised one keeps the instance count, the standby and a NAT gateway per zone
    assert line(optimised, "EC2 ").quantity.split(" x ")[0] == line(design, "EC2 ").quantity.split(" x ")[0]
    assert "Multi-AZ" in line(optimised, "RDS PostgreSQL").item
    assert line(optimised, "NAT gateways").quantity.startswith("2 x")
    # AND the same 2 vCPU / 8 GiB sizes, on Graviton
    assert TEMPLATES.settings("cost-optimised")["InstanceType"] == "m6g.large"
    assert TEMPLATES.settings("cost-optimised")["DbInstanceClass"] == "db.m6g.large"
    # AND it costs less than the design
    assert total(optimised) < total(design)


def test_the_report_prints_every_total_and_says_whether_the_target_can_be_met() -> None:
    # WHEN make cost's report is produced
    lines = report(TEMPLATES, PRICES)

    # THEN it ends with each profile's total, each on a line with the word total
    totals = [text for text in lines if "total" in text and text.endswith("USD/month")]
    assert [t.split(":")[0] for t in totals] == ["design total", "cost-optimised total", "dev total"]
    # AND it compares with the original design's 856.72 line by line, the lines summing to it
    assert any(text.startswith("sum") and "856.72" in text for text in lines)
    # AND it states, from the fixed lines alone, whether 430 USD can be reached
    floor = next(text for text in lines if text.strip().startswith("floor"))
    assert "430.00" in floor


def test_a_cheaper_price_table_can_reach_the_target() -> None:
    # GIVEN prices at a third of today's (say, a three-year commitment modelled as a price table)
    prices: dict[str, Any] = copy.deepcopy(PRICES)
    for table in ("ec2_instance_hour", "rds_postgres_instance_hour"):
        prices[table] = {k: v / 3 for k, v in prices[table].items()}

    # WHEN the report is produced
    floor = next(text for text in report(TEMPLATES, prices) if text.strip().startswith("floor"))

    # THEN it says the target can be reached
    assert floor.endswith("can be reached")


def test_samconfig_offers_the_cost_optimised_profile_beside_the_existing_environments() -> None:
    # GIVEN the deploy environments of samconfig.toml
    optimised = samconfig_parameters("prod-cost-optimised")

    # THEN one deploys prod with the platform at its cost-optimised sizing
    assert optimised["EnvironmentName"] == "prod"
    assert optimised["DeployCorePlatform"] == "true"
    assert optimised["CorePlatformSizing"] == "cost-optimised"
    # AND dev and prod are as they were: the platform stays off unless asked for
    for environment in ("dev", "prod"):
        assert "DeployCorePlatform" not in samconfig_parameters(environment)


def test_the_manuals_cost_table_is_what_make_cost_prints() -> None:
    # GIVEN the cost table of docs/core-platform.md and the report `make cost` prints
    manual = (ROOT / "docs" / "core-platform.md").read_text(encoding="utf-8")
    printed = "\n".join(report())
    rows = dict(
        re.findall(r"^\| (original design's estimate|design|cost-optimised|dev)\b[^|]*\| ([0-9.]+) \|$", manual, re.M)
    )
    # THEN every profile's figure in the manual is the one printed
    assert set(rows) == {"original design's estimate", "design", "cost-optimised", "dev"}
    for profile in ("design", "cost-optimised", "dev"):
        assert f"{profile} total: {rows[profile]} USD/month" in printed
    assert rows["original design's estimate"] == f"{float(PRICES['original_design']['total']):.2f}"
