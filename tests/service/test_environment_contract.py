"""Every environment variable is declared once (service/settings.py) and read alike."""

from __future__ import annotations

import re

import pytest

from service.environment import EnvironmentReader, variables
from service.providers.credentials import ByopCredentials, byop_variable_names
from service.settings import GROUPS, ProviderSettings, ServerSettings


def test_every_variable_is_declared_once_with_a_name_and_a_meaning() -> None:
    declared = [v for _, group in GROUPS for v in variables(group)]
    declared += variables(ByopCredentials, byop_variable_names)
    names = [name for v in declared for name in (v.name, *v.aliases)]
    assert len(names) == len(set(names)), "a variable is declared twice"
    for variable in declared:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", variable.name), variable.name
        assert variable.description, f"{variable.name} has no description"


def test_every_problem_of_every_kind_is_reported_at_once() -> None:
    reader = EnvironmentReader(
        {
            "PORT": "0",
            "LOG_LEVEL": "LOUD",
            "WORKERS": "two",
            "KEEP_ALIVE_SECONDS": " ",  # blank is unset: the default
            "HOST": "127.0.0.1",
        }
    )
    server = reader.read(ServerSettings)
    assert reader.problems == [
        "PORT=0 is out of range: use 1 to 65535",
        "LOG_LEVEL='LOUD' is not one of debug, info, warning, error",
        "WORKERS='two' is not an integer",
    ]
    assert reader.refused == {"PORT", "LOG_LEVEL", "WORKERS"}
    # Refused variables keep their defaults; the others are read.
    assert (server.port, server.log_level, server.workers) == (8000, "info", 1)
    assert (server.host, server.keep_alive_seconds) == ("127.0.0.1", 130)


@pytest.mark.parametrize(("text", "value"), [("TRUE", True), ("on", True), ("0", False)])
def test_booleans_and_choices_ignore_case(text: str, value: bool) -> None:
    reader = EnvironmentReader(
        {"ALLOW_PLAINTEXT_PROVIDER": text, "INFERENCE_PROVIDER_MODE": "BYOP"}
    )
    provider = reader.read(ProviderSettings)
    assert (provider.allow_plaintext, provider.mode) == (value, "byop")
    assert reader.problems == []
