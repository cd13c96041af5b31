"""The one outbound HTTP path: a shared aiohttp session and one bounded retry loop.

aiohttp, not httpx: at 50-200 concurrent upstream calls on one core httpx's pool collapses
(service-engineering.md §4.4 measured ~10x). Retries cover 429, 5xx and connection errors only,
honour ``Retry-After`` up to a cap, and never retry a read timeout (it would double the wait).
"""

from __future__ import annotations

import asyncio
import contextvars
import email.utils
import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import msgspec

from service.providers.errors import (
    ContentRefusedError,
    EndpointNotFoundError,
    ProviderAuthError,
    ProviderFailedError,
    ProviderRateLimitedError,
    ProviderTimeoutError,
    ProviderUnreachableError,
)

T = TypeVar("T")

MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""Upstream answers are untrusted: a bigger body is refused, not buffered."""
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_SECONDS = 0.2
REFUSAL_ERROR_CODES = frozenset(
    {"content_filter", "content_policy_violation", "invalid_prompt", "ResponsibleAIPolicyViolation"}
)
"""Error codes of a 400 that is the provider's moderation refusing the text, not a bad request:
Azure OpenAI's content filter (``error.code`` "content_filter", ``error.innererror.code``
"ResponsibleAIPolicyViolation"), OpenAI's flagged prompts ("invalid_prompt",
"content_policy_violation")."""


@dataclass(kw_only=True)
class RetryAfterBudget:
    """Seconds of provider ``Retry-After`` one analysis may wait out, across all its calls.

    Waits that overlap (concurrent calls told to wait at the same time) are counted once: the
    budget is the wall time the analysis spends waiting, not the sum of each call's waits.
    """

    seconds: float
    _spent: float = 0.0
    _until: float = field(default_factory=time.monotonic)

    def take(self, wait: float) -> bool:
        """Reserve a wait of ``wait`` seconds from now; False when that exceeds the budget."""
        now = time.monotonic()
        cost = max(0.0, now + wait - max(now, self._until))
        if self._spent + cost > self.seconds:
            return False
        self._spent += cost
        self._until = max(self._until, now + wait)
        return True


_analysis_budget: contextvars.ContextVar[RetryAfterBudget | None] = contextvars.ContextVar(
    "retry_after_budget", default=None
)


@contextmanager
def shared_retry_after_budget(seconds: float) -> Iterator[RetryAfterBudget]:
    """Provider calls made inside (and in tasks started inside) share one Retry-After budget;
    outside, each call has its own."""
    budget = RetryAfterBudget(seconds=seconds)
    token = _analysis_budget.set(budget)
    try:
        yield budget
    finally:
        _analysis_budget.reset(token)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    max_attempts: int = 3
    """Tries per call, the first included."""
    max_retry_after_seconds: float = 10.0
    """A longer Retry-After is not waited out: the 429 goes back to the client."""


def open_session(
    *, connect_timeout: float, read_timeout: float, max_connections: int
) -> aiohttp.ClientSession:
    """The process's one client session (call inside the running event loop, close at shutdown)."""
    connector = aiohttp.TCPConnector(
        limit=max_connections,
        limit_per_host=max_connections,
        ttl_dns_cache=300,
        keepalive_timeout=30,
    )
    # `connect` would also count the wait for a free pooled connection, failing healthy calls
    # under load; only the socket connect itself is bounded by the connect timeout.
    timeout = aiohttp.ClientTimeout(
        total=connect_timeout + read_timeout,
        connect=None,
        sock_connect=connect_timeout,
        sock_read=read_timeout,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        raise_for_status=False,
        json_serialize=lambda value: msgspec.json.encode(value).decode(),
    )


