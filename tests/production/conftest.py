"""Fixtures of the production tests, and the session-level check that no log leaked a secret."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.fake_provider import FakeProvider, running_fake_provider
from tests.harness.leaks import leaks


@pytest.fixture(scope="session", autouse=True)
def no_secret_or_essay_in_any_service_log() -> Iterator[None]:
    """After the whole session: every service log of the run (tests/service and these) is free
    of API keys, secret values, essay text and model output."""
    yield
    found = leaks()
    assert not found, "service logs leaked sensitive values:\n" + "\n".join(found)


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    """A fake provider of this test alone (latency set per test)."""
    with running_fake_provider() as fake:
        yield fake
