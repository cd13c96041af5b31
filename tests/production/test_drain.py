"""SIGTERM with 100 analyses in flight against a slow provider: every one completes, /ready is
503 during the drain, and the process exits 0 within the drain timeout."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.fakes.fake_provider import FakeProvider
from tests.production.service_env import analyze, managed_env, wait_until
from tests.service.runner import running_service

IN_FLIGHT = 100
DRAIN_TIMEOUT_SECONDS = 30
PROVIDER_LATENCY_MS = 1000  # three provider calls per one-paragraph analysis: about 3 s each


def test_sigterm_drains_every_request_in_flight_then_exits_0(
    provider: FakeProvider, tmp_path: Path
) -> None:
    provider.latency_ms = PROVIDER_LATENCY_MS
    env = managed_env(
        provider, DRAIN_TIMEOUT_SECONDS=str(DRAIN_TIMEOUT_SECONDS), MAX_IN_FLIGHT=str(IN_FLIGHT)
    )
    with (
        running_service(env, tmp_path / "service.log") as service,
        ThreadPoolExecutor(IN_FLIGHT) as pool,
    ):
        replies = [pool.submit(analyze, service) for _ in range(IN_FLIGHT)]
        wait_until(lambda: sum(provider.calls.values()) >= IN_FLIGHT, what="100 analyses in flight")
        assert not any(reply.done() for reply in replies)

        service.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        ready_during_drain = service.request("GET", "/ready", timeout=5)
        health_during_drain = service.request("GET", "/health", timeout=5)

        statuses = [reply.result(timeout=DRAIN_TIMEOUT_SECONDS) for reply in replies]
        exit_code = service.process.wait(timeout=DRAIN_TIMEOUT_SECONDS + 15)
        drain_seconds = time.monotonic() - signalled

    print(
        f"\ndrain with {IN_FLIGHT} in flight (provider {PROVIDER_LATENCY_MS} ms per call): "
        f"SIGTERM to exit {drain_seconds:.2f} s"
    )
    assert statuses == [200] * IN_FLIGHT
    assert ready_during_drain.status == 503
    assert "not draining" in ready_during_drain.json()["detail"]
    assert health_during_drain.status == 200, "liveness holds while draining: no restart"
    assert exit_code == 0
    assert drain_seconds < DRAIN_TIMEOUT_SECONDS
    log = service.log()
    assert "drain timeout" not in log
    assert '"message": "Application shutdown complete."' in log


def test_an_idle_service_exits_0_without_waiting_for_the_drain_timeout(
    provider: FakeProvider, tmp_path: Path
) -> None:
    env = managed_env(provider, DRAIN_TIMEOUT_SECONDS="600")
    with running_service(env, tmp_path / "service.log") as service:
        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(timeout=30) == 0
