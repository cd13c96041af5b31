"""Limits that protect a pod: in-flight analyses per pod, and per-key request rates.

Both refuse at once with the seconds after which a retry can succeed (``Retry-After``); neither
queues, so a flood costs a counter check per request and memory stays flat. Both are per pod:
stateless pods share nothing, so with N pods a key's effective hourly budget is up to N times its
tier's figure (a shared store, or the upstream's own limits, would be needed for a global cap).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_429_TOO_MANY_REQUESTS
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

RETRY_AFTER_BOUNDS = (1, 60)
"""Retry-After is a whole number of seconds, at least 1 and at most a minute."""


class LimitExceededError(HTTPException):
    """A request refused by a limit: 429 with ``Retry-After``."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(
            detail=detail,
            status_code=HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


def retry_after_seconds(seconds: float) -> int:
    low, high = RETRY_AFTER_BOUNDS
    return max(low, min(high, math.ceil(seconds)))


class InFlightLimit:
    """At most ``capacity`` analyses at once in this pod; the excess is refused, not queued.

    ``Retry-After`` is the recent mean analysis duration (an exponentially weighted average), the
    time in which a slot is likely to free up.
    """

    def __init__(self, capacity: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if capacity < 1:
            raise ValueError("the in-flight capacity must be at least 1")
        self.capacity = capacity
        self.in_flight = 0
        self._clock = clock
        self._mean_duration = 1.0

    def acquire(self) -> float:
        """Take a slot and return its start time, or raise :class:`LimitExceededError`."""
        if self.in_flight >= self.capacity:
            raise LimitExceededError(
                f"this instance is at its limit of {self.capacity} analyses in flight; "
                "retry after the Retry-After delay",
                retry_after=retry_after_seconds(self._mean_duration),
            )
        self.in_flight += 1
        return self._clock()

    def release(self, started: float) -> None:
        self.in_flight -= 1
        self._mean_duration += 0.2 * (self._clock() - started - self._mean_duration)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class KeyRateLimit:
    """Per-key token buckets: a key may spend its hourly budget at any pace, refilled evenly.

    At most ``max_keys`` buckets are kept (least recently used evicted), so memory is bounded even
    if keys are many; an evicted key starts again with a full bucket.
    """

    def __init__(self, *, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def spend(self, key_id: str, *, per_hour: int) -> None:
        """Count one request for ``key_id``; raise :class:`LimitExceededError` when it is over."""
        now = self._clock()
        refill_per_second = per_hour / 3600.0
        bucket = self._buckets.pop(key_id, None) or _Bucket(tokens=float(per_hour), updated=now)
        bucket.tokens = min(
            float(per_hour), bucket.tokens + (now - bucket.updated) * refill_per_second
        )
        bucket.updated = now
        self._buckets[key_id] = bucket
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens < 1.0:
            raise LimitExceededError(
                f"this API key's tier allows {per_hour} requests per hour; "
                "retry after the Retry-After delay",
                retry_after=retry_after_seconds((1.0 - bucket.tokens) / refill_per_second),
            )
        bucket.tokens -= 1.0


class InFlightMiddleware:
    """ASGI middleware: the in-flight cap on the analysis routes, checked before the body is read,
    so a refused request costs no parsing and holds no memory."""

    def __init__(self, app: ASGIApp, *, limit: InFlightLimit, paths: Iterable[str]) -> None:
        self.app = app
        self.limit = limit
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        try:
            started = self.limit.acquire()
        except LimitExceededError as refused:
            body = msgspec.json.encode({"detail": refused.detail})
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": refused.status_code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(refused.retry_after).encode()),
                ],
            }
            end: HTTPResponseBodyEvent = {
                "type": "http.response.body",
                "body": body,
                "more_body": False,
            }
            await send(start)
            await send(end)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.limit.release(started)
