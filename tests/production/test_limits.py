"""The pod's limits as plain objects (the HTTP behaviour is in test_saturation.py)."""

from __future__ import annotations

import pytest

from service.limits import InFlightLimit, KeyRateLimit, LimitExceededError


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_in_flight_limit_refuses_beyond_capacity_and_frees_on_release() -> None:
    clock = Ticker()
    limit = InFlightLimit(2, clock=clock)
    first, _ = limit.acquire(), limit.acquire()
    with pytest.raises(LimitExceededError) as refused:
        limit.acquire()
    assert refused.value.retry_after >= 1
    assert "limit of 2 analyses in flight" in refused.value.detail
    clock.now = 4.0
    limit.release(first)
    limit.acquire()
    assert limit.in_flight == 2


def test_retry_after_follows_the_recent_analysis_duration() -> None:
    clock = Ticker()
    limit = InFlightLimit(1, clock=clock)
    for _ in range(30):
        started = limit.acquire()
        clock.now += 8.0
        limit.release(started)
    limit.acquire()
    with pytest.raises(LimitExceededError) as refused:
        limit.acquire()
    assert refused.value.retry_after == 8


def test_a_key_spends_its_hourly_budget_then_waits_for_the_refill() -> None:
    clock = Ticker()
    limit = KeyRateLimit(clock=clock)
    for _ in range(1000):
        limit.spend("key-a", per_hour=1000)
    with pytest.raises(LimitExceededError) as refused:
        limit.spend("key-a", per_hour=1000)
    assert refused.value.retry_after == 4  # 3.6 s per request at 1000/h
    limit.spend("key-b", per_hour=1000)  # other keys are unaffected
    clock.now += 3.6
    limit.spend("key-a", per_hour=1000)


def test_key_buckets_are_bounded() -> None:
    limit = KeyRateLimit(max_keys=3, clock=Ticker())
    for key in ("a", "b", "c", "d"):
        limit.spend(key, per_hour=1)
    limit.spend("a", per_hour=1)  # "a" was evicted, so it starts again full
    with pytest.raises(LimitExceededError):
        limit.spend("d", per_hour=1)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InFlightLimit(0)
