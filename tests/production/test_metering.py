"""Marketplace metering against a fault-injecting fake of the Metering API (moto has no
RegisterUsage or MeterUsage; see fake_metering.py), through the service's real boto3 client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from service.metering import BotoMeteringApi, Metering, RetryPolicy
from service.settings import MeteringOptions
from tests.production.fake_metering import FakeMetering, running_fake_metering

FAST_RETRY = RetryPolicy(attempts=4, base_seconds=0.01, max_seconds=0.05)
START = datetime(2026, 3, 1, 9, 40, tzinfo=UTC)


class ManualClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMetering]:
    with running_fake_metering(lost_response_seconds=0.6) as server:
        for name, value in {
            **server.env(),
            "AWS_ACCESS_KEY_ID": "t",
            "AWS_SECRET_ACCESS_KEY": "t",
        }.items():
            monkeypatch.setenv(name, value)
        yield server


def metering(mode: str, clock: ManualClock, **options: object) -> Metering:
    return Metering(
        options=MeteringOptions(mode=mode, product_code="prod-abc123", **options),  # type: ignore[arg-type]
        api=BotoMeteringApi(region="us-east-1", read_timeout=0.3),
        clock=clock,
        poll_seconds=0.01,
        retry=FAST_RETRY,
    )


async def settle(meter: Metering) -> None:
    """Let the background check and loop run until they have nothing left to do."""
    for _ in range(300):
        await asyncio.sleep(0.01)
        if not meter.queued and meter.problem != "checking AWS Marketplace entitlement":
            return


async def logged(caplog: pytest.LogCaptureFixture, text: str) -> None:
    """Until the meter has logged a line containing `text` (30 s at most): the fake's answer is
    taken in only once the call's thread hands it back, after the fake has recorded it."""
    for _ in range(3000):
        if any(text in record.getMessage() for record in caplog.records):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the meter logged no {text!r} in 30 s")


def test_off_makes_no_calls_and_is_ready(fake: FakeMetering) -> None:
    meter = Metering(options=MeteringOptions(), api=None)

    async def scenario() -> None:
        meter.start()
        meter.count(5)
        await meter.close()

    asyncio.run(scenario())
    assert meter.problem is None
    assert fake.calls == []


def test_register_retries_throttling_and_server_errors_then_is_ready(fake: FakeMetering) -> None:
    fake.faults.extend(["throttle", "error500", "drop"])
    meter = metering("register", ManualClock(START))
    ready: list[bool] = []

    async def scenario() -> None:
        meter.start(on_ready=lambda: ready.append(True))
        await settle(meter)
        await meter.close()

    asyncio.run(scenario())
    assert meter.problem is None
    assert ready == [True]
    assert fake.outcomes("RegisterUsage") == [
        "ThrottlingException",
        "InternalServiceErrorException",
        "dropped",
        "ok",
    ]


def test_not_entitled_keeps_the_pod_not_ready_without_retrying(
    fake: FakeMetering, caplog: pytest.LogCaptureFixture
) -> None:
    fake.entitled = False
    meter = metering("register", ManualClock(START))
    ready: list[bool] = []

    async def scenario() -> None:
        meter.start(on_ready=lambda: ready.append(True))
        await settle(meter)

    asyncio.run(scenario())
    assert ready == []
    assert meter.problem is not None
    assert "not entitled" in meter.problem
    assert fake.outcomes("RegisterUsage") == ["CustomerNotEntitledException"]
    assert "not entitled" in caplog.text


def test_register_gives_up_after_bounded_retries(fake: FakeMetering) -> None:
    fake.faults.extend(["throttle"] * 10)
    meter = metering("register", ManualClock(START))

    async def scenario() -> None:
        meter.start()
        await settle(meter)

    asyncio.run(scenario())
    assert len(fake.calls) == FAST_RETRY.attempts
    assert meter.problem is not None
    assert "failed 4 times (ThrottlingException)" in meter.problem


