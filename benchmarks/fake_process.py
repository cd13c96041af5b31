"""The fake provider in its own process, for benchmarks (the service and the load generator
must not share its event loop or its core)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from tests.fakes import captures
from tests.service.runner import free_port
from tests.tooling import REPO_ROOT

ONE_PARAGRAPH = captures.ESSAY_TEXT
FIVE_PARAGRAPHS = "\n\n".join(part.strip() for part in captures.ESSAY_TEXT.split("  "))
STARTUP_SECONDS = 30.0


def upstream_calls(provider: str) -> int:
    """Calls the fake has answered so far (all endpoints); `provider` is its /v1 URL."""
    seen_url = f"{provider.removesuffix('/v1')}/_fake/seen"
    with urllib.request.urlopen(seen_url, timeout=10) as seen:  # noqa: S310 - loopback only
        return sum(json.load(seen)["calls"].values())


@contextmanager
def fake_provider_process(latency_ms: float, *, prefix: Sequence[str] = ()) -> Iterator[str]:
    """Start `python -m tests.fakes.fake_provider` (behind `prefix`, e.g. taskset), wait until
    it answers, yield its /v1 URL, stop it."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "tests.fakes.fake_provider",
        "--port",
        str(port),
        "--latency-ms",
        str(latency_ms),
    ]
    process = subprocess.Popen([*prefix, *command], cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                upstream_calls(url)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the fake provider did not start on {url}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
