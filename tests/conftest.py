"""Session-wide fixtures: the moto server every Terraform and AWS test shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.moto import MotoServer, running_moto


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A real moto server on 127.0.0.1 (fails, not skips, when moto is not installed)."""
    with running_moto(tmp_path_factory.mktemp("moto")) as server:
        yield server
