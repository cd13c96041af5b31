"""Fixtures of the EKS tests: the values the apps stack passes to the Hypernym release."""

from __future__ import annotations

import pytest

from modules.app_release import hypernym_values
from modules.config import load_config
from modules.tooling import REPO_ROOT

from .stacks import EksSynth, example_data, synthesize


def example_release_values(example: str) -> dict:
    """The values the apps stack of `example` passes, with the app role ARN it will have."""
    config = load_config(REPO_ROOT / f"deployments/{example}.toml")
    role_arn = f"arn:aws:iam::123456789012:role/{config.name}-eks-app-{config.region}"
    return hypernym_values(config, role_arn=role_arn, vpc_cidr=config.network.vpc_cidr)


@pytest.fixture(scope="session")
def kube_version() -> str:
    """The Kubernetes version the examples configure (both the same), for helm and the schemas."""
    versions = {load_config(REPO_ROOT / f"deployments/{e}.toml").eks.kubernetes_version
                for e in ("eks-managed", "eks-byop")}
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


@pytest.fixture(scope="session")
def eks_examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, EksSynth]:
    """Both EKS examples, synthesized once per session (the AWS bindings import is slow)."""
    return {example: synthesize(example_data(example), tmp_path_factory.mktemp(example))
            for example in ("eks-managed", "eks-byop")}


@pytest.fixture(scope="session")
def managed(eks_examples: dict[str, EksSynth]) -> EksSynth:
    return eks_examples["eks-managed"]


@pytest.fixture(scope="session")
def byop(eks_examples: dict[str, EksSynth]) -> EksSynth:
    return eks_examples["eks-byop"]
