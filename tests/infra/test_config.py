"""Configuration: the examples load, and every invalid input is reported, one line each.

Each `test_errors_when_<condition>` starts from a valid configuration, breaks one thing and
checks the one problem line names the key and the fix.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from modules.config import (
    DEPLOYMENTS_DIR,
    ConfigError,
    DeploymentConfig,
    advisories,
    load_config,
    parse_config,
    resolve_config_path,
)

TODAY = date(2026, 11, 30)
"""A day inside the examples' Kubernetes version's standard support."""
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hypernym-api:0.1.0"
BYOP_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hypernym/byop-AbCdEf"
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0b8d8f3e-1111-2222-3333-444455556666"
API_KEYS_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hypernym/api-keys-AbCdEf"

VALID: dict[str, Any] = {
    "name": "hypernym",
    "region": "eu-west-1",
    "service": {"image": IMAGE},
    "inference": {"mode": "managed", "managed_api_url": "http://gateway.internal:4000/v1"},
    "api": {"keys_secret_arn": API_KEYS_ARN},
    "marketplace": {"product_code": "abc123"},
}


def merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with `changes` applied section by section (a None value deletes the key)."""
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        elif value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def problems(**changes: Any) -> list[str]:
    """The problem lines for VALID with `changes`; fails if the configuration is accepted."""
    with pytest.raises(ConfigError) as raised:
        parse_config(merged(VALID, changes), source="test.toml")
    return list(raised.value.problems)


def single_problem(**changes: Any) -> str:
    found = problems(**changes)
    assert len(found) == 1, found
    assert found[0].startswith("test.toml: ")
    return found[0]


BYOP = {"inference": {"mode": "byop", "managed_api_url": None, "byop_secret_arn": BYOP_ARN}}


# --- the examples -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(DEPLOYMENTS_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_example_configurations_are_valid(path: Path) -> None:
    config = load_config(path)
    assert isinstance(config, DeploymentConfig)


def test_examples_cover_both_platforms_and_modes() -> None:
    found = {
        (c.platform, c.inference.mode)
        for c in (load_config(p) for p in DEPLOYMENTS_DIR.glob("*.toml"))
    }
    assert found == {("ecs", "managed"), ("ecs", "byop"), ("eks", "managed"), ("eks", "byop")}


def test_default_deployment_is_ecs_managed() -> None:
    assert resolve_config_path(None) == DEPLOYMENTS_DIR / "ecs-managed.toml"
    assert resolve_config_path("ecs-byop") == DEPLOYMENTS_DIR / "ecs-byop.toml"
    assert resolve_config_path("elsewhere/mine.toml") == Path("elsewhere/mine.toml")


def test_defaults_are_the_documented_ones() -> None:
    config = parse_config(VALID)
    assert (config.service.cpu, config.service.memory_mib) == (512, 1024)
    assert (config.service.min_count, config.service.desired_count, config.service.max_count) == (
        2,
        2,
        10,
    )
    assert config.network.nat_gateways == "none"
    assert config.load_balancer.protocol == "http"
    assert config.load_balancer.deletion_protection is True
    assert config.state is None


# --- structure ----------------------------------------------------------------------------------


def test_errors_when_a_key_is_unknown() -> None:
    line = single_problem(service={"cpus": 512})
    assert "unknown key `service.cpus`" in line
    assert "cpu" in line


def test_errors_when_a_required_key_is_missing() -> None:
    assert "`service.image` is required" in single_problem(service={"image": None})


def test_errors_when_a_value_has_the_wrong_type() -> None:
    assert "`service.cpu` must be an integer" in single_problem(service={"cpu": "512"})


def test_errors_when_a_boolean_is_given_for_a_number() -> None:
    assert "`service.max_count` must be an integer" in single_problem(service={"max_count": True})


def test_errors_when_a_choice_is_not_allowed() -> None:
    assert "`platform` = 'lambda'" in single_problem(platform="lambda")


def test_errors_when_the_file_is_not_toml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_errors_when_the_file_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")


def test_reports_every_problem_at_once() -> None:
    found = problems(service={"cpu": 300, "min_count": 5}, network={"vpc_cidr": "nonsense"})
    assert len(found) == 3, found


