"""Reachability from the synthesized JSON: the declared flows hold for every example and the
existing-VPC variants, and a broken rule fails with a line naming the flow."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.cli.main import main
from modules.cli.reachability import Body, analyze, matrix
from modules.config import DeploymentConfig
from tests.infra.conftest import (
    EXISTING_VPC,
    example,
    existing_vpc_nat_config,
    existing_vpc_own_endpoints_config,
    varied,
)
from tests.infra.examples import EXAMPLES, stack_dirs


def existing_vpc_variants() -> dict[str, DeploymentConfig]:
    """Existing VPCs: with its own endpoints and S3 gateway (managed), with its own NAT (BYOP),
    and EKS in one."""
    return {
        "existing-vpc-own-endpoints": existing_vpc_own_endpoints_config(),
        "existing-vpc-nat-byop": existing_vpc_nat_config(),
        "existing-vpc-eks": varied(
            example("eks-managed"),
            network={**EXISTING_VPC, "create_vpc_endpoints": False},
            inference={"managed_api_cidrs": ()},
        ),
    }


Deployment = tuple[DeploymentConfig, dict[str, Body]]


def documents(cdktf_out: Path) -> dict[str, Body]:
    return {d.name: json.loads((d / "cdk.tf.json").read_text()) for d in stack_dirs(cdktf_out)}


@pytest.fixture(scope="session")
def deployments(
    synth_example: Callable[[str], Path], synth_config: Callable[..., Path]
) -> dict[str, Deployment]:
    found = {name: (example(name), documents(synth_example(name))) for name in EXAMPLES}
    for label, config in existing_vpc_variants().items():
        found[label] = (config, documents(synth_config(config, label)))
    return found


def failures(config: DeploymentConfig, docs: dict[str, Body]) -> list[str]:
    return [v.line() for v in analyze(config, docs) if not v.holds]


@pytest.mark.parametrize("name", [*EXAMPLES, *existing_vpc_variants()])
def test_every_declared_flow_holds(name: str, deployments: dict[str, Deployment]) -> None:
    config, docs = deployments[name]
    verdicts = analyze(config, docs)
    assert [v.line() for v in verdicts if not v.holds] == [], matrix(config, verdicts)


def flows(deployments: dict[str, Deployment], name: str) -> set[tuple[str, str, int, bool]]:
    config, docs = deployments[name]
    return {
        (v.flow.source, v.flow.target, v.flow.port, v.flow.needed) for v in analyze(config, docs)
    }


def test_ecs_declares_the_endpoints_s3_gateway_alb_and_clients(
    deployments: dict[str, Deployment],
) -> None:
    declared = flows(deployments, "ecs-managed")
    for service in ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "metering.marketplace"):
        assert ("tasks", f"AWS {service}", 443, True) in declared
    assert ("tasks", "S3", 443, True) in declared
    assert ("tasks", "10.0.0.0/16", 4000, True) in declared  # the managed gateway
    assert ("tasks", "internet", 0, False) in declared  # forbidden in managed mode, any port
    assert ("clients 10.0.0.0/16", "load balancer", 80, True) in declared
    assert ("load balancer", "tasks", 8000, True) in declared
    assert ("0.0.0.0/0, ::/0", "any group", 0, False) in declared


def test_byop_declares_the_provider_through_nat(deployments: dict[str, Deployment]) -> None:
    assert ("tasks", "internet", 443, True) in flows(deployments, "ecs-byop")
    assert ("tasks", "internet", 443, True) in flows(deployments, "existing-vpc-nat-byop")


def test_metering_goes_through_its_looked_up_endpoint_or_else_the_nat(
    deployments: dict[str, Deployment], synth_config: Callable[..., Path]
) -> None:
    # GIVEN the metering endpoint named through its plan-time lookup (managed: no NAT) ...
    config, docs = deployments["ecs-managed"]
    (metering,) = [v for v in analyze(config, docs) if v.flow.target == "AWS metering.marketplace"]
    assert metering.holds, metering.line()
    assert metering.why.endswith("; private DNS"), metering.line()
    # ... or no endpoint in a region without it (BYOP): metering leaves through the NAT.
    config = varied(example("ecs-byop"), marketplace={"metering_endpoint": False})
    verdicts = analyze(config, documents(synth_config(config, "metering-through-nat")))
    (metering,) = [v for v in verdicts if v.flow.target == "AWS metering.marketplace"]
    assert metering.holds, metering.line()
    assert "NAT gateway" in metering.why, metering.line()


def test_eks_declares_sts_ec2_elb_and_the_api_for_nodes_and_the_runner(
    deployments: dict[str, Deployment],
) -> None:
    declared = flows(deployments, "eks-managed")
    for service in ("sts", "ec2", "elasticloadbalancing", "ecr.api", "ecr.dkr", "logs"):
        assert ("nodes and pods", f"AWS {service}", 443, True) in declared
    assert ("nodes and pods", "EKS API endpoint", 443, True) in declared
    assert ("runner 10.2.0.0/16", "EKS API endpoint", 443, True) in declared
    assert ("nodes and pods", "internet", 0, False) in declared


# --- a deliberately broken rule fails, naming the flow -------------------------------------------


def without(docs: dict[str, Body], kind: str, id_part: str) -> dict[str, Body]:
    """A copy of `docs` with the resources of `kind` whose logical id contains `id_part` removed."""
    broken = copy.deepcopy(docs)
    removed = 0
    for document in broken.values():
        by_name = document.get("resource", {}).get(kind, {})
        for name in [n for n in by_name if id_part in n]:
            del by_name[name]
            removed += 1
    assert removed, f"nothing of {kind} matches {id_part!r}"
    return broken


def test_a_missing_s3_prefix_list_rule_fails_naming_the_flow(
    deployments: dict[str, Deployment],
) -> None:
    config, docs = deployments["ecs-managed"]
    broken = without(docs, "aws_vpc_security_group_egress_rule", "tasks_to-s3")
    (line,) = failures(config, broken)
    assert line.startswith("needed flow tasks -> S3 on 443 (ECR image layers) is unreachable: ")
    assert "no egress rule of tasks admits the S3 prefix list" in line


def test_ingress_from_anywhere_fails_naming_the_rule(deployments: dict[str, Deployment]) -> None:
    config, docs = deployments["ecs-managed"]
    broken = copy.deepcopy(docs)
    rules = broken["hypernym-ecs"]["resource"]["aws_vpc_security_group_ingress_rule"]
    (name,) = [n for n in rules if "alb_clients-1" in n]
    rules[name]["cidr_ipv4"] = "0.0.0.0/0"
    (line,) = failures(config, broken)
    assert line.startswith("forbidden flow 0.0.0.0/0, ::/0 -> any group on any port ")
    assert "hypernym-alb-clients-1-port-80" in line


def test_internet_egress_needs_both_the_rule_and_a_nat_route(
    deployments: dict[str, Deployment],
) -> None:
    # GIVEN managed mode, whose tasks must not reach the internet
    config, docs = deployments["ecs-managed"]
    broken = copy.deepcopy(docs)
    rules = broken["hypernym-ecs"]["resource"]["aws_vpc_security_group_egress_rule"]
    (name,) = [n for n in rules if "tasks_to-s3" in n]
    opened: dict[str, Any] = {**rules[name], "cidr_ipv4": "0.0.0.0/0"}
    del opened["prefix_list_id"]
    rules[f"{name}-anywhere"] = opened
    # WHEN the tasks' group lets 443 out to anywhere THEN still unreachable: no NAT route
    assert failures(config, broken) == []
    # WHEN the BYOP example's NAT routes are there too THEN the forbidden flow is reachable
    _, byop = deployments["ecs-byop"]
    resources = broken["hypernym-ecs"]["resource"]
    for kind in ("aws_route", "aws_nat_gateway", "aws_subnet", "aws_route_table_association"):
        resources.setdefault(kind, {}).update(byop["hypernym-byop-ecs"]["resource"][kind])
    tables = {k: v for k, v in byop["hypernym-byop-ecs"]["resource"]["aws_route_table"].items()}
    resources["aws_route_table"].update(tables)
    network = resources["aws_ecs_service"][next(iter(resources["aws_ecs_service"]))]
    network["network_configuration"]["subnets"] = [
        f"${{aws_subnet.{n}.id}}"
        for n, s in byop["hypernym-byop-ecs"]["resource"]["aws_subnet"].items()
        if s["tags"]["Tier"] == "private"
    ]
    found = failures(config, broken)
    assert any(
        line.startswith(
            "forbidden flow tasks -> internet on any port (no internet in managed mode)"
        )
        for line in found
    ), found


def test_eks_api_without_its_client_security_group_fails(
    deployments: dict[str, Deployment],
) -> None:
    """Finding 1 as it was: the cluster security group EKS makes admits only its members."""
    config, docs = deployments["eks-managed"]
    broken = copy.deepcopy(docs)
    (cluster,) = broken["hypernym-eks-eks-cluster"]["resource"]["aws_eks_cluster"].values()
    del cluster["vpc_config"]["security_group_ids"]
    (line,) = failures(config, broken)
    assert line.startswith(
        "needed flow runner 10.2.0.0/16 -> EKS API endpoint on 443 "
        "(the apps stack (Helm), kubectl) is unreachable"
    )


def test_existing_vpc_without_the_s3_prefix_list_rule_fails(
    deployments: dict[str, Deployment],
) -> None:
    """Finding 3 as it was: an existing VPC's tasks had 443 to the VPC only."""
    config, docs = deployments["existing-vpc-own-endpoints"]
    broken = without(docs, "aws_vpc_security_group_egress_rule", "tasks_to-s3")
    (line,) = failures(config, broken)
    assert line.startswith("needed flow tasks -> S3 on 443 (ECR image layers) is unreachable")


def test_existing_vpc_byop_without_the_nat_opt_in_fails(
    deployments: dict[str, Deployment],
) -> None:
    """Finding 3 as it was: no way out through the existing VPC's NAT."""
    config, docs = deployments["existing-vpc-nat-byop"]
    broken = copy.deepcopy(docs)
    for document in broken.values():
        document.get("data", {}).pop("aws_route_table", None)
    found = failures(config, broken)
    assert any(
        line.startswith("needed flow tasks -> internet on 443 (BYOP provider through NAT)")
        for line in found
    ), found


# --- the command ---------------------------------------------------------------------------------


def test_command_prints_the_matrix_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reachability", "--config", "ecs-managed"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hypernym: ecs, managed mode: ")
    assert "all hold" in out.splitlines()[0]
    header = out.splitlines()[1].split()
    assert header[:6] == ["flow", "from", "to", "port", "kind", "result"]
    assert "tasks" in out
    assert "FAILED" not in out


def test_command_reports_an_invalid_configuration_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nregion = "eu-west-1"\n')
    assert main(["reachability", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err
    assert all(line.startswith("error: ") for line in err)
