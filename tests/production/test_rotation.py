"""Provider secret rotation against the real moto server: a new BYOP key or managed gateway token
is used within one refresh period, with no restart; a malformed value keeps the last good one;
none keeps the pod not ready."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.fake_provider import FakeProvider
from tests.harness.leaks import sensitive
from tests.harness.moto import MotoServer
from tests.production.service_env import analyze, is_ready, managed_env, wait_until
from tests.service.runner import running_service

REFRESH_SECONDS = 1.0
FIRST_KEY = "sk-byop-first-key-0001"
ROTATED_KEY = "sk-byop-rotated-key-0002"
FIRST_TOKEN = "mk-gateway-first-token-0001"
ROTATED_TOKEN = "mk-gateway-rotated-token-0002"
sensitive(FIRST_KEY, ROTATED_KEY, FIRST_TOKEN, ROTATED_TOKEN)


def byop_env(moto: MotoServer, secret_arn: str) -> dict[str, str]:
    return {
        **moto.boto3_env(),
        "ENVIRONMENT": "test",
        "INFERENCE_PROVIDER_MODE": "byop",
        "BYOP_SECRET_ARN": secret_arn,
        "SECRET_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "ALLOW_PLAINTEXT_PROVIDER": "true",  # the fake provider is plain HTTP on loopback
        "LOG_LEVEL": "info",
    }


def managed_secret_env(moto: MotoServer, provider: FakeProvider, secret_arn: str) -> dict[str, str]:
    env = managed_env(
        provider,
        **moto.boto3_env(),
        MANAGED_API_KEY_SECRET_ARN=secret_arn,
        SECRET_REFRESH_SECONDS=str(REFRESH_SECONDS),
    )
    del env["MANAGED_API_KEY"]  # the token comes from the secret only
    return env


def secret_value(provider: FakeProvider, api_key: str) -> str:
    return json.dumps(
        {"provider_url": provider.url, "api_key": api_key, "model_name": "fake-model"}
    )


def test_a_rotated_key_is_used_within_one_refresh_period_without_restart(
    moto_server: MotoServer, provider: FakeProvider, tmp_path: Path
) -> None:
    moto_server.reset()
    secrets = moto_server.client("secretsmanager")
    arn = secrets.create_secret(
        Name="hypernym/byop", SecretString=secret_value(provider, FIRST_KEY)
    )["ARN"]
    with running_service(byop_env(moto_server, arn), tmp_path / "service.log") as service:
        wait_until(lambda: is_ready(service), what="readiness once the secret is loaded")
        assert analyze(service) == 200
        assert set(provider.authorizations) == {f"Bearer {FIRST_KEY}"}

        secrets.put_secret_value(SecretId=arn, SecretString=secret_value(provider, ROTATED_KEY))
        provider.reset()

        def rotated() -> bool:
            assert analyze(service) == 200
            return provider.authorizations[-1] == f"Bearer {ROTATED_KEY}"

        took = wait_until(rotated, seconds=2 * REFRESH_SECONDS + 1, what="the rotated key in use")
        print(
            f"\nrotated key in use {took:.2f} s after the rotation "
            f"(refresh period {REFRESH_SECONDS} s)"
        )
        provider.reset()
        secrets.put_secret_value(SecretId=arn, SecretString='{"api_key": "sk-malformed-0003"')
        wait_until(
            lambda: "keeping the last good value" in service.log(), what="the malformed-secret line"
        )
        assert analyze(service) == 200
        assert set(provider.authorizations) == {f"Bearer {ROTATED_KEY}"}
        assert is_ready(service)
        pid = service.process.pid
    assert service.process.pid == pid
    log = service.log()
    assert log.count("keeping the last good value") == 1, "one line per problem, not per refresh"
    assert "BYOP secret changed: the new value is in use" in log


def test_without_a_readable_secret_the_pod_stays_alive_but_not_ready(
    moto_server: MotoServer, provider: FakeProvider, tmp_path: Path
) -> None:
    moto_server.reset()
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hypernym/absent-AbCdEf"
    with running_service(byop_env(moto_server, arn), tmp_path / "service.log") as service:
        wait_until(
            lambda: "ResourceNotFoundException" in service.log(), what="the unreadable-secret line"
        )
        ready = service.request("GET", "/ready")
        analysis = service.request("POST", "/analyze_sync", {"essay_text": "A short paragraph."})
        assert service.request("GET", "/health").status == 200
    assert ready.status == 503
    assert "BYOP secret loaded" in ready.json()["detail"]
    assert analysis.status == 503
    assert "not loaded yet" in analysis.json()["detail"]
    assert "ResourceNotFoundException" not in analysis.json()["detail"]


def test_the_managed_gateway_token_is_read_from_its_secret_and_rotated_without_restart(
    moto_server: MotoServer, provider: FakeProvider, tmp_path: Path
) -> None:
    moto_server.reset()
    secrets = moto_server.client("secretsmanager")
    arn = secrets.create_secret(Name="hypernym/gateway-token", SecretString=FIRST_TOKEN)["ARN"]
    env = managed_secret_env(moto_server, provider, arn)
    with running_service(env, tmp_path / "service.log") as service:
        wait_until(lambda: is_ready(service), what="readiness once the token is loaded")
        assert analyze(service) == 200
        assert set(provider.authorizations) == {f"Bearer {FIRST_TOKEN}"}

        # The JSON form, as a BYOP secret holds its key.
        secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({"api_key": ROTATED_TOKEN}))
        provider.reset()

        def rotated() -> bool:
            assert analyze(service) == 200
            return provider.authorizations[-1] == f"Bearer {ROTATED_TOKEN}"

        wait_until(rotated, seconds=2 * REFRESH_SECONDS + 1, what="the rotated token in use")
        pid = service.process.pid
    assert service.process.pid == pid
    assert "managed gateway token changed: the new value is in use" in service.log()


def test_without_a_readable_gateway_token_the_pod_is_not_ready(
    moto_server: MotoServer, provider: FakeProvider, tmp_path: Path
) -> None:
    moto_server.reset()
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hypernym/absent-token-AbCdEf"
    env = managed_secret_env(moto_server, provider, arn)
    with running_service(env, tmp_path / "service.log") as service:
        wait_until(
            lambda: "ResourceNotFoundException" in service.log(), what="the unreadable-secret line"
        )
        ready = service.request("GET", "/ready")
    assert ready.status == 503
    assert "managed gateway token loaded" in ready.json()["detail"]
    assert provider.authorizations == []
