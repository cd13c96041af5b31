"""The BYOP secret source against the real moto server (Secrets Manager on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import pytest

from service.logs import JsonFormatter
from service.provider_secrets import RefreshingSecret, SecretsManagerReader, SecretUnavailableError
from tests.harness.moto import MOTO_REGION, MotoServer

GOOD = {
    "provider_url": "https://llm.example.com/v1",
    "api_key": "sk-first-key-0001",
    "model_name": "m",
}


def parse(raw: str) -> dict[str, str]:
    value = json.loads(raw)
    if not isinstance(value, dict) or "api_key" not in value:
        raise ValueError("the secret must be a JSON object with api_key")
    return value


@pytest.fixture
def secrets(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch):
    moto_server.reset()
    for name, value in moto_server.boto3_env().items():
        monkeypatch.setenv(name, value)
    return moto_server.client("secretsmanager")


async def settled(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition did not hold in time")


def source(arn: str, refresh_seconds: float = 300.0) -> RefreshingSecret[dict[str, str]]:
    return RefreshingSecret(
        name="BYOP secret",
        read=SecretsManagerReader(secret_arn=arn, region=MOTO_REGION),
        parse=parse,
        refresh_seconds=refresh_seconds,
    )


def test_a_rotated_value_is_used_within_one_refresh_period(secrets) -> None:
    arn = secrets.create_secret(Name="byop", SecretString=json.dumps(GOOD))["ARN"]
    secret = source(arn, refresh_seconds=0.2)

    async def scenario() -> list[str]:
        secret.start()
        await settled(lambda: secret.problem is None)
        seen = [secret.current()["api_key"]]
        secrets.put_secret_value(
            SecretId=arn, SecretString=json.dumps({**GOOD, "api_key": "sk-second-key-0002"})
        )
        await asyncio.sleep(0.6)
        seen.append(secret.current()["api_key"])
        await secret.close()
        return seen

    assert asyncio.run(scenario()) == ["sk-first-key-0001", "sk-second-key-0002"]


def test_a_malformed_value_keeps_the_last_good_one_and_logs_one_line_without_it(
    secrets,
    caplog: pytest.LogCaptureFixture,
) -> None:
    arn = secrets.create_secret(Name="byop", SecretString=json.dumps(GOOD))["ARN"]
    secret = source(arn)
    malformed = '{"api_key_typo": "sk-leaked-if-logged-0003"'

    async def scenario() -> None:
        await secret.refresh()
        secrets.put_secret_value(SecretId=arn, SecretString=malformed)
        with caplog.at_level(logging.WARNING):
            assert await secret.refresh() is True
            assert await secret.refresh() is True
        await secret.close()

    asyncio.run(scenario())
    assert secret.current()["api_key"] == GOOD["api_key"]
    assert secret.problem is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, "one line per problem, not one per refresh"
    line = JsonFormatter().format(warnings[0])
    assert "keeping the last good value" in line
    assert "sk-" not in line


def test_an_unreadable_secret_without_a_good_value_is_not_ready(secrets) -> None:
    arn = f"arn:aws:secretsmanager:{MOTO_REGION}:123456789012:secret:missing-AbCdEf"
    secret = source(arn)

    async def scenario() -> None:
        assert await secret.refresh() is False

    asyncio.run(scenario())
    assert secret.problem is not None
    assert "ResourceNotFoundException" in secret.problem
    with pytest.raises(SecretUnavailableError, match="not loaded yet"):
        secret.current()


def test_the_source_becomes_ready_when_the_secret_appears(secrets, monkeypatch) -> None:
    monkeypatch.setattr("service.provider_secrets.RETRY_WITHOUT_VALUE_SECONDS", 0.1)
    loaded: list[bool] = []
    secret = source("byop-later")

    async def scenario() -> None:
        secret.start(on_loaded=lambda: loaded.append(True))
        await settled(lambda: secret.problem != "not loaded yet")
        assert secret.problem is not None
        secrets.create_secret(Name="byop-later", SecretString=json.dumps(GOOD))
        await settled(lambda: secret.problem is None)
        await secret.close()

    asyncio.run(scenario())
    assert secret.problem is None
    assert loaded == [True]
    assert secret.current()["model_name"] == "m"


def test_a_rejected_key_forces_at_most_one_refresh_per_interval(secrets) -> None:
    arn = secrets.create_secret(Name="byop", SecretString=json.dumps(GOOD))["ARN"]
    secret = source(arn)

    async def scenario() -> tuple[bool, bool]:
        await secret.refresh()
        secrets.put_secret_value(
            SecretId=arn, SecretString=json.dumps({**GOOD, "api_key": "sk-rotated-0004"})
        )
        first = await secret.refresh_after_rejection()
        second = await secret.refresh_after_rejection()
        await secret.close()
        return first, second

    assert asyncio.run(scenario()) == (True, False)
    assert secret.current()["api_key"] == "sk-rotated-0004"
