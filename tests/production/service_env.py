"""Environments and helpers for running the real service in the production tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.fakes.fake_provider import FakeProvider
from tests.harness.leaks import sensitive
from tests.service.runner import ServiceProcess

ESSAY = (
    "The lighthouse keeper logs every ship that passes the northern reef at dusk, and the ledger "
    "has become the harbour's only reliable record of winter traffic."
)
"""The essay the production tests send; the session's leak check looks for it in every log."""
sensitive(ESSAY)

MANAGED_KEY = "mk-production-tests-0001"


def managed_env(provider: FakeProvider, **overrides: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "test",
        "INFERENCE_PROVIDER_MODE": "managed",
        "MANAGED_API_URL": provider.url,
        "MANAGED_API_KEY": MANAGED_KEY,
        "MANAGED_MODEL": "fake-model",
        "LOG_LEVEL": "info",
        **overrides,
    }


def analyze(service: ServiceProcess, essay: str = ESSAY, **headers: str) -> int:
    return service.request("POST", "/analyze_sync", {"essay_text": essay}, headers=headers).status


def wait_until(condition: Callable[[], bool], *, seconds: float = 15.0, what: str) -> float:
    """Poll ``condition`` every 50 ms; the seconds it took, or fail naming ``what``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds} s")


def is_ready(service: ServiceProcess) -> bool:
    return service.request("GET", "/ready", timeout=5).status == 200