def test_hourly_dry_run_probe_gates_readiness(fake: FakeMetering) -> None:
    meter = metering("hourly", ManualClock(START))

    async def scenario() -> None:
        meter.start()
        await settle(meter)
        await meter.close()

    asyncio.run(scenario())
    assert meter.problem is None
    assert fake.outcomes("MeterUsage") == ["DryRunOperation"]
    assert fake.records == {}, "no usage, no record: an empty hour is not locked with a zero"


def test_faults_across_hour_boundaries_lose_nothing_and_count_nothing_twice(
    fake: FakeMetering,
) -> None:
    clock = ManualClock(START)
    meter = metering("hourly", clock)
    counted = 0

    async def serve(units: int) -> None:
        nonlocal counted
        for _ in range(units):
            meter.count(1)
            counted += 1

    async def scenario() -> None:
        meter.start()
        await settle(meter)
        await serve(7)  # 09:40 .. the 09:00 hour
        clock.advance(minutes=25)  # 10:05: the 09:00 record is due
        fake.faults.extend(["throttle", "error500", "lose_response"])
        await serve(3)
        await settle(meter)
        with fake.outage():  # across the 11:00 boundary: nothing reaches AWS
            clock.advance(minutes=60)  # 11:05
            await serve(4)
            await asyncio.sleep(0.2)
            assert len(meter.queued) == 1  # the 10:00 hour waits
            clock.advance(minutes=30)
            await serve(2)
        fake.faults.append("lose_response")  # the partial hour's reply is lost at shutdown
        await meter.close()

    asyncio.run(scenario())
    hours = sorted(hour.hour for hour, _ in fake.records)
    assert hours == [9, 10, 11]
    assert fake.metered_total("requests") == counted == 16
    assert meter.lost_quantity == 0
    assert "DuplicateRequestException" not in fake.outcomes("MeterUsage")
    assert fake.outcomes("MeterUsage").count("ok+lost") == 2
    first = fake.records[(START.replace(minute=0), "requests")]
    assert first.quantity == 7


def test_a_record_whose_reply_was_lost_is_resent_identically(fake: FakeMetering) -> None:
    clock = ManualClock(START)
    meter = metering("hourly", clock)

    async def scenario() -> None:
        meter.start()
        await settle(meter)
        meter.count(5)
        fake.faults.extend(["lose_response", "lose_response"])
        await meter.close()

    asyncio.run(scenario())
    assert fake.outcomes("MeterUsage")[1:] == ["ok+lost", "ok+lost", "ok"]
    assert next(iter(fake.records.values())).quantity == 5
    assert len(fake.records) == 1


def test_the_first_record_is_not_dated_before_the_process_started(fake: FakeMetering) -> None:
    meter = metering("hourly", ManualClock(START))

    async def scenario() -> None:
        meter.start()
        meter.count(1)
        assert meter.queued == ()
        await meter.close()

    asyncio.run(scenario())
    assert [item.hour for item in fake.records.values()] == [START.replace(minute=0)]
    assert fake.outcomes("MeterUsage")[-1] == "ok"


def test_a_long_outage_folds_unsent_records_into_the_open_hour(fake: FakeMetering) -> None:
    clock = ManualClock(START)
    meter = metering("hourly", clock)

    async def scenario() -> None:
        meter.start()
        await settle(meter)
        with fake.outage():
            meter.count(3)  # 09:xx
            clock.advance(hours=1)
            meter.count(2)  # 10:xx; 09:00 queued, never reached AWS
            await asyncio.sleep(0.1)
            clock.advance(hours=5, minutes=5)  # 15:45: both queued records are past FOLD_AFTER
            meter.count(1)
            await asyncio.sleep(0.1)
        await meter.close()

    asyncio.run(scenario())
    assert fake.metered_total("requests") == 6
    assert meter.lost_quantity == 0
    assert {hour.hour for hour, _ in fake.records} == {15}


