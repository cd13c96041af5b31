"""The benchmarks run end to end on a tiny setting and print their figures (never judged here)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tooling import REPO_ROOT, wrk_executable

pytestmark = pytest.mark.slow
NUMBER = r"[\d.]+"


def run_benchmark(module: str, *args: str, timeout: float) -> str:
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr[-3000:]
    return completed.stdout


@pytest.mark.xdist_group("benchmark-service-load")
def test_service_load_prints_every_figure(tmp_path: Path) -> None:
    wrk_executable()  # fails with how to install wrk, rather than deep inside the run
    figures = tmp_path / "figures.json"
    output = run_benchmark(
        "benchmarks.service_load",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--latency-ms",
        "0",
        "20",
        "--concurrency",
        "1",
        "4",
        "--json",
        str(figures),
        timeout=300,
    )
    assert re.search(rf"idle RSS after start: {NUMBER} MiB", output)
    for latency, workload in [
        ("0", "health"),
        ("0", "analyze 1 paragraph"),
        ("20", "analyze 5 paragraphs"),
        ("20", "provider directly"),
    ]:
        for concurrency in (1, 4):
            assert re.search(
                rf"^\s*{latency}\s+{workload}\s+{concurrency}\s+{NUMBER}\s+{NUMBER}\s+"
                rf"{NUMBER}\s",
                output,
                re.MULTILINE,
            ), (workload, concurrency, output)
    analyze = re.search(r"^\s*20\s+analyze 1 paragraph\s+4(\s+\S+){10}$", output, re.MULTILINE)
    assert analyze, output  # every column filled: calls, CPU, RSS and the ratio to direct calls
    assert "critical path (sequential upstream round trips per request, measured)" in output
    rows = json.loads(figures.read_text())["rows"]
    assert (
        len(rows) == 2 + 2 * 2 * 2 + 2 * 2
    )  # health at one latency; analyze 1/5 and direct at both


@pytest.mark.xdist_group("benchmark-synthesis")
def test_synthesis_prints_wall_time_and_peak_memory_of_each_job() -> None:
    output = run_benchmark("benchmarks.synthesis", "--runs", "1", "--no-setup", timeout=600)
    for job in ("main job (build only)", "synth alone"):
        assert re.search(rf"^{re.escape(job)}\s+1\s+{NUMBER}\s+\d+\s+\d+$", output, re.MULTILINE), (
            output
        )


@pytest.mark.xdist_group("benchmark-async-jobs")
def test_async_jobs_prints_throughput_and_added_latency() -> None:
    output = run_benchmark(
        "benchmarks.async_jobs",
        "--latency-ms",
        "0",
        "--jobs",
        "4",
        "--worker-concurrency",
        "2",
        "--samples",
        "3",
        timeout=300,
    )
    assert re.search(rf"^\s+2\s+4\s+{NUMBER}\s+3\.0$", output, re.MULTILINE), output
    pair = rf"-?{NUMBER} /\s+-?{NUMBER}"
    for request in ("begin", r"status \(completed\)"):
        assert re.search(
            rf"^{request}\s+{pair}\s+{pair}\s+{pair}$",
            output,
            re.MULTILINE,
        ), (request, output)
    assert re.search(rf"load average before the runs: {NUMBER}", output)
