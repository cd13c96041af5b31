"""AWS Marketplace metering: ``METERING=off|register|hourly``.

``register``: RegisterUsage once at start (AWS then bills per pod-hour by itself).
``hourly``: this pod counts its own usage (successful analyses, or their paragraphs) per UTC hour
and sends one MeterUsage record per hour, and one for the partial hour at shutdown.

Usage is never lost and never counted twice, by these rules:

- A record is frozen when its hour closes: timestamp (inside the hour, never before this process
  started), dimension, quantity and a ClientToken derived from them. Every retry sends exactly
  the same request, which MeterUsage treats as idempotent (same record id). So a record that AWS
  stored although its response was lost (a read timeout) is stored once, however often resent.
- A record that failed (throttling, 5xx, outage) stays queued and is retried with backoff;
  AWS accepts a record up to 6 h after its hour.
- Past 5 h, a record that certainly never reached AWS (only refused or unsent attempts) is folded
  into the open hour's quantity, so an outage longer than the window loses nothing. A record
  that may have been stored is only ever resent, never folded (folding could bill it twice).
- Shutdown closes the open hour and sends everything queued, within a bounded time; what is
  still unsent then is logged as lost with its quantity (``lost_quantity``).
- The open hour never moves backwards, so a clock step back cannot reopen a sent hour.

RegisterUsage and the hourly mode's DryRun probe run at start with bounded retries on throttling
and server errors; a customer who is not entitled, or a configuration error, keeps the pod not
ready (``problem``) with one clear log line. The boto3 calls run in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)

from service import metrics
from service.contract import MeteringMode
from service.settings import MeteringOptions

logger = logging.getLogger(__name__)

RECORD_WINDOW = timedelta(hours=6)
"""MeterUsage accepts a record up to 6 h after its timestamp."""

FOLD_AFTER = timedelta(hours=5)
"""A record certainly never stored is folded into the open hour once this old (1 h of margin)."""

RETRYABLE_CODES = frozenset({"ThrottlingException", "InternalServiceErrorException"})
DEFINITELY_NOT_STORED_CODES = frozenset({"ThrottlingException"})
"""Refusals that prove nothing was stored; a 5xx might have been, so it is never folded."""

GIVE_UP_CODES = frozenset({"TimestampOutOfBoundsException", "DuplicateRequestException"})
"""The record can never be accepted: too old, or its hour already holds another quantity."""

_TOKEN_NAMESPACE = uuid.UUID("6f1c3f2e-8a4d-4c1b-9a57-0d7e1b2c3a4f")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class UsageRecord:
    """One MeterUsage request; identical on every retry, which makes retries idempotent."""

    timestamp: datetime
    dimension: str
    quantity: int
    client_token: str


class MeteringError(Exception):
    """A Marketplace call failed.

    ``retryable``: a later identical call may succeed (throttling, 5xx, network);
    ``maybe_stored``: AWS may have acted on this call although it failed here (response lost).
    """

    def __init__(self, code: str, *, retryable: bool, maybe_stored: bool) -> None:
        super().__init__(code)
        self.code = code
        self.retryable = retryable
        self.maybe_stored = maybe_stored


class MeteringApi(Protocol):
    """The two Marketplace Metering operations the service uses (blocking calls)."""

    def register_usage(self, *, product_code: str, public_key_version: int, nonce: str) -> None: ...

    def meter_usage(self, *, product_code: str, record: UsageRecord, dry_run: bool = False) -> str:
        """Send one record; returns its MeteringRecordId (empty for a successful DryRun)."""
        ...


class BotoMeteringApi:
    """:class:`MeteringApi` over boto3's ``meteringmarketplace`` client.

    botocore's own retries are off: the callers' loops are the only retry loops, so every attempt
    is seen and classified (refused, unsent, or possibly stored).
    """

    def __init__(
        self, *, region: str | None, connect_timeout: float = 3.0, read_timeout: float = 10.0
    ) -> None:
        import boto3  # noqa: PLC0415 - boto3 costs its import only where metering is on

        self._client = boto3.client(
            "meteringmarketplace",
            region_name=region,
            config=Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"total_max_attempts": 1, "mode": "standard"},
            ),
        )

    def register_usage(self, *, product_code: str, public_key_version: int, nonce: str) -> None:
        with _classified():
            self._client.register_usage(
                ProductCode=product_code, PublicKeyVersion=public_key_version, Nonce=nonce
            )

    def meter_usage(self, *, product_code: str, record: UsageRecord, dry_run: bool = False) -> str:
        with _classified():
            try:
                response = self._client.meter_usage(
                    ProductCode=product_code,
                    Timestamp=record.timestamp,
                    UsageDimension=record.dimension,
                    UsageQuantity=record.quantity,
                    ClientToken=record.client_token,
                    DryRun=dry_run,
                )
            except ClientError as error:
                if dry_run and _error_code(error) == "DryRunOperation":
                    return ""
                raise
        return str(response.get("MeteringRecordId", ""))


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "ClientError"))


@contextlib.contextmanager
def _classified() -> Iterator[None]:
    """Turn boto3's errors into :class:`MeteringError`, noting whether AWS may have acted."""
    try:
        yield
    except ClientError as error:
        code = _error_code(error)
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        raise MeteringError(
            code,
            retryable=code in RETRYABLE_CODES or status >= 500,
            maybe_stored=code not in DEFINITELY_NOT_STORED_CODES,
        ) from None
    except (EndpointConnectionError, ConnectTimeoutError) as error:  # never left this host
        raise MeteringError(type(error).__name__, retryable=True, maybe_stored=False) from None
    except BotoCoreError as error:  # read timeouts, resets: the request may have arrived
        raise MeteringError(type(error).__name__, retryable=True, maybe_stored=True) from None


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff from ``base_seconds`` up to ``max_seconds``, each delay jittered
    between half and all of its ceiling."""

    attempts: int = 5
    """Attempts of the start check (RegisterUsage, or hourly's DryRun)."""
    base_seconds: float = 1.0
    max_seconds: float = 300.0

    def delay(self, failures: int) -> float:
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(0, failures - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


@dataclass(kw_only=True)
class _Queued:
    record: UsageRecord
    maybe_stored: bool = False


class Metering:
    """The pod's metering: start check, hourly counting and sending, flush at shutdown.

    ``clock`` tells the UTC time (injectable, so tests cross hour boundaries without waiting);
    ``poll_seconds`` is how often the loop looks for a closed hour to send; ``flush_seconds`` how
    long shutdown keeps trying to send queued records before giving up on them.
    """

    def __init__(
        self,
        *,
        options: MeteringOptions,
        api: MeteringApi | None,
        clock: Callable[[], datetime] = utc_now,
        poll_seconds: float = 30.0,
        flush_seconds: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        if options.mode != "off" and (api is None or not options.product_code):
            raise ValueError(f"METERING={options.mode} needs MARKETPLACE_PRODUCT_CODE")
        self.options = options
        self.lost_quantity = 0
        """Units that could not be metered (window passed, or still queued at exit)."""
        self._api = api
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._flush_seconds = flush_seconds
        self._retry = retry
        self._on_ready: Callable[[], None] = lambda: None
        self._problem = None if options.mode == "off" else "checking AWS Marketplace entitlement"
        self._queue: list[_Queued] = []
        self._started_at = clock()
        self._open_hour = _hour_of(self._started_at)
        self._open_quantity = 0
        self._failures = 0
        self._next_attempt = 0.0
        self._pod_id = uuid.uuid4().hex
        self._closed = False
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def problem(self) -> str | None:
        """Why the pod must not serve (None when metering is fine): a readiness condition."""
        return self._problem

    @property
    def queued(self) -> tuple[UsageRecord, ...]:
        return tuple(item.record for item in self._queue)

    def start(self, *, on_ready: Callable[[], None] = lambda: None) -> None:
        """Begin the entitlement check (and, hourly, the sending loop) in the background;
        ``on_ready`` is called once the customer's entitlement is confirmed (never when off)."""
        if self.options.mode == "off":
            return
        self._on_ready = on_ready
        self._tasks.append(asyncio.create_task(self._check_entitlement(), name="metering check"))
        if self.options.mode == "hourly":
            self._tasks.append(asyncio.create_task(self._send_forever(), name="metering loop"))

    def record_analysis(self, paragraphs: int) -> None:
        """Count one successful analysis in the configured unit (request, or its paragraphs)."""
        self.count(1 if self.options.unit == "requests" else paragraphs)

    def count(self, quantity: int) -> None:
        """Add usage of this moment (hourly mode; a no-op otherwise). Cheap, never blocks."""
        if self.options.mode != "hourly" or quantity <= 0:
            return
        if self._closed:
            self.lost_quantity += quantity
            logger.error("metering: %d unit(s) counted after the final flush are lost", quantity)
            return
        self._roll_over()
        self._open_quantity += quantity

    async def close(self) -> None:
        """Stop the loop, close the open hour and send every queued record, bounded in time."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.options.mode != "hourly" or self._closed:
            return
        self._closed = True
        self._close_open_hour()
        deadline = time.monotonic() + self._flush_seconds
        flush_retry = RetryPolicy(base_seconds=0.2, max_seconds=2.0)
        failures = 0
        while self._queue and time.monotonic() < deadline:
            if await self._send_queued():
                failures = 0
                continue
            failures += 1
            await asyncio.sleep(min(flush_retry.delay(failures), deadline - time.monotonic()))
        if self._queue:
            unsent = sum(item.record.quantity for item in self._queue)
            self.lost_quantity += unsent
            logger.error(
                "metering: %d unit(s) in %d record(s) could not be sent before exit",
                unsent,
                len(self._queue),
            )
        logger.info("metering closed", extra={"lost_quantity": self.lost_quantity})

    async def _check_entitlement(self) -> None:
        """RegisterUsage (register) or a MeterUsage DryRun (hourly), with bounded retries."""
        assert self._api is not None
        options = self.options
        call: Callable[[], object]
        if options.mode == "register":
            call = functools.partial(
                self._api.register_usage,
                product_code=options.product_code,
                public_key_version=options.public_key_version,
                nonce=uuid.uuid4().hex,
            )
        else:
            call = functools.partial(
                self._api.meter_usage,
                product_code=options.product_code,
                record=self._record(self._clock(), 0),
                dry_run=True,
            )
        for attempt in range(1, self._retry.attempts + 1):
            try:
                await asyncio.to_thread(call)
            except MeteringError as error:
                metrics.metering_failure(_operation(options.mode), error.code)
                if error.retryable and attempt < self._retry.attempts:
                    await asyncio.sleep(self._retry.delay(attempt))
                    continue
                self._problem = _entitlement_problem(options.mode, error, attempt)
                logger.error("metering: %s", self._problem)
                return
            self._problem = None
            logger.info("metering: %s succeeded", _operation(options.mode))
            self._on_ready()
            return

    async def _send_forever(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            self._roll_over()
            if time.monotonic() < self._next_attempt:
                continue
            while self._queue:
                if not await self._send_queued():
                    self._failures += 1
                    self._next_attempt = time.monotonic() + self._retry.delay(self._failures)
                    break
                self._failures = 0

    async def _send_queued(self) -> bool:
        """Send the oldest queued record; False when it must be retried later."""
        assert self._api is not None
        item = self._queue[0]
        try:
            record_id = await asyncio.to_thread(
                self._api.meter_usage, product_code=self.options.product_code, record=item.record
            )
        except MeteringError as error:
            metrics.metering_failure("MeterUsage", error.code)
            if error.code in GIVE_UP_CODES:
                self._queue.pop(0)
                self.lost_quantity += item.record.quantity
                logger.error(
                    "metering: %s for the record of %s (%d unit(s)); it cannot be sent",
                    error.code,
                    item.record.timestamp.isoformat(),
                    item.record.quantity,
                )
                return True
            item.maybe_stored = item.maybe_stored or error.maybe_stored
            logger.warning(
                "metering: MeterUsage failed with %s; the record of %s stays queued",
                error.code,
                item.record.timestamp.isoformat(),
            )
            return False
        except Exception as error:  # a bug must not stop metering: keep the record, resend it
            metrics.metering_failure("MeterUsage", type(error).__name__)
            item.maybe_stored = True
            logger.error(
                "metering: unexpected %s sending the record of %s; it stays queued",
                type(error).__name__,
                item.record.timestamp.isoformat(),
            )
            return False
        self._queue.pop(0)
        logger.info(
            "metering: recorded",
            extra={
                "record_id": record_id,
                "hour": item.record.timestamp.isoformat(),
                "quantity": item.record.quantity,
            },
        )
        return True

    def _roll_over(self) -> None:
        """Close the open hour once the clock has left it; fold records about to expire."""
        now = self._clock()
        if _hour_of(now) > self._open_hour:
            self._close_open_hour()
            self._open_hour = _hour_of(now)
        for item in list(self._queue):
            if not item.maybe_stored and now - item.record.timestamp >= FOLD_AFTER:
                self._queue.remove(item)
                self._open_quantity += item.record.quantity
                logger.warning(
                    "metering: the unsent record of %s (%d unit(s)) moves into the current hour",
                    item.record.timestamp.isoformat(),
                    item.record.quantity,
                )

    def _close_open_hour(self) -> None:
        if self._open_quantity > 0:
            record = self._record(max(self._open_hour, self._started_at), self._open_quantity)
            self._queue.append(_Queued(record=record))
        self._open_quantity = 0

    def _record(self, timestamp: datetime, quantity: int) -> UsageRecord:
        key = f"{self._pod_id}/{self.options.usage_dimension}/{timestamp.isoformat()}/{quantity}"
        return UsageRecord(
            timestamp=timestamp,
            dimension=self.options.usage_dimension,
            quantity=quantity,
            client_token=str(uuid.uuid5(_TOKEN_NAMESPACE, key)),
        )


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _operation(mode: MeteringMode) -> str:
    return "RegisterUsage" if mode == "register" else "MeterUsage DryRun"


def _entitlement_problem(mode: MeteringMode, error: MeteringError, attempts: int) -> str:
    operation = _operation(mode)
    if error.code == "CustomerNotEntitledException":
        return (
            f"{operation}: the customer is not entitled to this product "
            "(subscribe in AWS Marketplace)"
        )
    if error.retryable:
        return f"{operation} failed {attempts} times ({error.code}); restart the task to try again"
    return (
        f"{operation} refused with {error.code}: check MARKETPLACE_PRODUCT_CODE, the region and "
        "the task role's aws-marketplace permissions"
    )


def metering_for(options: MeteringOptions, *, region: str | None) -> Metering:
    """The pod's metering, on boto3 unless metering is off."""
    api = None if options.mode == "off" else BotoMeteringApi(region=region)
    return Metering(options=options, api=api)