def test_reports_every_structural_problem_at_once() -> None:
    found = problems(
        colour="blue",
        service={"image": None, "cpu": "512"},
        network={"client_cidrs": "10.9.0.0/16"},
        load_balancer=[],
        eks={"node_max_count": 1.5},
    )
    assert sorted(line.removeprefix("test.toml: ") for line in found) == sorted(
        [
            "unknown key `colour`; known keys here: api, async, eks, environment, inference, "
            "load_balancer, marketplace, monitoring, name, network, platform, region, registry, "
            "service, state, tags",
            "`service.cpu` must be an integer, not '512'",
            "`network.client_cidrs` must be a list of strings",
            "`load_balancer` must be a table",
            "`eks.node_max_count` must be an integer, not 1.5",
        ]
    )


def test_errors_when_a_string_is_given_for_a_boolean() -> None:
    line = single_problem(load_balancer={"deletion_protection": "false"})
    assert "`load_balancer.deletion_protection` must be a bool, not 'false'" in line


# --- Fargate sizes and counts -------------------------------------------------------------------


def test_errors_when_fargate_cpu_is_not_a_fargate_size() -> None:
    assert "`service.cpu` = 300 is not a Fargate size" in single_problem(service={"cpu": 300})


def test_errors_when_fargate_memory_does_not_fit_the_cpu() -> None:
    line = single_problem(service={"cpu": 512, "memory_mib": 512})
    assert "`service.memory_mib` = 512 is not valid with cpu 512" in line
    assert "1024-4096 in steps of 1024" in line


def test_errors_when_min_count_exceeds_desired() -> None:
    assert "`service.min_count` = 3 is greater than `service.desired_count` = 2" in single_problem(
        service={"min_count": 3}
    )


def test_errors_when_desired_count_exceeds_max() -> None:
    assert (
        "`service.desired_count` = 11 is greater than `service.max_count` = 10"
        in single_problem(service={"desired_count": 11})
    )


def test_errors_when_log_retention_is_not_a_cloudwatch_value() -> None:
    assert "`service.log_retention_days` = 31" in single_problem(service={"log_retention_days": 31})


def test_errors_when_stop_timeout_exceeds_fargate_limit() -> None:
    assert "and 120 (Fargate's limit)" in single_problem(service={"stop_timeout_seconds": 300})


def test_errors_when_stop_timeout_is_shorter_than_the_service_drain() -> None:
    assert "between 75 (the service's drain" in single_problem(service={"stop_timeout_seconds": 30})


def test_errors_when_the_image_is_not_pinned() -> None:
    line = single_problem(
        service={"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:latest"}
    )
    assert "latest" in line


def test_errors_when_the_image_is_outside_ecr_without_egress() -> None:
    assert "not in ECR" in single_problem(service={"image": "docker.io/library/python:3.11"})


def test_errors_when_the_image_is_in_another_regions_ecr_without_egress() -> None:
    image = "709825985650.dkr.ecr.us-east-1.amazonaws.com/hypernym/api:0.1.0"
    assert "replicate it to ECR in eu-west-1" in single_problem(service={"image": image})


# --- network ------------------------------------------------------------------------------------


def test_errors_when_a_cidr_does_not_parse() -> None:
    assert "`network.vpc_cidr` = '10.0.0.0/33' is not an IPv4 CIDR" in single_problem(
        network={"vpc_cidr": "10.0.0.0/33"}
    )


def test_errors_when_a_cidr_has_host_bits() -> None:
    assert "did you mean 10.0.1.0/24" in single_problem(
        network={"private_subnet_cidrs": ["10.0.1.5/24", "10.0.2.0/24"]}
    )


def test_errors_when_a_subnet_is_outside_the_vpc() -> None:
    assert "is outside the VPC 10.0.0.0/16" in single_problem(
        network={"private_subnet_cidrs": ["10.0.1.0/24", "10.9.0.0/24"]}
    )


def test_errors_when_subnets_overlap() -> None:
    assert "overlaps" in single_problem(
        network={"private_subnet_cidrs": ["10.0.0.0/23", "10.0.1.0/24"]}
    )


def test_errors_when_fewer_than_two_zones() -> None:
    assert "at least 2" in single_problem(network={"private_subnet_cidrs": ["10.0.1.0/24"]})


def test_errors_when_zones_repeat() -> None:
    assert "repeats a zone" in single_problem(
        network={"availability_zones": ["eu-west-1a", "eu-west-1a"]}
    )


def test_errors_when_a_zone_is_in_another_region() -> None:
    assert "'us-east-1a' is not in eu-west-1" in single_problem(
        network={"availability_zones": ["eu-west-1a", "us-east-1a"]}
    )


def test_errors_when_nat_has_no_public_subnets() -> None:
    assert "needs one `network.public_subnet_cidrs` entry per private subnet" in single_problem(
        network={"nat_gateways": "single"}
    )