class UpstreamClient:
    """POSTs JSON to provider APIs through the shared session, with the retry policy."""

    def __init__(self, session: aiohttp.ClientSession, policy: RetryPolicy) -> None:
        self.session = session
        self.policy = policy

    async def post_json(
        self, url: str, *, headers: Mapping[str, str], payload: Any, what: str, answer_type: type[T]
    ) -> T:
        """The answer decoded into ``answer_type`` (the fields we read, validated in one pass);
        raises a :class:`ProviderError` subclass with a one-line detail.

        ``what`` names the call in error details ("chat completions"; never the host, which
        the caller adds to the error for the log).
        """
        body = msgspec.json.encode(payload)
        request_headers = {"Content-Type": "application/json", **headers}
        budget = _analysis_budget.get() or RetryAfterBudget(
            seconds=self.policy.max_retry_after_seconds
        )
        for attempt in range(1, self.policy.max_attempts + 1):
            last = attempt == self.policy.max_attempts
            try:
                async with self.session.post(url, data=body, headers=request_headers) as response:
                    if response.status < 300:
                        return await _read_json(response, what, answer_type)
                    delay = await self._retry_delay(
                        response, what, attempt=attempt, last=last, budget=budget
                    )
            except (TimeoutError, aiohttp.ServerTimeoutError) as error:
                raise ProviderTimeoutError(
                    f"the inference provider did not answer {what} in time"
                ) from error
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
                if last:
                    raise ProviderUnreachableError(
                        f"cannot reach the inference provider for {what} "
                        f"after {attempt} attempts ({type(error).__name__})"
                    ) from error
                delay = _backoff(attempt)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    async def _retry_delay(
        self,
        response: aiohttp.ClientResponse,
        what: str,
        *,
        attempt: int,
        last: bool,
        budget: RetryAfterBudget,
    ) -> float:
        """Seconds to wait before the next attempt, or raise when the error is final."""
        status = response.status
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            wait = retry_after if retry_after is not None else _backoff(attempt)
            if last or not budget.take(wait):
                raise ProviderRateLimitedError(
                    f"the inference provider is rate limiting {what} (HTTP 429 after {attempt} "
                    f"attempts); retry after {max(1, round(wait))} s",
                    retry_after_seconds=max(1.0, wait),
                )
            return wait
        message, codes = await _error_body(response)
        if status == 400 and codes & REFUSAL_ERROR_CODES:
            raise ContentRefusedError(
                f"the provider's content filter refused the text ({what}: HTTP 400, "
                f"{min(codes & REFUSAL_ERROR_CODES)})"
            )
        if status in RETRYABLE_STATUSES and not last:
            if not retry_after:
                return _backoff(attempt)
            wait = min(retry_after, self.policy.max_retry_after_seconds)
            if budget.take(wait):
                return wait
        if status in (401, 403):
            raise ProviderAuthError(
                f"the inference provider refused the service's credentials for {what} "
                f"(HTTP {status}): check the provider API key"
            )
        if status in (404, 405, 501):
            raise EndpointNotFoundError(
                f"the inference provider does not serve {what} (HTTP {status}): "
                "check the provider URL (an OpenAI-compatible base ends in /v1)"
            )
        tried = f" after {attempt} attempts" if status in RETRYABLE_STATUSES else ""
        raise ProviderFailedError(
            f"the inference provider answered HTTP {status} to {what}{tried}{message}"
        )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None when absent/garbled."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: 0-0.2 s, 0-0.4 s, ..."""
    return random.uniform(0, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))  # noqa: S311 (jitter, not crypto)


async def _read_json(response: aiohttp.ClientResponse, what: str, answer_type: type[T]) -> T:
    if response.content_length is not None and response.content_length > MAX_RESPONSE_BYTES:
        raise ProviderFailedError(f"the inference provider's answer to {what} is too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(65_536):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ProviderFailedError(f"the inference provider's answer to {what} is too large")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        return msgspec.json.decode(raw, type=answer_type)
    except msgspec.ValidationError as error:
        raise ProviderFailedError(
            f"the inference provider's answer to {what} is not in the API's shape ({error})"
        ) from error
    except msgspec.DecodeError as error:
        raise ProviderFailedError(
            f"the inference provider's answer to {what} is not JSON"
        ) from error


async def _error_body(response: aiohttp.ClientResponse) -> tuple[str, frozenset[str]]:
    """(': <provider's message>' shortened to one line, or ''; the error's codes:
    ``error.code`` and ``error.innererror.code``, as OpenAI and Azure OpenAI send them).

    Error bodies are untrusted and may be huge: only the first 4 KiB are read."""
    try:
        raw = await response.content.read(4096)
        decoded = msgspec.json.decode(raw)
    except (msgspec.DecodeError, aiohttp.ClientError, TimeoutError):
        return "", frozenset()
    error = decoded.get("error") if isinstance(decoded, dict) else None
    codes: set[str] = set()
    if isinstance(error, dict):
        inner = error.get("innererror")
        for code in (error.get("code"), inner.get("code") if isinstance(inner, dict) else None):
            if isinstance(code, str):
                codes.add(code)
    message = error.get("message") if isinstance(error, dict) else error
    if not isinstance(message, str) or not message.strip():
        return "", frozenset(codes)
    return ": " + " ".join(message.split())[:200], frozenset(codes)
