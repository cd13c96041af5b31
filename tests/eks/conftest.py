"""Fixtures of the EKS tests: the values the apps stack passes to the Hypernym release."""

from __future__ import annotations

import pytest

from modules.config import load_config
from modules.stacks.eks import hypernym_values
from tests.tooling import REPO_ROOT

from .stacks import GATEWAY_TOKEN_ARN, EksSynth, example_data, synthesize


def example_release_values(example: str) -> dict:
    """The values the apps stack of `example` passes, with the app role ARN it will have."""
    config = load_config(REPO_ROOT / f"deployments/{example}.toml")
    role_arn = f"arn:aws:iam::123456789012:role/{config.name}-eks-app-{config.region}"
    return hypernym_values(
        config, role_arn=role_arn, vpc_cidr=config.network.vpc_cidr, account_id="123456789012"
    )


@pytest.fixture(scope="session")
def kube_version() -> str:
    """The Kubernetes version the examples configure (both the same), for helm and the schemas."""
    versions = {
        load_config(REPO_ROOT / f"deployments/{e}.toml").eks.kubernetes_version
        for e in ("eks-managed", "eks-byop")
    }
    (version,) = versions
    return f"{version}.0"


@pytest.fixture(params=["eks-managed", "eks-byop"])
def example_values(request: pytest.FixtureRequest) -> dict:
    return example_release_values(request.param)


@pytest.fixture
def managed_values() -> dict:
    return example_release_values("eks-managed")


@pytest.fixture
def byop_values() -> dict:
    return example_release_values("eks-byop")


def managed_with_token_data() -> dict:
    """The eks-managed example with a gateway token secret, as ecs-managed has."""
    data = example_data("eks-managed")
    data["inference"]["managed_api_key_secret_arn"] = GATEWAY_TOKEN_ARN
    return data


PINNED_ADDON_VERSIONS = {
    # kube-proxy and coredns: the EKS user guide's latest for Kubernetes 1.35; the others only
    # show the format (moto, which these are planned against, checks no version).
    "vpc-cni": "v1.21.1-eksbuild.1",
    "kube-proxy": "v1.35.3-eksbuild.2",
    "coredns": "v1.14.2-eksbuild.4",
    "metrics-server": "v0.8.0-eksbuild.6",
    "amazon-cloudwatch-observability": "v4.7.0-eksbuild.1",
}
"""The pins of the eks-managed-pinned variant: moto has no DescribeAddonVersions, so a plan
against it needs every add-on version in the configuration."""


def managed_with_pinned_addons_data() -> dict:
    data = example_data("eks-managed")
    data["eks"]["addon_versions"] = dict(PINNED_ADDON_VERSIONS)
    return data


@pytest.fixture(scope="session")
def eks_examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, EksSynth]:
    """Both EKS examples, eks-managed with a gateway token and with pinned add-on versions,
    synthesized once per session (the AWS bindings import is slow)."""
    data = {example: example_data(example) for example in ("eks-managed", "eks-byop")}
    data["eks-managed-with-token"] = managed_with_token_data()
    data["eks-managed-pinned"] = managed_with_pinned_addons_data()
    return {
        name: synthesize(config, tmp_path_factory.mktemp(name)) for name, config in data.items()
    }


@pytest.fixture(scope="session")
def managed(eks_examples: dict[str, EksSynth]) -> EksSynth:
    return eks_examples["eks-managed"]


@pytest.fixture(scope="session")
def managed_with_token(eks_examples: dict[str, EksSynth]) -> EksSynth:
    return eks_examples["eks-managed-with-token"]


@pytest.fixture(scope="session")
def pinned(eks_examples: dict[str, EksSynth]) -> EksSynth:
    return eks_examples["eks-managed-pinned"]


@pytest.fixture(scope="session")
def byop(eks_examples: dict[str, EksSynth]) -> EksSynth:
    return eks_examples["eks-byop"]