def test_errors_when_public_subnets_are_given_without_nat() -> None:
    assert "needs `network.nat_gateways`" in single_problem(
        network={"public_subnet_cidrs": ["10.0.101.0/24", "10.0.102.0/24"]}
    )


def test_errors_when_a_client_cidr_does_not_parse() -> None:
    assert "`network.client_cidrs`" in single_problem(network={"client_cidrs": ["office"]})


def test_errors_when_an_existing_vpc_has_one_subnet() -> None:
    line = single_problem(
        network={
            "existing_vpc_id": "vpc-0123",
            "existing_private_subnet_ids": ["subnet-1"],
            "existing_private_route_table_ids": ["rtb-1"],
        }
    )
    assert "at least 2 subnets" in line


def test_errors_when_an_existing_vpc_with_its_own_endpoints_lacks_route_tables() -> None:
    line = single_problem(
        network={
            "existing_vpc_id": "vpc-0123",
            "existing_private_subnet_ids": ["subnet-1", "subnet-2"],
            "create_vpc_endpoints": False,
        }
    )
    assert "`network.existing_private_route_table_ids` is required" in line


def test_errors_when_an_existing_vpc_lacks_route_tables() -> None:
    line = single_problem(
        network={
            "existing_vpc_id": "vpc-0123",
            "existing_private_subnet_ids": ["subnet-1", "subnet-2"],
        }
    )
    assert "`network.existing_private_route_table_ids` is required" in line


EXISTING_VPC = {
    "existing_vpc_id": "vpc-0123",
    "existing_private_subnet_ids": ["subnet-1", "subnet-2"],
    "existing_private_route_table_ids": ["rtb-1", "rtb-2"],
}


def test_errors_when_the_image_is_outside_ecr_in_an_existing_vpc_without_egress() -> None:
    line = single_problem(network=EXISTING_VPC, service={"image": "docker.io/library/python:3.11"})
    assert "not in ECR, and the VPC has no internet egress" in line
    assert "`network.existing_vpc_internet_egress = true`" in line


def test_errors_when_the_image_is_in_another_regions_ecr_in_an_existing_vpc() -> None:
    image = "709825985650.dkr.ecr.us-east-1.amazonaws.com/hypernym/api:0.1.0"
    line = single_problem(network=EXISTING_VPC, service={"image": image})
    assert "replicate it to ECR in eu-west-1" in line


def test_accepts_an_image_outside_ecr_through_the_existing_vpcs_nat() -> None:
    config = parse_config(
        merged(
            VALID,
            {
                "network": {**EXISTING_VPC, "existing_vpc_internet_egress": True},
                "service": {"image": "docker.io/library/python:3.11"},
            },
        )
    )
    assert config.network.existing_vpc_internet_egress is True


def test_errors_when_existing_vpc_internet_egress_is_set_for_a_new_vpc() -> None:
    line = single_problem(network={"existing_vpc_internet_egress": True})
    assert "`network.existing_vpc_internet_egress` only applies with `network.existing_vpc_id`" in (
        line
    )


def test_errors_when_an_endpoint_principal_is_not_an_iam_arn() -> None:
    assert "`network.endpoint_principal_arns` = 'ci-runner' is not an ARN for iam" in (
        single_problem(network={"endpoint_principal_arns": ["ci-runner"]})
    )


# --- names --------------------------------------------------------------------------------------


def test_errors_when_the_name_has_invalid_characters() -> None:
    assert "lowercase letters" in single_problem(name="Hypernym_API")


def test_errors_when_the_load_balancer_name_exceeds_32_characters() -> None:
    line = single_problem(name="a" * 29)
    assert "load balancer name" in line
    assert "AWS allows 32" in line


def test_errors_when_the_target_group_name_exceeds_32_characters() -> None:
    found = problems(name="a" * 30)
    assert any("target group name" in line and "AWS allows 32" in line for line in found), found


def test_errors_when_the_role_name_exceeds_64_characters() -> None:
    found = problems(name="a" * 40, region="ap-southeast-2")
    assert any("IAM role name" in line and "AWS allows 64" in line for line in found), found


def test_errors_when_the_region_is_not_a_region() -> None:
    assert "`region` = 'europe'" in single_problem(region="europe")


def test_errors_when_a_user_tag_redefines_a_deployment_tag() -> None:
    assert "`tags.Environment` is set by the deployment" in single_problem(
        tags={"Environment": "x"}
    )


