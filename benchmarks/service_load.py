"""What one service worker carries: throughput, latency, CPU and memory under load.

The real service (``python -m service``, one uvicorn worker) runs against the fake provider (its
own process, a fixed latency per call) on 127.0.0.1; the load generator is wrk (C, one thread).
With two or more cores the service gets core 0 to itself, the fake and wrk share the others, so
the figures are the service's, not the load generator's.

For each provider latency and concurrency it measures ``/health`` and ``/analyze_sync`` (1 and 5
paragraphs): requests/s, p50/p99 latency, non-2xx answers, upstream calls per request (the fake
counts them), the service's CPU per request and per upstream call, and its peak RSS (the c=500
rows are the RSS at 500 in flight). The same wrk then calls the fake's chat endpoint directly at
the same concurrency; the ratio per upstream call compares the service's p50 with as many direct
calls in sequence as a request makes one after another (its critical path, measured at c=1 with
the highest provider latency: the number of whole direct calls that fit in its p50).

Each run waits until the service has finished the requests wrk left in flight, and a saturated
run is lengthened (up to --max-duration) so that connections complete a few requests each.

Usage: .venv/bin/python -m benchmarks.service_load [--duration 10] [--max-duration 60]
       [--warmup 2] [--latency-ms 0 200] [--concurrency 1 50 500] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import psutil

from benchmarks.fake_process import (
    FIVE_PARAGRAPHS,
    ONE_PARAGRAPH,
    fake_provider_process,
    upstream_calls,
)
from service.analysis.prompts import analysis_request
from tests.service.runner import running_service
from tests.tooling import wrk_executable

WORKLOADS = {
    "health": None,
    "analyze 1 paragraph": ONE_PARAGRAPH,
    "analyze 5 paragraphs": FIVE_PARAGRAPHS,
}
DIRECT = "provider directly"  # the fake's chat endpoint called by wrk itself
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True, kw_only=True)
class Load:
    """One wrk run."""

    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int


@dataclass(frozen=True, kw_only=True)
class Row:
    latency_ms: float
    workload: str
    concurrency: int
    load: Load
    upstream_calls_per_request: float
    cpu_ms_per_request: float
    peak_rss_mib: float


def parse_wrk(output: str) -> Load:
    def number(pattern: str) -> float:
        found = re.search(pattern, output, re.MULTILINE)
        return float(found[1]) if found else 0.0

    def percentile(which: str) -> float:
        found = re.search(rf"^\s+{which}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        if found is None:
            raise RuntimeError(f"wrk printed no {which}th percentile:\n{output}")
        return float(found[1]) * UNITS_MS[found[2]]

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return Load(
        requests=int(number(r"^\s*(\d+) requests in")),
        requests_per_second=number(r"^Requests/sec:\s+([\d.]+)"),
        p50_ms=percentile("50"),
        p99_ms=percentile("99"),
        non_2xx=int(number(r"Non-2xx or 3xx responses: (\d+)")),
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def taskset(cores: set[int]) -> list[str]:
    """A command prefix that starts a program on `cores` only (every thread inherits it)."""
    return ["taskset", "-c", ",".join(map(str, sorted(cores)))]


@dataclass(frozen=True, kw_only=True)
class LoadGenerator:
    """wrk, one thread, on `cores`; POST bodies go through a Lua script in `scratch`."""

    cores: set[int]
    scratch: Path

    def run(self, url: str, *, concurrency: int, seconds: float, body: str | None) -> Load:
        command = [
            *taskset(self.cores),
            str(wrk_executable()),
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "120s",
            "--latency",
        ]
        if body is not None:
            script = self.scratch / "post.lua"
            script.write_text(
                'wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                f"wrk.body = [==[{body}]==]\n"
            )
            command += ["-s", str(script)]
        completed = subprocess.run(
            [*command, url], capture_output=True, text=True, check=False, timeout=seconds + 180
        )
        if completed.returncode != 0:
            raise RuntimeError(
                f"wrk failed (exit {completed.returncode}): {completed.stderr.strip()}"
            )
        return parse_wrk(completed.stdout)


class PeakRss:
    """Samples a process's RSS every 50 ms while in the `with` block; `peak_mib` after."""

    def __init__(self, process: psutil.Process) -> None:
        self.process, self.peak_mib = process, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak_mib = max(self.peak_mib, self.process.memory_info().rss / 2**20)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def measure_service(
    latency_ms: float, args: argparse.Namespace, service_cores: set[int], load: LoadGenerator
) -> tuple[list[Row], float]:
    """Rows for every workload and concurrency at one provider latency; and the idle RSS."""
    rows = []
    with fake_provider_process(latency_ms, prefix=taskset(load.cores)) as provider:
        env = {
            "INFERENCE_PROVIDER_MODE": "managed",
            "MANAGED_API_URL": provider,
            "MANAGED_MODEL": "fake-model",
            "LOG_LEVEL": "warning",
            "ENVIRONMENT": "benchmark",
            "WORKERS": "1",
            # Measure the worker, not its guards: admit every request of the c=500 runs, and
            # give open access the tier whose hourly budget these runs stay within.
            "MAX_IN_FLIGHT": str(max(args.concurrency) * 2),
            "OPEN_ACCESS_TIER": "northstar",
        }
        log = load.scratch / f"service-{latency_ms:g}.log"
        with running_service(env, log) as service:
            process = psutil.Process(service.process.pid)
            process.cpu_affinity(sorted(service_cores))
            idle_mib = process.memory_info().rss / 2**20
            for workload, text in WORKLOADS.items():
                if text is None and latency_ms != args.latency_ms[0]:
                    continue  # /health never calls the provider: one latency is enough
                url = service.url + ("/health" if text is None else "/analyze_sync")
                body = None if text is None else json.dumps({"essay_text": text})
                previous: Row | None = None
                for index, concurrency in enumerate(args.concurrency):
                    run = partial(load.run, url, concurrency=concurrency, body=body)
                    if index == 0 and args.warmup > 0:
                        run(seconds=args.warmup)
                        settle(provider)
                    calls_before = upstream_calls(provider)
                    cpu_before = sum(process.cpu_times()[:2])
                    with PeakRss(process) as rss:
                        result = run(seconds=window(args, previous, concurrency))
                    settle(provider)
                    # wrk leaves one request per connection unanswered when it stops; the
                    # service still completes it (no cancellation on disconnect), so it counts.
                    started = result.requests + concurrency
                    cpu_ms = (sum(process.cpu_times()[:2]) - cpu_before) * 1000
                    rows.append(
                        Row(
                            latency_ms=latency_ms,
                            workload=workload,
                            concurrency=concurrency,
                            load=result,
                            upstream_calls_per_request=(upstream_calls(provider) - calls_before)
                            / started,
                            cpu_ms_per_request=cpu_ms / started,
                            peak_rss_mib=rss.peak_mib,
                        )
                    )
                    previous = rows[-1]
        direct_body = json.dumps(direct_chat_body())
        for concurrency in args.concurrency:
            result = load.run(
                f"{provider}/chat/completions",
                concurrency=concurrency,
                seconds=args.duration,
                body=direct_body,
            )
            rows.append(
                Row(
                    latency_ms=latency_ms,
                    workload=DIRECT,
                    concurrency=concurrency,
                    load=result,
                    upstream_calls_per_request=1.0,
                    cpu_ms_per_request=0.0,
                    peak_rss_mib=0.0,
                )
            )
    return rows, idle_mib


