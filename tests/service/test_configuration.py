"""Configuration problems stop ``python -m service`` at start: one line per problem, exit 2."""

from __future__ import annotations

import json
import re

import pytest

from service.contract import ContainerEnvironment, container_environment
from service.provider_secrets import parse_byop_secret
from service.settings import ConfigurationError, Settings
from tests.service.runner import run_service_to_exit

MANAGED = {"INFERENCE_PROVIDER_MODE": "managed", "MANAGED_API_URL": "http://one-api:8080"}
BYOP = {
    "INFERENCE_PROVIDER_MODE": "byop",
    "UPSTREAM_PROVIDER_URL": "https://api.example.com/v1",
    "UPSTREAM_API_KEY": "sk-secret-value",
    "UPSTREAM_MODEL_NAME": "gpt-4o-mini",
}


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"INFERENCE_PROVIDER_MODE": "cloud"},
            "INFERENCE_PROVIDER_MODE='cloud' is not one of managed, byop",
        ),
        (
            {"INFERENCE_PROVIDER_MODE": "managed"},
            "MANAGED_API_URL is not set: give the one-api gateway URL, e.g. http://one-api:8080",
        ),
        (
            {
                "INFERENCE_PROVIDER_MODE": "byop",
                "UPSTREAM_PROVIDER_URL": "https://api.example.com/v1",
            },
            "INFERENCE_PROVIDER_MODE=byop needs BYOP_SECRET_ARN, or UPSTREAM_PROVIDER_URL, "
            "UPSTREAM_API_KEY and "
            "UPSTREAM_MODEL_NAME (missing: UPSTREAM_API_KEY, UPSTREAM_MODEL_NAME)",
        ),
        (
            {**BYOP, "UPSTREAM_PROVIDER_URL": "http://api.example.com/v1"},
            "UPSTREAM_PROVIDER_URL: use https:// "
            "(set ALLOW_PLAINTEXT_PROVIDER=true only for local runs)",
        ),
        (
            {
                **BYOP,
                "UPSTREAM_PROVIDER_URL": "http://169.254.169.254/latest",
                "ALLOW_PLAINTEXT_PROVIDER": "true",
            },
            "UPSTREAM_PROVIDER_URL: 169.254.169.254 is a link-local/unspecified address "
            "(instance metadata is never a provider)",
        ),
        (
            {**BYOP, "UPSTREAM_PROVIDER_URL": "https://api.anthropic.com"},
            "an anthropic provider has no embeddings API: set UPSTREAM_EMBEDDINGS_URL "
            "(an OpenAI-compatible /v1 base "
            "URL) and UPSTREAM_EMBEDDINGS_API_KEY",
        ),
        (
            {**BYOP, "UPSTREAM_PROVIDER_KIND": "gemini"},
            "UPSTREAM_PROVIDER_KIND='gemini' is not one of openai, anthropic",
        ),
        ({**MANAGED, "PORT": "http"}, "PORT='http' is not an integer"),
        ({**MANAGED, "PORT": "70000"}, "PORT=70000 is out of range: use 1 to 65535"),
        ({**MANAGED, "WORKERS": "many"}, "WORKERS='many' is not an integer"),
        (
            {**MANAGED, "LOG_LEVEL": "verbose"},
            "LOG_LEVEL='verbose' is not one of debug, info, warning, error",
        ),
        (
            {**MANAGED, "EMBEDDING_DIMENSIONS": "-1"},
            "EMBEDDING_DIMENSIONS=-1 is out of range: use 0 to 8192",
        ),
        ({**MANAGED, "MAX_INPUT_CHARS": "lots"}, "MAX_INPUT_CHARS='lots' is not an integer"),
        (
            {**MANAGED, "DEFAULT_FILTER_THRESHOLD": "2"},
            "DEFAULT_FILTER_THRESHOLD=2.0 is out of range: use 0.0 to 1.0",
        ),
        (
            {**MANAGED, "PROVIDER_READ_TIMEOUT_SECONDS": "soon"},
            "PROVIDER_READ_TIMEOUT_SECONDS='soon' is not a number",
        ),
        (
            {**MANAGED, "ALLOW_PLAINTEXT_PROVIDER": "maybe"},
            "ALLOW_PLAINTEXT_PROVIDER='maybe' is not a boolean (true or false)",
        ),
        (
            {**MANAGED, "API_KEYS": "key1=standard"},
            "API_KEYS is not valid JSON: give an object of key to tier, e.g. "
            'API_KEYS=\'{"key-one": "standard", "key-two": "northstar"}\'',
        ),
        (
            {**MANAGED, "API_KEYS": '{"secret-key-1": "gold"}'},
            "API_KEYS entry 1 has tier 'gold': use one of basic, standard, northstar",
        ),
        (
            {
                **MANAGED,
                "MANAGED_API_KEY": "mk-local-0001",
                "MANAGED_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:t",
            },
            "MANAGED_API_KEY and MANAGED_API_KEY_SECRET_ARN are both set: give one gateway token",
        ),
        (
            {
                **MANAGED,
                "API_KEYS": '{"client-key-0002": "basic"}',
                "API_KEYS_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:k",
            },
            "API_KEYS and API_KEYS_SECRET_ARN are both set: give the client keys one way",
        ),
        (
            {**MANAGED, "OPEN_ACCESS_TIER": "platinum"},
            "OPEN_ACCESS_TIER='platinum' is not one of basic, standard, northstar",
        ),
    ],
)
def test_configuration_error_prints_one_line_and_exits_2(env: dict[str, str], line: str) -> None:
    completed = run_service_to_exit(env)
    assert completed.returncode == 2
    assert completed.stderr == f"configuration error: {line}\n"
    assert completed.stdout == ""
    assert "secret" not in completed.stderr  # keys and provider secrets are never printed


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"INFERENCE_PROVIDER_MODE": "managed", "PORT": "x", "LOG_LEVEL": "loud"})
    assert raised.value.problems == (
        "PORT='x' is not an integer",
        "LOG_LEVEL='loud' is not one of debug, info, warning, error",
        "MANAGED_API_URL is not set: give the one-api gateway URL, e.g. http://one-api:8080",
    )


