"""The ECS stacks under test: both examples, plus variants that switch one option on."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.config import DeploymentConfig, load_config, resolve_config_path, validate
from tests.infra.synthesized import Stack

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0b8d8f3e-1111-2222-3333-444455556666"
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
API_KEYS_KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/5678abcd-12ab-34cd-56ef-1234567890ab"


def example(name: str) -> DeploymentConfig:
    return load_config(resolve_config_path(name))


def varied(config: DeploymentConfig, **sections: dict[str, Any]) -> DeploymentConfig:
    """`config` with fields of its sections replaced: varied(c, network={"nat_gateways": ...})."""
    changed = dataclasses.replace(
        config,
        **{
            section: dataclasses.replace(getattr(config, section), **changes)
            for section, changes in sections.items()
        },
    )
    assert validate(changed) == []
    return changed


@pytest.fixture(scope="session")
def managed(synth_example: Callable[[str], Path]) -> Stack:
    return Stack.load(synth_example("ecs-managed"), "hypernym-ecs")


@pytest.fixture(scope="session")
def byop(synth_example: Callable[[str], Path]) -> Stack:
    return Stack.load(synth_example("ecs-byop"), "hypernym-byop-ecs")


@pytest.fixture(scope="session")
def https(synth_config: Callable[..., Path]) -> Stack:
    config = varied(
        example("ecs-managed"), load_balancer={"protocol": "https", "certificate_arn": CERTIFICATE}
    )
    return Stack.load(synth_config(config, "https"), "hypernym-ecs")


@pytest.fixture(scope="session")
def per_az_nat_with_kms(synth_config: Callable[..., Path]) -> Stack:
    config = varied(
        example("ecs-byop"),
        network={"nat_gateways": "per_az"},
        inference={"secret_kms_key_arn": KMS_KEY},
        api={"keys_kms_key_arn": API_KEYS_KMS_KEY},
        service={"log_kms_key_arn": KMS_KEY},
    )
    return Stack.load(synth_config(config, "per-az-nat"), "hypernym-byop-ecs")


@pytest.fixture(scope="session")
def tokenless_managed(synth_config: Callable[..., Path]) -> Stack:
    """Managed mode without a gateway token, open access, and without Marketplace metering."""
    config = varied(
        example("ecs-managed"),
        inference={"managed_api_key_secret_arn": None},
        api={"auth": "open", "keys_secret_arn": None},
        marketplace={"metering": "off"},
    )
    return Stack.load(synth_config(config, "tokenless"), "hypernym-ecs")


@pytest.fixture(scope="session")
def existing_vpc(synth_config: Callable[..., Path]) -> Stack:
    config = varied(example("ecs-managed"), network=EXISTING_VPC)
    return Stack.load(synth_config(config, "existing-vpc"), "hypernym-ecs")


EXISTING_VPC = {
    "existing_vpc_id": "vpc-0a1b2c3d4e5f",
    "client_cidrs": (),
    "existing_private_subnet_ids": ("subnet-0aaa", "subnet-0bbb"),
    "existing_private_route_table_ids": ("rtb-0aaa", "rtb-0bbb"),
}
"""An existing VPC's identifiers, for the variants that deploy into one."""


def existing_vpc_own_endpoints_config() -> DeploymentConfig:
    """ecs-managed in an existing VPC that has its own endpoints and S3 gateway."""
    return varied(
        example("ecs-managed"),
        network={**EXISTING_VPC, "create_vpc_endpoints": False},
        inference={"managed_api_cidrs": ()},
    )


def existing_vpc_nat_config() -> DeploymentConfig:
    """ecs-byop in an existing VPC whose own NAT reaches the provider."""
    return varied(
        example("ecs-byop"),
        network={
            **EXISTING_VPC,
            "nat_gateways": "none",
            "public_subnet_cidrs": (),
            "existing_vpc_internet_egress": True,
        },
    )


@pytest.fixture(scope="session")
def existing_vpc_own_endpoints(synth_config: Callable[..., Path]) -> Stack:
    config = existing_vpc_own_endpoints_config()
    return Stack.load(synth_config(config, "existing-vpc-own-endpoints"), "hypernym-ecs")


@pytest.fixture(scope="session")
def existing_vpc_nat(synth_config: Callable[..., Path]) -> Stack:
    config = existing_vpc_nat_config()
    return Stack.load(synth_config(config, "existing-vpc-nat-byop"), "hypernym-byop-ecs")