def window(args: argparse.Namespace, previous: Row | None, concurrency: int) -> float:
    """Seconds to measure: long enough for about three requests per connection, judged from
    the previous (lower) concurrency's p50 scaled to this one, within --max-duration."""
    if previous is None or previous.load.requests == 0:
        return args.duration
    expected_ms = previous.load.p50_ms * concurrency / previous.concurrency
    return min(args.max_duration, max(args.duration, 3 * expected_ms / 1000))


def settle(provider: str, *, quiet_seconds: float = 1.0, limit_seconds: float = 600.0) -> None:
    """Wait until the service has finished what a run left in flight (no new upstream calls)."""
    deadline = time.monotonic() + limit_seconds
    last = upstream_calls(provider)
    while time.monotonic() < deadline:
        time.sleep(quiet_seconds)
        now = upstream_calls(provider)
        if now == last:
            return
        last = now
    raise RuntimeError(f"the service kept calling the provider for {limit_seconds:.0f} s")


def direct_chat_body() -> dict[str, object]:
    """The service's first upstream call for one paragraph, as the fake receives it."""
    request = analysis_request(ONE_PARAGRAPH.strip(), 5)
    return {
        "model": "fake-model",
        "messages": [
            {"role": "system", "content": request.system},
            *({"role": m.role, "content": m.content} for m in request.messages),
        ],
    }


