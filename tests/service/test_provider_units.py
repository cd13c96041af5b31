"""Provider plumbing as plain functions: Retry-After parsing and provider URL rules."""

from __future__ import annotations

import pytest

from service.providers.credentials import api_base, guess_provider_kind, provider_url_problem
from service.providers.http import parse_retry_after


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        (None, None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
    ],
)
def test_retry_after_parsing(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_provider_url_rules() -> None:
    assert provider_url_problem("https://api.openai.com/v1", allow_plaintext=False) is None
    assert "https" in (
        provider_url_problem("http://api.openai.com/v1", allow_plaintext=False) or ""
    )
    assert "loopback" in (provider_url_problem("https://127.0.0.1/v1", allow_plaintext=False) or "")
    assert provider_url_problem("http://127.0.0.1:9/v1", allow_plaintext=True) is None
    assert "link-local" in (
        provider_url_problem("http://169.254.170.2/v2", allow_plaintext=True) or ""
    )
    assert guess_provider_kind("https://api.anthropic.com") == "anthropic"
    assert guess_provider_kind("https://llm.internal/v1") == "openai"
    assert api_base("http://one-api:8080") == "http://one-api:8080/v1"
    assert api_base("https://api.openai.com/v1/") == "https://api.openai.com/v1"
