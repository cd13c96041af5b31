"""Added latency, CPU and RSS of the analysis service over the fake provider.

Runs the real service (``python -m service``: uvicorn + uvloop + httptools, one worker) against
the fake provider (own process, fixed latency per call) on 127.0.0.1, and for 1 and 5 paragraphs
at concurrency 1 and 50 prints:

* p50/p99 of the service's latency;
* p50/p99 of the provider-only baseline: the same upstream calls made directly by the load
  generator (per paragraph: analysis chat, reconstruction chat, one embeddings call; paragraphs
  in parallel), i.e. the latency the provider itself accounts for;
* the service's added latency (service minus baseline, per percentile);
* the service process's CPU per request and its RSS.

Usage: .venv/bin/python -m benchmarks.service_latency [--latency-ms 100] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import psutil

from benchmarks.fake_process import FIVE_PARAGRAPHS, ONE_PARAGRAPH, fake_provider_process
from service.analysis.prompts import analysis_request, reconstruction_request
from tests.fakes import captures
from tests.service.runner import running_service


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(
    call: Callable[[aiohttp.ClientSession], Awaitable[None]], *, concurrency: int, requests: int
) -> list[float]:
    """Latencies (ms) of ``requests`` calls issued by ``concurrency`` workers."""
    latencies: list[float] = []
    remaining = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=120)
    ) as session:

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                await call(session)
                latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def service_call(url: str, text: str) -> Callable[[aiohttp.ClientSession], Awaitable[None]]:
    body = json.dumps({"essay_text": text})

    async def call(session: aiohttp.ClientSession) -> None:
        async with session.post(
            f"{url}/analyze_sync", data=body, headers={"Content-Type": "application/json"}
        ) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"service answered {response.status}: {await response.text()}")

    return call


def baseline_call(
    provider: str, paragraphs: list[str]
) -> Callable[[aiohttp.ClientSession], Awaitable[None]]:
    """The provider's own share: the service's upstream calls, made directly."""

    async def chat(session: aiohttp.ClientSession, messages: list[dict[str, str]]) -> None:
        async with session.post(
            f"{provider}/chat/completions", json={"model": "fake", "messages": messages}
        ) as response:
            await response.read()

    async def paragraph(session: aiohttp.ClientSession, text: str) -> None:
        for request in (
            analysis_request(text, 5),
            reconstruction_request(captures.HYPERSTRING_5, 5),
        ):
            await chat(
                session,
                [
                    {"role": "system", "content": request.system},
                    *({"role": m.role, "content": m.content} for m in request.messages),
                ],
            )
        async with session.post(
            f"{provider}/embeddings",
            json={"model": "fake", "input": [text, text], "dimensions": 768},
        ) as response:
            await response.read()

    async def call(session: aiohttp.ClientSession) -> None:
        await asyncio.gather(*(paragraph(session, text) for text in paragraphs))

    return call


def main() -> None:
    parser = argparse.ArgumentParser(
        description="added latency of the service over the fake provider"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=100.0, help="fake provider latency per call"
    )
    parser.add_argument(
        "--requests", type=int, default=300, help="requests per run at concurrency 50"
    )
    arguments = parser.parse_args()

    with fake_provider_process(arguments.latency_ms) as provider:
        env = {
            "INFERENCE_PROVIDER_MODE": "managed",
            "MANAGED_API_URL": provider,
            "LOG_LEVEL": "warning",
            "ENVIRONMENT": "benchmark",
            "MAX_IN_FLIGHT": "1000",
        }
        with (
            tempfile.TemporaryDirectory() as scratch,
            running_service(env, Path(scratch) / "service.log") as service,
        ):
            process = psutil.Process(service.process.pid)
            asyncio.run(
                measure(service_call(service.url, ONE_PARAGRAPH), concurrency=4, requests=20)
            )  # warm-up
            print(
                f"load average before the runs: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
            )
            print(
                f"fake provider latency per call: {arguments.latency_ms:.0f} ms; "
                f"RSS after start and warm-up: {process.memory_info().rss / 2**20:.1f} MiB"
            )
            print(
                "paragraphs concurrency  service p50/p99 ms  provider-only p50/p99 ms  "
                "added p50/p99 ms  "
                "CPU ms/request"
            )
            for label, text, paragraphs in (
                ("1", ONE_PARAGRAPH, [ONE_PARAGRAPH.strip()]),
                ("5", FIVE_PARAGRAPHS, FIVE_PARAGRAPHS.split("\n\n")),
            ):
                for concurrency in (1, 50):
                    count = (
                        max(20, arguments.requests // 10)
                        if concurrency == 1
                        else arguments.requests
                    )
                    cpu_before = sum(process.cpu_times()[:2])
                    served = asyncio.run(
                        measure(
                            service_call(service.url, text), concurrency=concurrency, requests=count
                        )
                    )
                    cpu_ms = (sum(process.cpu_times()[:2]) - cpu_before) * 1000 / count
                    direct = asyncio.run(
                        measure(
                            baseline_call(provider, paragraphs),
                            concurrency=concurrency,
                            requests=count,
                        )
                    )
                    s50, s99 = percentile(served, 0.5), percentile(served, 0.99)
                    b50, b99 = percentile(direct, 0.5), percentile(direct, 0.99)
                    print(
                        f"{label:>10} {concurrency:>11}  {s50:8.1f} / {s99:7.1f}  "
                        f"{b50:14.1f} / {b99:7.1f}"
                        f"  {s50 - b50:7.1f} / {s99 - b99:7.1f}  {cpu_ms:10.2f}"
                    )
            print(
                f"RSS after load: {process.memory_info().rss / 2**20:.1f} MiB "
                f"(median request {statistics.median(served):.0f} ms in the last run)"
            )


if __name__ == "__main__":
    main()
