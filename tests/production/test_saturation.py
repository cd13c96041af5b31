"""Limits over real HTTP: the in-flight cap (429 + Retry-After for the excess, RSS bounded),
per-key hourly rate limits from the tier table (429), body and essay size (413)."""

from __future__ import annotations

import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from tests.fakes.fake_provider import FakeProvider
from tests.production.service_env import ESSAY, managed_env, wait_until
from tests.service.runner import Reply, ServiceProcess, running_service

CAP = 100
OFFERED = 150
RSS_BOUND_MIB = 256  # the smallest task/pod memory the infrastructure offers


def test_beyond_the_in_flight_cap_the_excess_gets_429_with_retry_after(
    provider: FakeProvider, tmp_path: Path
) -> None:
    provider.latency_ms = 1500  # an analysis takes ~4.5 s: all offered requests overlap
    start = threading.Barrier(OFFERED)
    peak_rss = 0

    def offer(service: ServiceProcess) -> Reply:
        start.wait()
        return service.request("POST", "/analyze_sync", {"essay_text": ESSAY}, timeout=60)

    with running_service(
        managed_env(provider, MAX_IN_FLIGHT=str(CAP)), tmp_path / "service.log"
    ) as service:
        process = psutil.Process(service.process.pid)
        idle_rss = process.memory_info().rss
        with ThreadPoolExecutor(OFFERED) as pool:
            replies = [pool.submit(offer, service) for _ in range(OFFERED)]
            while not all(reply.done() for reply in replies):
                peak_rss = max(peak_rss, process.memory_info().rss)
                time.sleep(0.05)
        results = [reply.result() for reply in replies]

    mib = 1024 * 1024
    print(
        f"\nRSS idle {idle_rss / mib:.1f} MiB; peak with {CAP} analyses in flight and "
        f"{OFFERED - CAP} refused: {peak_rss / mib:.1f} MiB"
    )
    statuses = sorted(reply.status for reply in results)
    assert statuses == [200] * CAP + [429] * (OFFERED - CAP)
    for refused in (reply for reply in results if reply.status == 429):
        assert int(refused.headers["retry-after"]) >= 1
        assert "limit of 100 analyses in flight" in refused.json()["detail"]
    assert peak_rss < RSS_BOUND_MIB * mib


def test_a_key_over_its_tiers_hourly_budget_gets_429_and_other_keys_do_not(
    provider: FakeProvider, tmp_path: Path
) -> None:
    keys = '{"hk-basic-rate-0001": "basic", "hk-basic-rate-0002": "basic"}'
    with running_service(managed_env(provider, API_KEYS=keys), tmp_path / "service.log") as service:
        connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
        statuses: list[int] = []
        started = time.monotonic()
        while 429 not in statuses and len(statuses) < 1100:  # basic: 1000 requests per hour
            connection.request(
                "GET", "/user/rate-limits", headers={"X-API-Key": "hk-basic-rate-0001"}
            )
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        refilled = (time.monotonic() - started) / 3.6  # the bucket refills one request per 3.6 s
        connection.close()
        refused = service.request(
            "GET", "/user/rate-limits", headers={"X-API-Key": "hk-basic-rate-0001"}
        )
        other = service.request(
            "GET", "/user/rate-limits", headers={"X-API-Key": "hk-basic-rate-0002"}
        )
    accepted = statuses.index(429)
    assert statuses[:accepted] == [200] * accepted
    assert 1000 <= accepted <= 1000 + refilled + 1
    assert refused.status == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 4  # one request refills in 3.6 s
    assert "allows 1000 requests per hour" in refused.json()["detail"]
    assert other.status == 200


def test_an_essay_or_a_body_over_the_limits_gets_413(
    provider: FakeProvider, tmp_path: Path
) -> None:
    with running_service(
        managed_env(provider, MAX_INPUT_CHARS="1000"), tmp_path / "service.log"
    ) as service:
        long_essay = service.request("POST", "/analyze_sync", {"essay_text": "x" * 1001})
        huge_body = service.request(
            "POST", "/analyze_sync", raw=b'{"essay_text": "' + b"y" * 200_000 + b'"}'
        )
        wait_until(lambda: service.request("GET", "/ready").status == 200, what="still ready")
    assert long_essay.status == 413
    assert "at most 1000" in long_essay.json()["detail"]
    assert huge_body.status == 413
    assert huge_body.json()["detail"]
