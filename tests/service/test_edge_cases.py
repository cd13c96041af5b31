"""Edge cases of the API found by probing it over HTTP (issue 12), one test each: bodies that are
not valid requests, every documented provider refusal form, the real vector size, whose timeout
ran out, log lines of deliberate answers and of provider faults, one Retry-After budget per
analysis, and provider calls cancelled when the client goes away.

This module runs its own service (the real app under uvicorn, on the loopback fake provider)
with request lines logged (LOG_LEVEL=info) and a short Retry-After budget.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import captures
from tests.fakes.fake_provider import FakeProvider, FaultKind
from tests.production.service_env import wait_until
from tests.service.conftest import API_KEYS, NORTHSTAR_KEY, STANDARD_KEY, managed_env
from tests.service.runner import Reply, ServiceProcess, running_service

HEADERS = {"X-API-Key": STANDARD_KEY}
BODY = {"essay_text": captures.ESSAY_TEXT}
RETRY_AFTER_BUDGET_SECONDS = 1.5
"""PROVIDER_MAX_RETRY_AFTER_SECONDS here: one provider Retry-After of 1 s fits, two do not."""


@pytest.fixture(scope="module")
def edge(
    fake_provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    env = managed_env(
        fake_provider,
        API_KEYS=API_KEYS,
        LOG_LEVEL="info",
        PROVIDER_MAX_RETRY_AFTER_SECONDS=str(RETRY_AFTER_BUDGET_SECONDS),
    )
    log = Path(tmp_path_factory.mktemp("edge")) / "service.log"
    with running_service(env, log) as running:
        yield running


def analyze(service: ServiceProcess, body: Any = BODY, **options: Any) -> Reply:
    return service.request("POST", "/analyze_sync", body, headers=HEADERS, **options)


def log_lines(service: ServiceProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in service.log().splitlines() if line.startswith("{")]


def detail_of(reply: Reply) -> str:
    assert b"Traceback" not in reply.body
    decoded = reply.json()
    assert set(decoded) == {"detail"}
    detail: str = decoded["detail"]
    assert "\n" not in detail
    return detail


# --- 400 for any body that is not a valid request ----------------------------------------------


def nested(depth: int, opening: str, closing: str) -> bytes:
    return (opening * depth + closing * depth).encode()


@pytest.mark.parametrize(
    "body",
    [
        b'{"essay_text": "text", "message_history": ' + nested(1000, "[", "]") + b"}",
        b'{"essay_text": "text", "filters": {"purpose": {"other": '
        + b'{"a": ' * 1000
        + b"1"
        + b"}" * 1000
        + b"}}}",
        nested(1000, "[", "]"),
    ],
    ids=["unknown-field-arrays", "nested-unknown-objects", "top-level-arrays"],
)
def test_a_body_nested_1000_levels_deep_gives_400_not_500(
    edge: ServiceProcess, body: bytes
) -> None:
    assert len(body) < 8_000  # the size of the probe: small, so no body limit applies
    reply = analyze(edge, raw=body)
    assert reply.status == 400, reply.body
    detail = detail_of(reply)
    assert "nested too deeply" in detail or detail.startswith("invalid request: ")
    assert "RecursionError" not in edge.log()
    assert not [line for line in log_lines(edge) if line["level"] == "error"]


@pytest.mark.parametrize("value", [1, 0, "true", "false"])
def test_a_boolean_must_be_a_json_boolean(edge: ServiceProcess, value: object) -> None:
    reply = analyze(edge, {**BODY, "params": {"include_embeddings": value}})
    assert reply.status == 400
    expected = "int" if isinstance(value, int) else "str"
    assert detail_of(reply) == (
        f"invalid request: params.include_embeddings: Expected `bool`, got `{expected}`"
    )


def test_a_json_body_sent_as_text_plain_gives_400_naming_the_content_type(
    edge: ServiceProcess,
) -> None:
    reply = edge.request(
        "POST",
        "/analyze_sync",
        BODY,
        headers={**HEADERS, "Content-Type": "text/plain"},
    )
    assert reply.status == 400
    assert detail_of(reply) == (
        "the body must be JSON, sent with Content-Type: application/json "
        "(this request says text/plain)"
    )


def test_an_empty_body_gives_400_a_user_understands(edge: ServiceProcess) -> None:
    reply = analyze(edge, raw=b"")
    assert reply.status == 400
    detail = detail_of(reply)
    assert detail == (
        "the request body is empty: send a JSON object with essay_text, the text to analyse"
    )
    assert "'data'" not in detail


# --- 408 for every documented refusal form ------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "detail"),
    [
        ("content_filter", "the provider's content filter blocked chat completions"),
        ("structured_refusal", "the model refused chat completions on content grounds"),
        (
            "azure_content_filter",
            "the provider's content filter refused the text "
            "(chat completions: HTTP 400, ResponsibleAIPolicyViolation)",
        ),
        (
            "flagged_prompt",
            "the provider's content filter refused the text "
            "(chat completions: HTTP 400, invalid_prompt)",
        ),
    ],
)
def test_every_documented_refusal_form_gives_408(
    edge: ServiceProcess, fake: FakeProvider, kind: FaultKind, detail: str
) -> None:
    fake.inject(kind)
    reply = analyze(edge)
    assert reply.status == 408, reply.body
    assert detail_of(reply) == detail
    assert fake.calls["chat"] == 1  # a refusal is final: not retried


# --- what the response and the details say ------------------------------------------------------


def test_meta_reports_the_size_of_the_vectors_the_provider_returned(
    edge: ServiceProcess, fake: FakeProvider
) -> None:
    fake.embedding_size = 1024  # a provider that ignores `dimensions` (768 requested)
    reply = analyze(edge)
    assert reply.status == 200, reply.body
    assert fake.requested_dimensions[0] == 768
    assert reply.json()["results"]["response"]["meta"]["embedding"]["dimensions"] == 1024


def test_provider_hosts_are_in_the_log_not_in_client_details(
    edge: ServiceProcess, fake: FakeProvider
) -> None:
    fake.inject("server_error")
    reply = analyze(edge)
    assert reply.status == 502
    detail = detail_of(reply)
    assert "127.0.0.1" not in detail
    (fault,) = [
        line
        for line in log_lines(edge)
        if line["message"].startswith("provider fault") and detail in line["message"]
    ][-1:]
    assert fault["provider_host"] == "127.0.0.1"


def test_a_501_is_logged_as_an_ordinary_request(edge: ServiceProcess) -> None:
    reply = edge.request("POST", "/analyze_begin", {"essay_text": "x"}, headers=HEADERS)
    assert reply.status == 501

    def lines_about_it() -> list[dict[str, Any]]:
        return [line for line in log_lines(edge) if "/analyze_begin" in json.dumps(line)]

    # The request line is written once the response has gone out.
    wait_until(lambda: bool(lines_about_it()), what="the request line")
    mentions = lines_about_it()
    assert [(line["level"], line["message"], line["status"]) for line in mentions] == [
        ("info", "request", 501)
    ]
    assert "error" not in mentions[0]  # no traceback


# --- one Retry-After budget per analysis --------------------------------------------------------


def test_one_retry_after_budget_covers_all_provider_calls_of_an_analysis(
    edge: ServiceProcess, fake: FakeProvider
) -> None:
    # The analysis call and then the reconstruction call each get one 429 with Retry-After: 1.
    # Each wait fits the 1.5 s budget alone; together they do not.
    fake.inject("rate_limit", count=2, retry_after_seconds=1, every_other=True)
    reply = analyze(edge)
    assert reply.status == 429, reply.body
    assert reply.headers["retry-after"] == "1"
    assert fake.calls["chat"] == 3  # analysis 429, analysis, reconstruction 429: not retried


def test_one_short_retry_after_is_still_waited_out(
    edge: ServiceProcess, fake: FakeProvider
) -> None:
    fake.inject("rate_limit", count=1, retry_after_seconds=1)
    assert analyze(edge).status == 200


# --- provider calls cancelled when the client disconnects --------------------------------------


def test_a_client_that_disconnects_cancels_its_provider_calls(
    edge: ServiceProcess, fake: FakeProvider
) -> None:
    fake.latency_ms = 4000  # every provider call; the analysis needs three in a row
    try:
        connection = http.client.HTTPConnection("127.0.0.1", edge.port, timeout=0.5)
        connection.request(
            "POST",
            "/analyze_sync",
            body=json.dumps(BODY).encode(),
            headers={"Content-Type": "application/json", "X-API-Key": NORTHSTAR_KEY},
        )
        with pytest.raises(socket.timeout):
            connection.getresponse()
        connection.close()  # the client gives up while the first provider call is in flight
        wait_until(lambda: fake.cancelled["chat"] == 1, what="the provider call cancelled")
        wait_until(
            lambda: any(line.get("status") == 499 for line in log_lines(edge)),
            what="the request line with status 499",
        )
    finally:
        fake.latency_ms = 0
    assert fake.calls["chat"] == 1  # nothing more was asked after the client left
    assert fake.calls["embeddings"] == 0
    assert not [line for line in log_lines(edge) if line["level"] == "error"]