def test_a_record_that_may_be_stored_is_never_folded(
    fake: FakeMetering, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(START)
    meter = metering("hourly", clock)

    async def scenario() -> None:
        meter.start()
        await settle(meter)
        meter.count(3)
        clock.advance(hours=1)
        fake.faults.extend(["error500"] * 50)  # a 5xx may have stored it
        meter.count(1)
        await logged(caplog, "MeterUsage failed with")
        clock.advance(hours=5)  # 15:40: both queued records are past FOLD_AFTER
        meter.count(1)
        assert [record.quantity for record in meter.queued] == [3], "only the untried one folds"
        fake.faults.clear()
        await meter.close()

    asyncio.run(scenario())
    assert fake.metered_total("requests") == 5
    assert sorted(record.quantity for record in fake.records.values()) == [2, 3]


def test_the_open_hour_never_moves_backwards(fake: FakeMetering) -> None:
    clock = ManualClock(START)
    meter = metering("hourly", clock)

    async def scenario() -> None:
        meter.start()
        await settle(meter)
        meter.count(2)
        clock.advance(hours=1)
        meter.count(1)
        await settle(meter)
        clock.advance(hours=-1)  # the clock steps back into the sent hour
        meter.count(4)
        await meter.close()

    asyncio.run(scenario())
    assert fake.metered_total("requests") == 7
    assert "DuplicateRequestException" not in fake.outcomes("MeterUsage")


def test_usage_counted_after_the_final_flush_is_reported_lost(
    fake: FakeMetering, caplog: pytest.LogCaptureFixture
) -> None:
    meter = metering("hourly", ManualClock(START))

    async def scenario() -> None:
        meter.start()
        await meter.close()
        meter.count(2)

    asyncio.run(scenario())
    assert meter.lost_quantity == 2
    assert "after the final flush are lost" in caplog.text


def test_an_unreachable_endpoint_at_exit_reports_what_was_lost(
    fake: FakeMetering, caplog: pytest.LogCaptureFixture
) -> None:
    meter = Metering(
        options=MeteringOptions(mode="hourly", product_code="prod-abc123"),
        api=BotoMeteringApi(region="us-east-1", read_timeout=0.3),
        clock=ManualClock(START),
        poll_seconds=0.01,
        flush_seconds=0.3,
        retry=FAST_RETRY,
    )

    async def scenario() -> None:
        meter.start()
        await settle(meter)
        meter.count(9)
        with fake.outage():
            await meter.close()

    asyncio.run(scenario())
    assert meter.lost_quantity == 9
    assert "9 unit(s) in 1 record(s) could not be sent before exit" in caplog.text


def test_the_paragraphs_unit_counts_each_analysis_paragraphs(fake: FakeMetering) -> None:
    meter = metering("hourly", ManualClock(START), unit="paragraphs", dimension="paragraphs")

    async def scenario() -> None:
        meter.start()
        await settle(meter)
        meter.record_analysis(paragraphs=4)
        meter.record_analysis(paragraphs=1)
        await meter.close()

    asyncio.run(scenario())
    assert fake.metered_total("paragraphs") == 5


def test_hourly_needs_a_product_code() -> None:
    with pytest.raises(ValueError, match="MARKETPLACE_PRODUCT_CODE"):
        Metering(options=MeteringOptions(mode="hourly"), api=None)


class FlakyApi:
    """An API that fails once in a way no boto3 client should (a bug), then behaves."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    def register_usage(self, **_: object) -> None:
        return None

    def meter_usage(self, *, product_code: str, record, dry_run: bool = False) -> str:
        if dry_run:
            return ""
        if not self.sent:
            self.sent.append(0)
            raise RuntimeError("unexpected")
        self.sent.append(record.quantity)
        return "record-id"


def test_an_unexpected_error_keeps_the_record_and_the_loop_alive(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = FlakyApi()
    clock = ManualClock(START)
    meter = Metering(
        options=MeteringOptions(mode="hourly", product_code="p"),
        api=api,
        clock=clock,
        poll_seconds=0.01,
        retry=FAST_RETRY,
    )

    async def scenario() -> None:
        meter.start()
        meter.count(4)
        clock.advance(hours=1)
        await settle(meter)
        await meter.close()

    asyncio.run(scenario())
    assert api.sent == [0, 4]
    assert "unexpected RuntimeError" in caplog.text
