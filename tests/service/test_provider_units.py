"""Provider plumbing as plain functions: Retry-After parsing and provider URL rules."""

from __future__ import annotations

import pytest

from service.providers.credentials import api_base, guess_provider_kind, provider_url_problem
from service.providers.http import RetryAfterBudget, parse_retry_after


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


def test_overlapping_retry_after_waits_spend_the_budget_once() -> None:
    budget = RetryAfterBudget(seconds=10.0)
    # Six concurrent calls told to wait 4 s at the same moment: one 4 s wait of the analysis.
    assert all(budget.take(4.0) for _ in range(6))
    assert budget.take(5.5)  # 1.5 s beyond the first wait: 5.5 s spent in all
    assert not budget.take(11.0)  # 5.5 s beyond that: 11 s, over the budget
    assert budget.take(9.0)  # 3.5 s beyond: 9 s, within it


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
