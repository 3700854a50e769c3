"""The core platform's monthly cost, from what its templates create and the price table beside them.

`python -m infra_core.cost` (or `make cost`) prints, line by line, what the original design's sizing
costs as the templates build it, what the cost-optimised profile costs, what each cheaper option
saves, whether the cost-optimised target can be met, and each profile's total
(dev included). Counts (instances, NAT gateways, endpoints,
keys, alarms, rules) come from the templates and the sizing profiles of `platform.yaml`; prices and
the assumed traffic come from `prices.ap-northeast-2.toml`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra_core.estimate import estimate, load_prices, total
from infra_core.templates import Templates

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
    out.append(f"dev total: {total(estimate(templates, templates.settings('dev'), prices)):.2f} USD/month")
    return out


def _kind(item: str) -> str:
    """A line's kind, the same across profiles (the instance type or class in its name aside)."""
    words = item.split()
    return " ".join(w for w in words if not any(ch.isdigit() for ch in w) or w in {"gp3", "IPv4", "V2"})


def main(argv: list[str] | None = None) -> int:
    """`python -m infra_core.cost` (`make cost`): print the report; returns 0."""
    import argparse  # noqa: PLC0415 - only the command needs it

    argparse.ArgumentParser(
        prog="python -m infra_core.cost",
        description="The core platform's monthly on-demand cost in ap-northeast-2 for each sizing profile "
        "(design, cost-optimised, dev), from its templates and infra_core/prices.ap-northeast-2.toml.",
    ).parse_args(argv)
    # The report is this command's output.
    print("\n".join(report()))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
