"""Provider faults, one test each: the documented status and detail, and the service stays ready.

The session service runs with PROVIDER_READ_TIMEOUT_SECONDS=3 and PROVIDER_MAX_ATTEMPTS=2.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from tests.fakes import captures
from tests.fakes.fake_provider import FakeProvider
from tests.service.conftest import NORTHSTAR_KEY, STANDARD_KEY, managed_env
from tests.service.runner import Reply, ServiceProcess, free_port, running_service

BODY = {"essay_text": captures.ESSAY_TEXT}
HEADERS = {"X-API-Key": STANDARD_KEY}


def analyze(service: ServiceProcess) -> Reply:
    return service.request("POST", "/analyze_sync", BODY, headers=HEADERS)


def assert_still_ready(service: ServiceProcess, fake: FakeProvider) -> None:
    fake.clear()
    assert service.request("GET", "/ready").status == 200
    assert analyze(service).status == 200


def test_provider_timeout_gives_503_with_retry_after(
    service: ServiceProcess, fake: FakeProvider
) -> None:
    fake.inject("timeout")
    reply = analyze(service)
    assert reply.status == 503
    assert reply.json() == {
        "detail": "the inference provider did not answer chat completions in time"
    }
    assert int(reply.headers["retry-after"]) > 0
    assert fake.calls["chat"] == 1  # a read timeout is not retried
    assert_still_ready(service, fake)


def test_provider_429_is_retried_then_passed_on_with_retry_after(
    service: ServiceProcess, fake: FakeProvider
) -> None:
    fake.inject("rate_limit", retry_after_seconds=1)
    reply = analyze(service)
    assert reply.status == 429
    assert reply.headers["retry-after"] == "1"
    assert "rate limiting chat completions" in reply.json()["detail"]
    assert fake.calls["chat"] == 2  # PROVIDER_MAX_ATTEMPTS
    assert_still_ready(service, fake)


def test_one_429_honours_retry_after_and_succeeds(
    service: ServiceProcess, fake: FakeProvider
) -> None:
    fake.inject("rate_limit", count=1, retry_after_seconds=1)
    reply = analyze(service)
    assert reply.status == 200
    assert reply.json()["results"]["metadata"]["tokens"]["out"] == captures.TOKENS_OUT_5


def test_provider_500_is_retried_then_gives_502(
    service: ServiceProcess, fake: FakeProvider
) -> None:
    fake.inject("server_error")
    reply = analyze(service)
    assert reply.status == 502
    assert reply.json()["detail"] == (
        "the inference provider answered HTTP 500 to chat completions "
        "after 2 attempts: "
        "upstream exploded"
    )
    assert fake.calls["chat"] == 2
    assert_still_ready(service, fake)


def test_connection_refused_gives_503(fake: FakeProvider, tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"
    env = managed_env(fake, MANAGED_API_URL=closed, API_KEYS=f'{{"{STANDARD_KEY}": "standard"}}')
    with running_service(env, tmp_path / "service.log") as refused:
        reply = analyze(refused)
        assert reply.status == 503
        assert reply.json()["detail"].startswith(
            "cannot reach the inference provider for chat completions after 2 attempts"
        )
        assert reply.headers["retry-after"] == "5"
        assert refused.request("GET", "/ready").status == 200


def test_malformed_model_json_gets_one_repair_then_502(
    service: ServiceProcess, fake: FakeProvider
) -> None:
    fake.inject("malformed_json")
    reply = analyze(service)
    assert reply.status == 502
    assert reply.json()["detail"] == (
        "the model's analysis was not in the requested format "
        "after one repair attempt (not a JSON object)"
    )
    assert fake.calls["chat"] == 2  # the answer, then one repair
    assert_still_ready(service, fake)


def test_malformed_model_json_is_repaired_once(service: ServiceProcess, fake: FakeProvider) -> None:
    fake.inject("malformed_json", count=1)
    reply = analyze(service)
    assert reply.status == 200
    assert reply.json()["results"]["response"]["texts"]["compressed"] == captures.HYPERSTRING_5


def test_embeddings_unsupported_gives_502_naming_the_fix(
    service: ServiceProcess, fake: FakeProvider
) -> None:
    fake.inject("no_embeddings")
    reply = analyze(service)
    assert reply.status == 502
    detail = reply.json()["detail"]
    assert detail.startswith("the inference provider cannot embed")
    assert "EMBEDDINGS_URL" in detail
    assert_still_ready(service, fake)


def test_the_clients_own_timeout_gives_408_naming_it(
    service: ServiceProcess, fake: FakeProvider
) -> None:
    fake.latency_ms = 1500
    try:
        reply = service.request(
            "POST",
            "/analyze_sync",
            {**BODY, "params": {"timeout": 1}},
            headers={"X-API-Key": NORTHSTAR_KEY},
        )
    finally:
        fake.latency_ms = 0
    assert reply.status == 408
    assert reply.json()["detail"].startswith(
        "the analysis did not finish within 1 s (the timeout the request set in params.timeout)"
    )
    assert_still_ready(service, fake)


@pytest.mark.parametrize("kind", ["server_error", "rate_limit"])
def test_fault_details_never_carry_keys(
    service: ServiceProcess, fake: FakeProvider, kind: str
) -> None:
    fake.inject(kind)  # type: ignore[arg-type]
    reply = analyze(service)
    assert b"managed-key" not in reply.body
    assert STANDARD_KEY.encode() not in reply.body
    assert b"managed-key" not in Path(service.log_path).read_bytes()


def test_faults_can_be_injected_over_the_fake_control_endpoint(
    service: ServiceProcess, fake: FakeProvider
) -> None:
    """What the standalone fake (benchmarks, manual runs) offers: POST/DELETE /_fake/fault."""
    control = fake.url.removesuffix("/v1")
    request = urllib.request.Request(
        f"{control}/_fake/fault", method="POST", data=b'{"kind": "server_error", "count": 2}'
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert json.load(answer) == {"fault": "server_error"}
    assert analyze(service).status == 502
    assert analyze(service).status == 200  # the count ran out
    with urllib.request.urlopen(f"{control}/_fake/seen", timeout=5) as answer:
        assert json.load(answer)["calls"]["chat"] >= 3


def test_content_filter_gives_408_as_hypernym_does(
    service: ServiceProcess, fake: FakeProvider
) -> None:
    fake.inject("content_filter")
    reply = analyze(service)
    assert reply.status == 408
    assert reply.json() == {"detail": "the provider's content filter blocked chat completions"}
    assert fake.calls["chat"] == 1  # a refusal is not retried
    assert_still_ready(service, fake)


def test_wrong_provider_path_gives_502_naming_the_url_to_check(
    fake: FakeProvider, tmp_path: Path
) -> None:
    env = managed_env(fake, MANAGED_API_URL=fake.url.removesuffix("/v1") + "/api")
    with running_service(env, tmp_path / "service.log") as misconfigured:
        reply = misconfigured.request("POST", "/analyze_sync", BODY)
    assert reply.status == 502
    assert reply.json()["detail"] == (
        "the inference provider does not serve chat completions (HTTP 404): "
        "check the provider URL (an OpenAI-compatible base ends in /v1)"
    )
