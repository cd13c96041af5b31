"""The one outbound HTTP path: a shared aiohttp session and one bounded retry loop.

aiohttp, not httpx: at 50-200 concurrent upstream calls on one core httpx's pool collapses
(service-engineering.md §4.4 measured ~10x). Retries cover 429, 5xx and connection errors only,
honour ``Retry-After`` up to a cap, and never retry a read timeout (it would double the wait).
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import msgspec

from service.providers.errors import (
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

        ``what`` names the call in error details ("chat completions at api.openai.com").
        """
        body = msgspec.json.encode(payload)
        request_headers = {"Content-Type": "application/json", **headers}
        for attempt in range(1, self.policy.max_attempts + 1):
            last = attempt == self.policy.max_attempts
            try:
                async with self.session.post(url, data=body, headers=request_headers) as response:
                    if response.status < 300:
                        return await _read_json(response, what, answer_type)
                    delay = await self._retry_delay(response, what, attempt=attempt, last=last)
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
        self, response: aiohttp.ClientResponse, what: str, *, attempt: int, last: bool
    ) -> float:
        """Seconds to wait before the next attempt, or raise when the error is final."""
        status = response.status
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            wait = retry_after if retry_after is not None else _backoff(attempt)
            if last or wait > self.policy.max_retry_after_seconds:
                raise ProviderRateLimitedError(
                    f"the inference provider is rate limiting {what} (HTTP 429 after {attempt} "
                    f"attempts); retry after {max(1, round(wait))} s",
                    retry_after_seconds=max(1.0, wait),
                )
            return wait
        message = await _error_message(response)
        if status in RETRYABLE_STATUSES and not last:
            return (
                min(retry_after, self.policy.max_retry_after_seconds)
                if retry_after
                else _backoff(attempt)
            )
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


def describe(url: str, endpoint: str) -> str:
    """ "chat completions at api.openai.com": the host only, never a path or query with secrets."""
    return f"{endpoint} at {urlsplit(url).hostname}"


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


async def _error_message(response: aiohttp.ClientResponse) -> str:
    """': <provider's message>' shortened to one line, or ''.

    Error bodies are untrusted and may be huge: only the first 4 KiB are read."""
    try:
        raw = await response.content.read(4096)
        decoded = msgspec.json.decode(raw)
    except (msgspec.DecodeError, aiohttp.ClientError, TimeoutError):
        return ""
    error = decoded.get("error") if isinstance(decoded, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    if not isinstance(message, str) or not message.strip():
        return ""
    return ": " + " ".join(message.split())[:200]