def critical_path(rows: list[Row], workload: str) -> int | None:
    """Sequential upstream round trips per request: how many direct calls fit in its p50 (c=1,
    the highest provider latency, where the service's own work is small next to one call)."""
    latency = max(r.latency_ms for r in rows)
    p50 = {
        r.workload: r.load.p50_ms for r in rows if r.latency_ms == latency and r.concurrency == 1
    }
    if latency == 0 or workload not in p50 or DIRECT not in p50:
        return None
    return max(1, int(p50[workload] // p50[DIRECT]))


def report(rows: list[Row], idle_mib: dict[float, float], cpus: int) -> dict[str, object]:
    print(
        f"machine: {cpus} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB; load average "
        f"{os.getloadavg()[0]:.1f}; service pinned to core 0, fake provider and wrk to the rest"
    )
    print(
        "idle RSS after start: "
        + ", ".join(f"{mib:.1f} MiB (provider {lat:g} ms)" for lat, mib in idle_mib.items())
    )
    depth = {w: critical_path(rows, w) for w in WORKLOADS if WORKLOADS[w] is not None}
    direct = {(r.latency_ms, r.concurrency): r.load.p50_ms for r in rows if r.workload == DIRECT}
    header = (
        "provider ms",
        "workload",
        "c",
        "req/s",
        "p50 ms",
        "p99 ms",
        "non-2xx",
        "errors",
        "calls/req",
        "CPU ms/req",
        "CPU ms/call",
        "peak RSS MiB",
        "x direct/call",
    )
    table = [header]
    for row in rows:
        trips = depth.get(row.workload)
        baseline = direct.get((row.latency_ms, row.concurrency))
        ratio = (row.load.p50_ms / (trips * baseline)) if trips and baseline else None
        calls = row.upstream_calls_per_request
        table.append(
            (
                f"{row.latency_ms:g}",
                row.workload,
                str(row.concurrency),
                f"{row.load.requests_per_second:.1f}",
                f"{row.load.p50_ms:.2f}" if row.load.requests else "none done",
                f"{row.load.p99_ms:.2f}" if row.load.requests else "-",
                str(row.load.non_2xx),
                str(row.load.socket_errors),
                f"{calls:.1f}" if row.workload != DIRECT else "-",
                f"{row.cpu_ms_per_request:.2f}" if row.cpu_ms_per_request else "-",
                f"{row.cpu_ms_per_request / calls:.2f}"
                if row.cpu_ms_per_request and calls
                else "-",
                f"{row.peak_rss_mib:.1f}" if row.peak_rss_mib else "-",
                f"{ratio:.2f}" if ratio else "-",
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
    print(
        "critical path (sequential upstream round trips per request, measured): "
        + ", ".join(f"{w}: {d if d is not None else 'n/a'}" for w, d in depth.items())
    )
    return {
        "rows": [asdict(row) for row in rows],
        "idle_rss_mib": idle_mib,
        "critical_path": depth,
        "cores": cpus,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per run")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of warm-up per run (0: none)"
    )
    parser.add_argument(
        "--max-duration",
        type=float,
        default=60.0,
        help="longest measured run: saturated high-concurrency runs are extended to see a few "
        "requests per connection complete",
    )
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 200.0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50, 500])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    wrk_executable()  # fail before starting anything when the load generator is missing
    cpus = sorted(os.sched_getaffinity(0))
    # The service alone on the first core; the fake and wrk on the others (all, on one core).
    service_cores, other_cores = {cpus[0]}, set(cpus[1:]) or {cpus[0]}
    rows: list[Row] = []
    idle: dict[float, float] = {}
    with tempfile.TemporaryDirectory(prefix="service-load-") as scratch:
        load = LoadGenerator(cores=other_cores, scratch=Path(scratch))
        for latency in args.latency_ms:
            measured, idle[latency] = measure_service(latency, args, service_cores, load)
            rows += measured
    figures = report(rows, idle, len(cpus))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
