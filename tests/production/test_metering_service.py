"""Marketplace metering of the running service, over real HTTP, against the fault-injecting fake
of the Metering API (moto implements neither RegisterUsage nor MeterUsage; see fake_metering.py).
The hourly test runs the service with a file-driven clock (clocked_service.py) to cross hours."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fakes.fake_provider import FakeProvider
from tests.production.fake_metering import FakeMetering, running_fake_metering
from tests.production.service_env import analyze, is_ready, managed_env, wait_until
from tests.service.runner import running_service, stop

PRODUCT_CODE = "prod-abc123"
START = datetime(2026, 3, 1, 9, 40, tzinfo=UTC)


@pytest.fixture
def metering_api() -> Iterator[FakeMetering]:
    with running_fake_metering(lost_response_seconds=1.5) as fake:
        yield fake


def metering_env(provider: FakeProvider, metering_api: FakeMetering, mode: str) -> dict[str, str]:
    return managed_env(
        provider,
        METERING=mode,
        MARKETPLACE_PRODUCT_CODE=PRODUCT_CODE,
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        **metering_api.env(),
    )


def test_usage_survives_faults_an_outage_across_hours_and_shutdown_exactly_once(
    provider: FakeProvider, metering_api: FakeMetering, tmp_path: Path
) -> None:
    clock = tmp_path / "clock"
    clock.write_text(START.isoformat())

    def at(hour: int, minute: int) -> None:
        clock.write_text(START.replace(hour=hour, minute=minute).isoformat())

    env = {**metering_env(provider, metering_api, "hourly"), "TEST_CLOCK_FILE": str(clock)}
    served = 0
    with running_service(
        env, tmp_path / "service.log", module="tests.production.clocked_service"
    ) as service:
        wait_until(lambda: is_ready(service), what="readiness after the DryRun probe")

        def serve(count: int) -> None:
            nonlocal served
            for _ in range(count):
                assert analyze(service) == 200
                served += 1

        serve(5)  # 09:40
        metering_api.faults.extend(["throttle", "error500", "lose_response"])
        at(10, 5)  # the 09:00 hour closes; its record meets throttling, a 500 and a lost reply
        serve(3)
        wait_until(lambda: len(metering_api.records) == 1, what="the 09:00 record")
        with metering_api.outage():  # nothing reaches AWS while the 11:00 boundary passes
            at(11, 5)
            serve(4)
            at(11, 40)
            serve(2)
        metering_api.faults.append("lose_response")  # the shutdown flush loses one reply too
        assert stop(service.process) == 0
    log = (tmp_path / "service.log").read_text()
    assert served == 14
    assert metering_api.metered_total("requests") == served
    assert sorted(hour.hour for hour, _ in metering_api.records) == [9, 10, 11]
    assert [r.quantity for r in sorted(metering_api.records.values(), key=lambda r: r.hour)] == [
        5,
        3,
        6,
    ]
    assert "DuplicateRequestException" not in metering_api.outcomes("MeterUsage")
    assert metering_api.outcomes("MeterUsage").count("ok+lost") == 2
    assert '"lost_quantity": 0' in log


def test_a_customer_who_is_not_entitled_keeps_the_pod_not_ready(
    provider: FakeProvider, metering_api: FakeMetering, tmp_path: Path
) -> None:
    metering_api.entitled = False
    with running_service(
        metering_env(provider, metering_api, "register"), tmp_path / "service.log"
    ) as service:
        wait_until(lambda: metering_api.outcomes("RegisterUsage") != [], what="RegisterUsage")
        wait_until(lambda: "not entitled" in service.log(), what="the not-entitled log line")
        ready = service.request("GET", "/ready")
        assert ready.status == 503
        assert "AWS Marketplace entitlement" in ready.json()["detail"]
        assert service.request("GET", "/health").status == 200, "alive, so the platform sees why"
    assert metering_api.outcomes("RegisterUsage") == ["CustomerNotEntitledException"]


def test_registration_retries_then_the_pod_becomes_ready(
    provider: FakeProvider, metering_api: FakeMetering, tmp_path: Path
) -> None:
    metering_api.faults.extend(["throttle", "error500"])
    with running_service(
        metering_env(provider, metering_api, "register"), tmp_path / "service.log"
    ) as service:
        wait_until(lambda: is_ready(service), what="readiness after RegisterUsage")
        assert analyze(service) == 200
    assert metering_api.outcomes("RegisterUsage") == [
        "ThrottlingException",
        "InternalServiceErrorException",
        "ok",
    ]