# --- inference modes ----------------------------------------------------------------------------


def test_errors_when_managed_mode_has_no_url() -> None:
    assert "`inference.managed_api_url` is required in managed mode" in single_problem(
        inference={"managed_api_url": None}
    )


def test_errors_when_the_managed_url_is_not_http() -> None:
    assert "must be an http(s) URL" in single_problem(inference={"managed_api_url": "gateway:4000"})


def test_errors_when_byop_has_no_secret_arn() -> None:
    assert "`inference.byop_secret_arn` is required in byop mode" in single_problem(
        inference={"mode": "byop", "managed_api_url": None}
    )


def test_errors_when_the_byop_secret_is_in_another_region() -> None:
    other = BYOP_ARN.replace("eu-west-1", "us-east-1")
    line = single_problem(**merged(BYOP, {"inference": {"byop_secret_arn": other}}))
    assert "`inference.byop_secret_arn` is in us-east-1, the deployment in eu-west-1" in line


def test_errors_when_the_byop_secret_arn_is_not_a_secret() -> None:
    line = single_problem(
        **merged(
            BYOP,
            {"inference": {"byop_secret_arn": "arn:aws:ssm:eu-west-1:123456789012:parameter/x"}},
        )
    )
    assert "is not an ARN for secretsmanager" in line


def test_errors_when_byop_also_sets_managed_keys() -> None:
    assert 'only applies to mode "managed"' in single_problem(
        **merged(BYOP, {"inference": {"managed_model": "gpt"}})
    )


def test_errors_when_metering_has_no_product_code() -> None:
    assert "needs `marketplace.product_code`" in single_problem(marketplace={"product_code": None})


def test_errors_when_metering_skips_its_endpoint_without_internet_egress() -> None:
    assert (
        "`marketplace.metering_endpoint` = false needs internet egress for metering: set "
        "`network.nat_gateways`"
    ) in single_problem(marketplace={"metering_endpoint": False})


# --- load balancer ------------------------------------------------------------------------------


def test_errors_when_https_has_no_certificate() -> None:
    assert "needs `load_balancer.certificate_arn`" in single_problem(
        load_balancer={"protocol": "https"}
    )


def test_errors_when_the_certificate_is_in_another_region() -> None:
    line = single_problem(
        load_balancer={
            "protocol": "https",
            "certificate_arn": CERTIFICATE.replace("eu-west-1", "us-east-1"),
        }
    )
    assert "`load_balancer.certificate_arn` is in us-east-1" in line


def test_errors_when_the_tls_policy_allows_old_tls() -> None:
    line = single_problem(
        load_balancer={
            "protocol": "https",
            "certificate_arn": CERTIFICATE,
            "ssl_policy": "ELBSecurityPolicy-2016-08",
        }
    )
    assert "allows TLS below 1.2" in line


# --- [api]: callers' authentication, chosen explicitly --------------------------------------------


def test_errors_when_the_authentication_is_not_chosen() -> None:
    line = single_problem(api=None)
    assert "`api.keys_secret_arn` is required" in line
    assert 'auth = "open"' in line


def test_open_access_is_valid_but_warned_about() -> None:
    config = parse_config(merged(VALID, {"api": {"auth": "open", "keys_secret_arn": None}}))
    (warning,) = advisories(config, today=TODAY)
    assert warning.startswith('`api.auth` = "open": the API takes calls without a key')
    assert advisories(parse_config(VALID), today=TODAY) == []


def test_errors_when_open_access_also_names_a_keys_secret() -> None:
    assert '`api.keys_secret_arn` only applies to auth "keys"' in single_problem(
        api={"auth": "open"}
    )


def test_errors_when_the_keys_secret_is_in_another_region() -> None:
    line = single_problem(api={"keys_secret_arn": API_KEYS_ARN.replace("eu-west-1", "us-east-1")})
    assert "`api.keys_secret_arn` is in us-east-1" in line


def test_errors_when_the_authentication_choice_is_unknown() -> None:
    assert "`api.auth` = 'none'; use one of 'keys', 'open'" in single_problem(api={"auth": "none"})


# --- EKS ----------------------------------------------------------------------------------------

EKS = {"platform": "eks"}


def test_errors_when_the_kubernetes_version_is_not_a_minor_version() -> None:
    line = single_problem(**EKS, eks={"kubernetes_version": "1.35.2"})
    assert "is not a Kubernetes minor version" in line
    assert '"1.35"' in line