def test_byop_reads_terraform_spelling_too() -> None:
    settings = Settings.from_env(
        {
            "INFERENCE_PROVIDER_MODE": "byop",
            "BYOP_PROVIDER_URL": "https://api.example.com/v1",
            "BYOP_API_KEY": "sk-1",
            "BYOP_MODEL_NAME": "gpt-4o-mini",
        }
    )
    credentials = settings.static_credentials()
    assert credentials is not None
    assert (credentials.kind, credentials.base_url, credentials.model) == (
        "openai",
        "https://api.example.com/v1",
        "gpt-4o-mini",
    )
    assert "sk-1" not in repr(credentials)


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings.from_env(MANAGED)
    assert (settings.server.port, settings.server.workers, settings.server.environment) == (
        8000,
        1,
        "production",
    )
    assert settings.provider.embedding_dimensions == 768
    assert settings.access.api_keys == {}
    assert settings.access.open_access_tier == "standard"
    assert settings.analysis.max_input_chars == 100_000
    assert settings.analysis.default_filter_threshold == 0.35


def test_the_environment_the_infrastructure_writes_is_what_the_service_reads() -> None:
    env = container_environment(
        ContainerEnvironment(
            environment="prod",
            region="eu-west-1",
            provider_mode="managed",
            managed_api_url="http://one-api:8080",
            managed_model="gpt-4o",
            managed_api_key_secret_arn="arn:aws:secretsmanager:eu-west-1:1:secret:token",
            embedding_model="text-embedding-3-large",
            embedding_dimensions=1024,
            max_input_chars=50_000,
            open_access_tier="basic",
        )
    )
    settings = Settings.from_env(env)
    assert settings.server.environment == "prod"
    gateway = settings.static_credentials()
    assert gateway is not None
    assert gateway.model == "gpt-4o"
    assert (
        settings.provider.managed_api_key_secret_arn
        == "arn:aws:secretsmanager:eu-west-1:1:secret:token"
    )
    assert settings.provider.embedding_model == "text-embedding-3-large"
    assert settings.provider.embedding_dimensions == 1024
    assert settings.analysis.max_input_chars == 50_000
    assert settings.access.open_access_tier == "basic"


def test_the_byop_secret_and_the_upstream_variables_are_one_model() -> None:
    # GIVEN the same provider as UPSTREAM_* variables and as the BYOP secret's JSON
    fields = {
        "provider_url": "https://api.anthropic.com/v1",
        "api_key": "sk-secret-value",
        "model_name": "claude-x",
        "embeddings_url": "https://emb.example.com/v1",
        "embeddings_api_key": "sk-secret-embeddings",
    }
    env = {"INFERENCE_PROVIDER_MODE": "byop"} | {
        f"UPSTREAM_{name.upper()}": value for name, value in fields.items()
    }
    # THEN both give the same credentials (kind guessed from the host alike)
    from_env = Settings.from_env(env).static_credentials()
    from_secret = parse_byop_secret(
        json.dumps(fields), embedding_model="text-embedding-3-small", allow_plaintext=False
    )
    assert from_env == from_secret
    assert from_env is not None
    assert from_env.kind == "anthropic"
    # AND the same rule refuses the same URL, naming the field as each source spells it
    plain = {**fields, "embeddings_url": "http://emb.example.com/v1"}
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({**env, "UPSTREAM_EMBEDDINGS_URL": plain["embeddings_url"]})
    rule = "use https:// (set ALLOW_PLAINTEXT_PROVIDER=true only for local runs)"
    assert raised.value.problems == (f"UPSTREAM_EMBEDDINGS_URL: {rule}",)
    with pytest.raises(ValueError, match=re.escape(f"embeddings_url: {rule}")):
        parse_byop_secret(json.dumps(plain), embedding_model="e", allow_plaintext=False)


def test_secrets_never_reach_a_repr() -> None:
    settings = Settings.from_env(
        {**BYOP, "API_KEYS": '{"client-key-0001": "basic"}', "MANAGED_API_KEY": "mk-token-0001"}
    )
    shown = repr(settings)
    for secret in ("sk-secret-value", "client-key-0001", "mk-token-0001"):
        assert secret not in shown
    assert "<hidden>" in shown
