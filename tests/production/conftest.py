"""Fixtures of the production tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.fake_provider import FakeProvider, running_fake_provider


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    """A fake provider of this test alone (latency set per test)."""
    with running_fake_provider() as fake:
        yield fake
