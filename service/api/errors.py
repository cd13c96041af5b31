"""Every error leaves as ``{"detail": "<one line>"}`` with its status: never a stack trace.

Provider faults are mapped by class (see the README's error table): the caller learns what
failed and whether retrying can help; the service itself stays ready.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from service.providers.errors import (
    ContentRefusedError,
    EmbeddingsUnsupportedError,
    ModelOutputError,
    ProviderError,
    ProviderFailedError,
    ProviderRateLimitedError,
    ProviderTimeoutError,
    ProviderUnreachableError,
)

log = logging.getLogger("service.errors")

PROVIDER_ERROR_STATUS: dict[type[ProviderError], int] = {
    ProviderRateLimitedError: 429,
    ContentRefusedError: 408,
    ProviderTimeoutError: 503,
    ProviderUnreachableError: 503,
    ProviderFailedError: 502,
    ModelOutputError: 502,
    EmbeddingsUnsupportedError: 502,
}
PROVIDER_RETRY_AFTER_SECONDS = 5
"""Retry-After sent with a 503 for an unreachable or slow provider."""


def error_response(
    status_code: int, detail: str, headers: dict[str, str] | None = None
) -> Response[dict[str, str]]:
    return Response(
        {"detail": detail}, status_code=status_code, headers=headers, media_type=MediaType.JSON
    )


def _http_exception(
    request: Request[Any, Any, Any], error: HTTPException
) -> Response[dict[str, str]]:
    if error.status_code == HTTP_500_INTERNAL_SERVER_ERROR:
        # Only an unexpected failure is an incident; a deliberate 5xx answer (501 for what this
        # deployment does not offer, 503 while not ready) is in the request log like any other.
        log.error("server error on %s", request.url.path, exc_info=error)
    detail = error.detail
    if isinstance(error, ValidationException) and isinstance(error.extra, list) and error.extra:
        detail = "invalid request: " + "; ".join(_describe(item) for item in error.extra)
    elif isinstance(error, RequestEntityTooLarge):
        detail = (
            f"the request body is larger than {request.app.request_max_body_size} bytes: "
            "send less text per request"
        )
    elif isinstance(error.__cause__, SerializationException):
        detail = f"the request body is not valid JSON ({error.detail})"
    return error_response(error.status_code, detail, headers=error.headers)


def _describe(item: object) -> str:
    if not isinstance(item, dict):
        return str(item)
    key, message = item.get("key"), item.get("message", "invalid value")
    return f"{key}: {message}" if key else str(message)


def _provider_error(
    request: Request[Any, Any, Any], error: ProviderError
) -> Response[dict[str, str]]:
    status = next(code for cls, code in PROVIDER_ERROR_STATUS.items() if isinstance(error, cls))
    headers = None
    if error.retry_after_seconds is not None:
        headers = {"Retry-After": str(math.ceil(error.retry_after_seconds))}
    elif status == 503:
        headers = {"Retry-After": str(PROVIDER_RETRY_AFTER_SECONDS)}
    # The host is for operators: clients get the detail alone.
    log.warning(
        "provider fault on %s: %s",
        request.url.path,
        error,
        extra={"provider_host": error.provider_host},
    )
    return error_response(status, str(error), headers=headers)


def _unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[dict[str, str]]:
    log.error("unhandled error on %s", request.url.path, exc_info=error)
    return error_response(500, "internal error: the service log has the details")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: _http_exception,
    ProviderError: _provider_error,
    Exception: _unexpected,
}
