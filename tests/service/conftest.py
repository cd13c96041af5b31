"""Fixtures: the fake provider and the real service running against it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.fake_provider import FakeProvider, running_fake_provider
from tests.service.runner import ServiceProcess, running_service

STANDARD_KEY = "hk-test-standard"
NORTHSTAR_KEY = "hk-test-northstar"
BASIC_KEY = "hk-test-basic"
API_KEYS = (
    f'{{"{STANDARD_KEY}": "standard", "{NORTHSTAR_KEY}": "northstar", "{BASIC_KEY}": "basic"}}'
)


def managed_env(fake: FakeProvider, **overrides: str) -> dict[str, str]:
    """A managed-mode service on the fake, short timeouts so fault tests stay quick."""
    return {
        "ENVIRONMENT": "test",
        "INFERENCE_PROVIDER_MODE": "managed",
        "MANAGED_API_URL": fake.url,
        "MANAGED_API_KEY": "managed-key",
        "MANAGED_MODEL": "fake-model",
        "PROVIDER_READ_TIMEOUT_SECONDS": "3",  # short, for the timeout test; loopback answers in ms
        "PROVIDER_MAX_ATTEMPTS": "2",
        "LOG_LEVEL": "warning",
        **overrides,
    }


@pytest.fixture(scope="session")
def fake_provider() -> Iterator[FakeProvider]:
    with running_fake_provider() as fake:
        yield fake


@pytest.fixture
def fake(fake_provider: FakeProvider) -> Iterator[FakeProvider]:
    """The session's fake, reset to healthy before and after each test."""
    fake_provider.reset()
    yield fake_provider
    fake_provider.reset()


@pytest.fixture(scope="session")
def service(
    fake_provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """One managed-mode service with a key per tier, shared by the contract and fault tests."""
    log = Path(tmp_path_factory.mktemp("service")) / "service.log"
    with running_service(managed_env(fake_provider, API_KEYS=API_KEYS), log) as running:
        yield running
