"""The monthly cost estimate (modules/cli/cost.py) of every example's synthesized stacks, the
`hypernym-deploy cost` command, and the plan review's delta.

Billing rules encoded here (AWS pricing pages, cited in modules/cli/prices.toml): an interface
endpoint bills per hour in each Availability Zone it has a subnet in, gateway endpoints are
free; a NAT gateway and an ALB bill per hour each; Fargate per vCPU-hour and GB-hour of the task
size; the EKS control plane per cluster-hour; a metric-math alarm per metric it reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.cli import cost
from modules.cli.main import main
from modules.cli.plan_review import ReviewPolicy, render_markdown, review_plan
from modules.config import load_config, resolve_config_path
from tests.infra.examples import EXAMPLES, stack_dirs

HOURS = 730


def resources_of(cdktf_out: Path) -> list[cost.Resource]:
    return cost.synthesized_resources(
        json.loads((stack / "cdk.tf.json").read_text()) for stack in stack_dirs(cdktf_out)
    )


@pytest.fixture(scope="module")
def examples(synth_example: Callable[[str], Path]) -> dict[str, list[cost.Resource]]:
    return {name: resources_of(synth_example(name)) for name in EXAMPLES}


def line(items: list[cost.LineItem], name: str) -> cost.LineItem:
    (found,) = [i for i in items if i.item == name]
    return found


def interface_endpoints(resources: list[cost.Resource]) -> list[dict[str, Any]]:
    return [
        dict(r.values)
        for r in resources
        if r.type == "aws_vpc_endpoint" and r.values["vpc_endpoint_type"] == "Interface"
    ]


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_is_priced_in_its_region_and_every_resource_is_classified(
    example: str, examples: dict[str, list[cost.Resource]]
) -> None:
    config = load_config(resolve_config_path(example))
    resources = examples[example]
    prices = cost.load_prices(config.region)
    items = cost.estimate(resources, prices)
    assert cost.unpriced_types(resources) == []
    for item in items:
        assert 0 <= item.minimum <= item.maximum, item
    low, high = cost.totals(items)
    assert 0 < low < high
    # Interface endpoints bill per AZ: one hour per endpoint and zone.
    endpoints = interface_endpoints(resources)
    zones = len(config.network.private_subnet_cidrs)
    assert all(len(e["subnet_ids"]) == zones for e in endpoints)
    hourly = line(items, "Interface endpoints (per AZ-hour)")
    expected = len(endpoints) * zones * HOURS * prices.rate("interface_endpoint_az_hour")
    assert hourly.minimum == hourly.maximum == pytest.approx(expected)
    # The ALB (ECS's own, or the EKS controller's) is always there.
    assert line(items, "Application Load Balancer (hours)").minimum == pytest.approx(
        HOURS * prices.rate("alb_hour")
    )
    nat = [i for i in items if i.item.startswith("NAT gateways")]
    assert bool(nat) == (config.network.nat_gateways != "none")


@pytest.mark.parametrize(
    # The issue counted 5 and 8; the async jobs' SQS endpoint and the autoscaler's came since.
    ("example", "endpoints", "monthly"),
    [("ecs-managed", 6, 87.6), ("eks-byop", 10, 146.0)],
)
def test_the_issues_endpoint_figures_at_us_east_1_prices(
    example: str, endpoints: int, monthly: float, examples: dict[str, list[cost.Resource]]
) -> None:
    # The design counted $0.01/hour per endpoint ($36 for 5); billing is per endpoint and AZ.
    # (The issue's eks-byop had 8 endpoints, $117; the Cluster Autoscaler added autoscaling.)
    resources = examples[example]
    assert len(interface_endpoints(resources)) == endpoints
    items = cost.estimate(resources, cost.load_prices("us-east-1"))
    assert line(items, "Interface endpoints (per AZ-hour)").minimum == pytest.approx(monthly)


def test_fargate_and_nodes_scale_from_the_minimum_to_the_maximum(
    examples: dict[str, list[cost.Resource]],
) -> None:
    ecs = load_config(resolve_config_path("ecs-managed"))
    prices = cost.load_prices(ecs.region)
    items = cost.estimate(examples["ecs-managed"], prices)
    vcpu = line(items, "Fargate vCPU")
    per_task = ecs.service.cpu / 1024 * HOURS * prices.rate("fargate_vcpu_hour", "X86_64")
    assert vcpu.minimum == pytest.approx(ecs.service.min_count * per_task)
    assert vcpu.maximum == pytest.approx(ecs.service.max_count * per_task)
    eks = load_config(resolve_config_path("eks-byop"))
    items = cost.estimate(examples["eks-byop"], prices)
    nodes = line(items, f"EKS nodes ({eks.eks.node_instance_type})")
    per_node = HOURS * prices.rate("ec2_hour", eks.eks.node_instance_type)
    assert nodes.minimum == pytest.approx(eks.eks.node_min_count * per_node)
    assert nodes.maximum == pytest.approx(eks.eks.node_max_count * per_node)
    assert line(items, "EKS control plane").minimum == pytest.approx(73.0)


def test_alarms_are_priced_per_metric_they_read(examples: dict[str, list[cost.Resource]]) -> None:
    resources = examples["ecs-managed"]
    alarms = [r for r in resources if r.type == "aws_cloudwatch_metric_alarm"]
    rates = [r for r in alarms if r.values.get("metric_query")]
    assert len(rates) == 2  # the two 5xx rates read two metrics each
    items = cost.estimate(resources, cost.load_prices("eu-west-1"))
    assert line(items, "CloudWatch alarms").minimum == pytest.approx((len(alarms) + 2) * 0.10)


def test_an_instance_type_without_a_price_is_named() -> None:
    group = cost.Resource(
        "aws_eks_node_group",
        {"scaling_config": {"min_size": 1, "max_size": 2}, "instance_types": ["x9.huge"]},
    )
    with pytest.raises(cost.PriceTableError, match=r"no ec2_hour price for x9\.huge in eu-west-1"):
        cost.estimate([group], cost.load_prices("eu-west-1"))


def test_the_command_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cost", "--config", "ecs-managed"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### hypernym: monthly cost in eu-west-1\n")
    assert "| Line item | Quantity (minimum-maximum) | Minimum | Maximum |" in out
    assert "| **Total** |" in out
    assert "On-demand list prices of 2026-12-03" in out


def test_errors_naming_a_region_without_prices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment = tmp_path / "mumbai.toml"
    deployment.write_text(
        'name = "mumbai"\nregion = "ap-south-1"\n'
        '[service]\nimage = "123456789012.dkr.ecr.ap-south-1.amazonaws.com/hypernym-api:1.0"\n'
        '[inference]\nmanaged_api_url = "http://gateway.internal:4000/v1"\n'
        '[marketplace]\nmetering = "off"\n'
        '[api]\nkeys_secret_arn = "arn:aws:secretsmanager:ap-south-1:123456789012:secret:k-AbC"\n'
    )
    assert main(["cost", "--config", str(deployment)]) == 2
    (message,) = capsys.readouterr().err.splitlines()
    assert message.startswith("error: prices.toml has no prices for region ap-south-1 (priced: ")
    assert "add a [regions.ap-south-1] table" in message


# --- the plan review's delta --------------------------------------------------------------------


def endpoint_change(name: str, actions: list[str], before: Any, after: Any) -> dict[str, Any]:
    return {
        "address": f"aws_vpc_endpoint.{name}",
        "mode": "managed",
        "type": "aws_vpc_endpoint",
        "name": name,
        "change": {"actions": actions, "before": before, "after": after, "after_unknown": {}},
    }


def plan(region: str = "eu-west-1") -> dict[str, Any]:
    """A plan keeping one interface endpoint in 2 AZs and adding one on new subnets (their IDs
    unknown until apply, so only the configuration says how many)."""
    kept = {"vpc_endpoint_type": "Interface", "subnet_ids": ["subnet-a", "subnet-b"]}
    added = {"vpc_endpoint_type": "Interface", "subnet_ids": None}
    return {
        "format_version": "1.2",
        "resource_changes": [
            endpoint_change("logs", ["no-op"], kept, kept),
            endpoint_change("sts", ["create"], None, added),
        ],
        "configuration": {
            "provider_config": {
                "aws": {"name": "aws", "expressions": {"region": {"constant_value": region}}}
            },
            "root_module": {
                "resources": [
                    {
                        "address": "aws_vpc_endpoint.sts",
                        "expressions": {
                            "subnet_ids": {
                                "references": [
                                    "aws_subnet.a.id",
                                    "aws_subnet.a",
                                    "aws_subnet.b.id",
                                    "aws_subnet.b",
                                ]
                            }
                        },
                    }
                ]
            },
        },
    }


def test_the_plan_review_shows_the_monthly_delta() -> None:
    review = review_plan("net", plan())
    assert isinstance(review.cost, cost.CostDelta)
    one_endpoint = 2 * HOURS * cost.load_prices("eu-west-1").rate("interface_endpoint_az_hour")
    assert review.cost.delta[0] == pytest.approx(one_endpoint)
    assert review.cost.delta[1] == pytest.approx(one_endpoint)
    markdown = render_markdown([review], ReviewPolicy())
    assert f"Monthly cost change: **+${one_endpoint:,.2f}** at minimum scale" in markdown
    assert "Monthly cost (eu-west-1, prices of 2026-12-03): minimum" in markdown


def test_the_plan_review_says_why_a_region_has_no_estimate() -> None:
    review = review_plan("net", plan("ap-south-1"))
    markdown = render_markdown([review], ReviewPolicy())
    assert "Monthly cost: no estimate: prices.toml has no prices for region ap-south-1" in markdown
    assert "Monthly cost change" not in markdown
