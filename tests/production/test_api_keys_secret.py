"""Client API keys from Secrets Manager (``API_KEYS_SECRET_ARN``, what deployments pass) against
the real moto server: a new key works, a rotated or revoked one stops working within one refresh
period, without a restart; a malformed value keeps the last good keys; until the keys are loaded
the pod is not ready and analyses get 503."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.fake_provider import FakeProvider
from tests.harness.leaks import sensitive
from tests.harness.moto import MotoServer
from tests.production.service_env import is_ready, managed_env, wait_until
from tests.service.runner import ServiceProcess, running_service

REFRESH_SECONDS = 1.0
TEAM_KEY = "hk-team-standard-0001"
PARTNER_KEY = "hk-partner-basic-0002"
ROTATED_TEAM_KEY = "hk-team-northstar-0003"
sensitive(TEAM_KEY, PARTNER_KEY, ROTATED_TEAM_KEY)


def keys_env(moto: MotoServer, provider: FakeProvider, secret_arn: str) -> dict[str, str]:
    return managed_env(
        provider,
        **moto.boto3_env(),
        API_KEYS_SECRET_ARN=secret_arn,
        SECRET_REFRESH_SECONDS=str(REFRESH_SECONDS),
    )


def tier_of(service: ServiceProcess, key: str | None) -> str | int:
    """The caller's tier by /user/rate-limits (no provider call), or the HTTP status."""
    headers = {"X-API-Key": key} if key else {}
    reply = service.request("GET", "/user/rate-limits", headers=headers)
    return str(reply.json()["tier"]) if reply.status == 200 else reply.status


def test_api_keys_are_read_from_their_secret_and_rotated_without_restart(
    moto_server: MotoServer, provider: FakeProvider, tmp_path: Path
) -> None:
    moto_server.reset()
    secrets = moto_server.client("secretsmanager")
    arn = secrets.create_secret(
        Name="hypernym/api-keys",
        SecretString=json.dumps({TEAM_KEY: "standard", PARTNER_KEY: "basic"}),
    )["ARN"]
    env = keys_env(moto_server, provider, arn)
    with running_service(env, tmp_path / "service.log") as service:
        wait_until(lambda: is_ready(service), what="readiness once the keys are loaded")
        assert tier_of(service, TEAM_KEY) == "standard"
        assert tier_of(service, PARTNER_KEY) == "basic"
        assert tier_of(service, None) == 401
        assert tier_of(service, ROTATED_TEAM_KEY) == 403

        # The team's key is rotated (the old one revoked), the partner's kept.
        secrets.put_secret_value(
            SecretId=arn,
            SecretString=json.dumps({ROTATED_TEAM_KEY: "northstar", PARTNER_KEY: "basic"}),
        )
        took = wait_until(
            lambda: tier_of(service, ROTATED_TEAM_KEY) == "northstar",
            seconds=2 * REFRESH_SECONDS + 1,
            what="the rotated key accepted",
        )
        print(f"\nrotated key accepted {took:.2f} s after the rotation")
        assert tier_of(service, TEAM_KEY) == 403
        assert tier_of(service, PARTNER_KEY) == "basic"

        secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({ROTATED_TEAM_KEY: "gold"}))
        wait_until(
            lambda: "keeping the last good value" in service.log(), what="the malformed-keys line"
        )
        assert tier_of(service, ROTATED_TEAM_KEY) == "northstar"
        assert is_ready(service)
        pid = service.process.pid
    assert service.process.pid == pid
    log = service.log()
    assert "API keys secret changed: the new value is in use" in log
    assert "entry 1 has tier 'gold'" in log
    assert "open access" not in log


def test_until_the_keys_are_loaded_the_pod_is_not_ready_and_callers_get_503(
    moto_server: MotoServer, provider: FakeProvider, tmp_path: Path
) -> None:
    moto_server.reset()
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hypernym/absent-keys-AbCdEf"
    with running_service(keys_env(moto_server, provider, arn), tmp_path / "service.log") as service:
        wait_until(
            lambda: "ResourceNotFoundException" in service.log(), what="the unreadable-secret line"
        )
        ready = service.request("GET", "/ready")
        analysis = service.request(
            "POST",
            "/analyze_sync",
            {"essay_text": "A short paragraph."},
            headers={"X-API-Key": "k"},
        )
    assert ready.status == 503
    assert "API keys secret loaded" in ready.json()["detail"]
    assert analysis.status == 503
    assert analysis.json() == {
        "detail": "the service has not loaded its API keys yet: retry shortly"
    }
    assert analysis.headers["retry-after"] == "5"
    assert provider.authorizations == []