def test_eks_version_past_standard_support_warns_and_never_refuses() -> None:
    # A cluster on 1.34 must still synthesize after 2026-12-02: a destroy needs it.
    config = parse_config(merged(VALID, {**EKS, "eks": {"kubernetes_version": "1.34"}}))
    (line,) = advisories(config, today=date(2026, 12, 3))
    assert "'1.34' left EKS standard support on 2026-12-02" in line
    assert 'README "Upgrading EKS"' in line
    assert advisories(config, today=date(2026, 12, 1)) == []


def test_eks_version_older_than_the_calendar_warns() -> None:
    config = parse_config(merged(VALID, {**EKS, "eks": {"kubernetes_version": "1.28"}}))
    (line,) = advisories(config, today=TODAY)
    assert "'1.28' is past EKS standard support" in line


def test_eks_version_newer_than_the_calendar_is_accepted_with_a_warning() -> None:
    # After AWS upgraded the control plane, the configuration follows it.
    config = parse_config(merged(VALID, {**EKS, "eks": {"kubernetes_version": "1.99"}}))
    (line,) = advisories(config, today=TODAY)
    assert "newer than the EKS calendar" in line


def test_errors_when_a_pinned_kube_proxy_is_for_another_kubernetes_version() -> None:
    line = single_problem(
        **EKS,
        eks={"kubernetes_version": "1.35", "addon_versions": {"kube-proxy": "v1.34.6-eksbuild.2"}},
    )
    assert "is for Kubernetes 1.34, the cluster runs 1.35" in line
    assert "describe-addon-versions --addon-name kube-proxy --kubernetes-version 1.35" in line


def test_errors_when_an_addon_pin_is_unknown_or_malformed() -> None:
    found = problems(
        **EKS, eks={"addon_versions": {"cilium": "v1.0.0-eksbuild.1", "coredns": "latest"}}
    )
    assert len(found) == 2, found
    assert any("`eks.addon_versions.cilium`: no such add-on" in line for line in found)
    assert any(
        "`eks.addon_versions.coredns` = 'latest' is not an add-on version" in line for line in found
    )


def test_errors_when_the_public_endpoint_has_no_cidrs() -> None:
    assert "needs `eks.public_access_cidrs`" in single_problem(
        **EKS, eks={"endpoint_public_access": True}
    )


def test_errors_when_the_public_endpoint_is_open_to_the_world() -> None:
    assert "must not contain 0.0.0.0/0" in single_problem(
        **EKS, eks={"endpoint_public_access": True, "public_access_cidrs": ["0.0.0.0/0"]}
    )


def test_errors_when_an_admin_role_is_not_an_iam_arn() -> None:
    assert "is not an ARN for iam" in single_problem(
        **EKS, eks={"admin_role_arns": ["platform-admin"]}
    )


def test_errors_when_node_counts_are_inconsistent() -> None:
    assert (
        "`eks.node_min_count` = 3 is greater than `eks.node_desired_count` = 2"
        in single_problem(**EKS, eks={"node_min_count": 3})
    )


def test_errors_when_an_api_client_cidr_is_anywhere() -> None:
    assert "`eks.api_client_cidrs` must not contain 0.0.0.0/0" in single_problem(
        **EKS, eks={"api_client_cidrs": ["0.0.0.0/0"]}
    )


def test_errors_when_an_api_client_cidr_does_not_parse() -> None:
    assert "`eks.api_client_cidrs` = 'vpn' is not an IPv4 CIDR" in single_problem(
        **EKS, eks={"api_client_cidrs": ["vpn"]}
    )


def test_errors_when_an_api_client_security_group_is_not_a_group_id() -> None:
    assert "`eks.api_client_security_group_ids` = 'runners' is not a security group id" in (
        single_problem(**EKS, eks={"api_client_security_group_ids": ["runners"]})
    )


@pytest.mark.parametrize(
    "repository", ["aws.github.io/eks-charts", "http://charts.internal", "oci://registry/"]
)
def test_errors_when_the_controller_chart_repository_is_not_https_or_oci(repository: str) -> None:
    assert "`eks.load_balancer_controller_chart_repository`" in single_problem(
        **EKS, eks={"load_balancer_controller_chart_repository": repository}
    )


def test_api_clients_default_to_the_vpc_and_the_chart_to_its_public_repository() -> None:
    eks = parse_config(merged(VALID, EKS)).eks
    assert (eks.api_client_cidrs, eks.api_client_security_group_ids) == ((), ())
    assert eks.load_balancer_controller_chart_repository == "https://aws.github.io/eks-charts"
