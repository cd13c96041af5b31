"""Structured JSON logs and the redaction guard."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from service.logs import JsonFormatter, RequestLogMiddleware, redact, request_annotations
from tests.harness.leaks import find_leaks


def formatted(message: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return json.loads(JsonFormatter().format(record))


def test_a_line_is_one_json_object_with_the_extra_fields() -> None:
    line = formatted("hello %s", "world", request_id="req-1", status=200)
    assert line["message"] == "hello world"
    assert (line["level"], line["request_id"], line["status"]) == ("info", "req-1", 200)
    assert str(line["time"]).endswith("Z")


def test_registered_secrets_never_reach_a_line() -> None:
    redact("sk-live-abcdef123456")
    redact(json.dumps({"api_key": "byop-key-987654321", "model_name": "m"}))
    line = formatted("upstream said %s", "bad key sk-live-abcdef123456 and byop-key-987654321")
    assert "sk-live" not in json.dumps(line)
    assert "byop-key" not in json.dumps(line)
    assert line["message"].count("[redacted]") == 2


def test_the_request_middleware_writes_one_metadata_line(caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope, receive, send) -> None:
        request_annotations(scope).update(tier="standard", paragraphs=3)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    sent: list[dict[str, object]] = []

    async def send(message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/analyze_sync", "headers": []}
    with caplog.at_level(logging.INFO, logger="service.request"):
        asyncio.run(RequestLogMiddleware(app)(scope, None, send))  # type: ignore[arg-type]
    (record,) = caplog.records
    assert record.status == 200
    assert (record.tier, record.paragraphs, record.path) == ("standard", 3, "/analyze_sync")
    assert record.request_id.startswith("req-")
    assert (b"x-request-id", record.request_id.encode()) in sent[0]["headers"]
    assert scope["state"]["request_id"] == record.request_id


def test_the_session_leak_check_finds_a_leaked_value(tmp_path) -> None:
    log = tmp_path / "service.log"
    log.write_text('{"message": "upstream said hk-leaked-key-0042"}\n')
    assert find_leaks([log], ["hk-leaked-key-0042", "never-there-0000"]) == [f"{log}: hk-lea..."]
