"""Structured JSON logs, one line per request, with a redaction guard.

Every log line is one JSON object on stdout (CloudWatch Logs and container log collectors parse
it as is). Request lines carry metadata only: request id, method, path, status, duration, tier,
paragraph count. The essay, model output, API keys and secrets are never passed to a logger; as a
second line of defence every secret value the service loads is registered with :func:`redact`, and
the handler's filter replaces any occurrence of one in any record (message, arguments, traceback)
before it is written.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.metrics import METRICS_LOG_NAME

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8
"""Shorter strings are not scrubbed: they would mangle ordinary words and cannot be real keys."""

REQUEST_ID_HEADER = "x-request-id"
REQUEST_LOG_NAME = "service.request"
QUIET_LOGGERS = ("uvicorn.access", "botocore", "boto3", "urllib3", "aiohttp.access", "asyncio")
"""Loggers held at WARNING: per-request access lines are ours, and SDK debug lines carry URLs."""

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def redact(value: str) -> None:
    """Register a secret so that no log line ever shows it (idempotent, thread-safe).

    A JSON object (a BYOP secret) also registers each of its string values.
    """
    candidates = [value]
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        candidates.extend(str(item) for item in parsed.values() if isinstance(item, str))
    with _secrets_lock:
        _secrets.update(c for c in candidates if len(c) >= MIN_SECRET_LENGTH)


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced by ``[redacted]``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and any ``extra`` fields."""

    _standard = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
        "message",
        "color_message",  # uvicorn duplicates its message with terminal colours
    }

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((k, v) for k, v in vars(record).items() if k not in self._standard)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return scrub(json.dumps(line, default=str))


JsonFormatter.converter = time.gmtime


def configure_logging(level: str) -> None:
    """Route every logger through one JSON handler on stdout, at ``level`` (e.g. "info")."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "litestar"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Metrics lines (service/metrics.py) are data for the alarms, not chatter: kept at any level.
    logging.getLogger(METRICS_LOG_NAME).setLevel(logging.INFO)


def request_annotations(scope: Scope) -> dict[str, Any]:
    """The per-request fields a handler may fill in for the request line (tier, paragraphs)."""
    annotations: dict[str, Any] = scope.setdefault("state", {}).setdefault("request_log", {})
    return annotations


class RequestLogMiddleware:
    """ASGI middleware: assigns the request id and writes one line when the response ends.

    The id (``req-<uuid4>``, the format of the public API) is echoed in the ``X-Request-ID``
    response header and stored in ``scope["state"]["request_id"]`` for the handler to use.
    """

    def __init__(self, app: ASGIApp, *, skip_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.skip_paths = frozenset(skip_paths)
        self.logger = logging.getLogger(REQUEST_LOG_NAME)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = f"req-{uuid.uuid4()}"
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        annotations = request_annotations(scope)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["path"] not in self.skip_paths or status >= 400:
                self.logger.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        "tier": annotations.get("tier"),
                        "paragraphs": annotations.get("paragraphs"),
                    },
                )
