"""Bad requests: each gets its status and a one-line ``{"detail": ...}``, never a stack trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import captures
from tests.fakes.fake_provider import FakeProvider
from tests.service.conftest import STANDARD_KEY, managed_env
from tests.service.runner import ServiceProcess, running_service

HEADERS = {"X-API-Key": STANDARD_KEY}


def assert_detail(body: bytes, *fragments: str) -> str:
    assert b"Traceback" not in body
    decoded = json.loads(body)
    assert set(decoded) == {"detail"}
    detail = decoded["detail"]
    assert "\n" not in detail
    for fragment in fragments:
        assert fragment in detail
    return detail


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ({}, ["essay_text", "required"]),
        ({"essay_text": 42}, ["essay_text", "Expected `str`, got `int`"]),
        (
            {"essay_text": "text", "params": {"min_compression_ratio": 1.5}},
            ["params.min_compression_ratio", "<= 1.0"],
        ),
        (
            {"essay_text": "text", "params": {"min_semantic_similarity": -0.1}},
            ["params.min_semantic_similarity", ">= 0.0"],
        ),
        (
            {"essay_text": "text", "params": {"analysis_mode": "thorough"}},
            ["params.analysis_mode", "partial"],
        ),
        (
            {"essay_text": "text", "params": {"force_single_segment": "yes"}},
            ["params.force_single_segment", "bool"],
        ),
        ({"essay_text": "text", "params": {"timeout": 5000}}, ["params.timeout", "<= 1200"]),
        (
            {
                "essay_text": "text",
                "filters": {"purpose": {"exclude": [{"min_semantic_similarity": 0.3}]}},
            },
            ["filters.purpose.exclude[0]", "semantic_category"],
        ),
        (
            {"essay_text": "text", "filters": {"purpose": {"exclude": "financial"}}},
            ["filters.purpose.exclude", "array"],
        ),
        ({"essay_text": "   \n\n  "}, ["essay_text holds no text"]),
    ],
)
def test_invalid_body_gives_400_saying_what_is_wrong(
    service: ServiceProcess, body: dict[str, Any], fragments: list[str]
) -> None:
    reply = service.request("POST", "/analyze_sync", body, headers=HEADERS)
    assert reply.status == 400
    assert_detail(reply.body, *fragments)


def test_body_that_is_not_json_gives_400(service: ServiceProcess) -> None:
    reply = service.request("POST", "/analyze_sync", raw=b'{"essay_text": ', headers=HEADERS)
    assert reply.status == 400
    assert_detail(reply.body)


def test_missing_key_gives_401(service: ServiceProcess) -> None:
    reply = service.request("POST", "/analyze_sync", {"essay_text": "text"})
    assert reply.status == 401
    assert_detail(reply.body, "X-API-Key")


def test_unknown_key_gives_403_without_echoing_it(service: ServiceProcess) -> None:
    reply = service.request(
        "POST", "/analyze_sync", {"essay_text": "text"}, headers={"X-API-Key": "guess-123"}
    )
    assert reply.status == 403
    detail = assert_detail(reply.body, "not valid")
    assert "guess-123" not in detail


def test_text_over_max_input_chars_gives_413(fake: FakeProvider, tmp_path: Path) -> None:
    with running_service(
        managed_env(fake, MAX_INPUT_CHARS="1000"), tmp_path / "service.log"
    ) as small:
        reply = small.request("POST", "/analyze_sync", {"essay_text": "a" * 1001})
        assert reply.status == 413
        assert_detail(reply.body, "1001 characters", "at most 1000", "MAX_INPUT_CHARS")
        # A body far over the cap is refused before it is parsed.
        reply = small.request("POST", "/analyze_sync", {"essay_text": "a" * 200_000})
        assert reply.status == 413
        assert_detail(reply.body)
        # Open access (no API_KEYS): no key needed, the configured open tier applies.
        reply = small.request("POST", "/analyze_sync", {"essay_text": captures.SHORT_TEXT})
        assert reply.status == 200
        assert reply.json()["tier"] == "standard"
        assert reply.json()["results"]["request"]["params"]["hashed_api_key"] is None
        assert "open access: no API keys are configured" in small.log()  # never silent


def test_wrong_method_gives_405_with_detail(service: ServiceProcess) -> None:
    reply = service.request("GET", "/analyze_sync", headers=HEADERS)
    assert reply.status == 405
    assert_detail(reply.body)
