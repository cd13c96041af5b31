"""Fixtures of the EKS tests: the values the apps stack passes to the Hypernym release."""

from __future__ import annotations

import pytest

from modules.app_release import HELM_VALUES_DIR, load_static_values, release_values
from service.contract import ContainerEnvironment, container_environment

from .stacks import EksSynth, example_data, synthesize

KUBE_VERSION = "1.33.0"
ACCOUNT = "123456789012"


def example_release_values(example: str) -> dict:
    mode = example.removeprefix("eks-")
    environment = ContainerEnvironment(
        environment="production", region="eu-west-1", provider_mode=mode,  # type: ignore[arg-type]
        managed_api_url="http://one-api.gateway.svc:3000" if mode == "managed" else None,
        byop_secret_arn=(f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:hypernym-byop-AbCdEf"
                         if mode == "byop" else None),
        marketplace_product_code="prod-abc123", metering="register",
    )
    return release_values(
        load_static_values(HELM_VALUES_DIR / f"{example}.yaml"),
        image=f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/hypernym:0.1.0",
        environment=container_environment(environment),
        service_account_name="hypernym-api",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/{example}-eks-app-eu-west-1",
        client_cidrs=["10.0.0.0/16", "172.16.0.0/12"],
        vpc_cidr="10.0.0.0/16",
        certificate_arn=None,
    )


@pytest.fixture(scope="session")
def kube_version() -> str:
    return KUBE_VERSION


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
