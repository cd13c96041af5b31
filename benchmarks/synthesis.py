"""Wall time and peak memory of the main job and of synthesis alone, first run and later runs.

* main job: ``scripts/main-job`` (setup's stamp check, then ``hypernym-deploy build``: synthesize
  every stack of the deployment and scan each with checkov); ``--no-setup`` measures only the
  build, for machines where setup must not run;
* synth alone: ``python main.py`` (what ``cdktf synth`` runs), no checkov.

Peak RSS is sampled every 50 ms over the whole process tree (Python, the jsii Node.js runtime,
checkov), and for the largest single process in it.
Output goes to a scratch directory, never to the project's cdktf.out.

Usage: .venv/bin/python -m benchmarks.synthesis [--runs 2] [--deployment ecs-managed] [--no-setup]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.tooling import REPO_ROOT


@dataclass(frozen=True, kw_only=True)
class Run:
    job: str
    number: int
    wall_seconds: float
    peak_tree_rss_mib: float
    largest_process_rss_mib: float
    exit_status: int


def measure(job: str, number: int, command: list[str], *, cwd: Path, env: dict[str, str]) -> Run:
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak_tree = peak_single = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree, peak_single
        root = psutil.Process(process.pid)
        while not done.wait(0.05):
            try:
                sizes = [_rss(p) / 2**20 for p in [root, *root.children(recursive=True)]]
            except psutil.NoSuchProcess:
                return
            peak_tree, peak_single = max(peak_tree, sum(sizes)), max(peak_single, *sizes)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode not in (0, 1):  # 1: the build ran and checkov failed a check
        raise RuntimeError(f"{job} failed (exit {process.returncode}): {stderr.decode()[-2000:]}")
    return Run(
        job=job,
        number=number,
        wall_seconds=wall,
        peak_tree_rss_mib=peak_tree,
        largest_process_rss_mib=peak_single,
        exit_status=process.returncode,
    )


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.NoSuchProcess:
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="runs of each job (the first is cold)")
    parser.add_argument(
        "--deployment", default="ecs-managed", help="deployment file or example name"
    )
    parser.add_argument(
        "--no-setup",
        action="store_true",
        help="main job without scripts/setup: only `hypernym-deploy build`",
    )
    args = parser.parse_args(argv)
    env = {**os.environ, "HYPERNYM_DEPLOYMENT": args.deployment}
    venv_bin = Path(sys.executable).parent
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="synthesis-") as scratch:
        main_job = (
            [str(venv_bin / "hypernym-deploy"), "build"]
            if args.no_setup
            else [str(REPO_ROOT / "scripts/main-job")]
        )
        jobs = {
            "main job" + (" (build only)" if args.no_setup else ""): (
                [*main_job, "--outdir", f"{scratch}/main-job"],
                REPO_ROOT,
            ),
            # main.py writes cdktf.out/ in its working directory: the scratch one.
            "synth alone": ([sys.executable, str(REPO_ROOT / "main.py")], Path(scratch)),
        }
        for job, (command, cwd) in jobs.items():
            for number in range(1, args.runs + 1):
                runs.append(
                    measure(
                        job, number, command, cwd=cwd, env={**env, "PYTHONPATH": str(REPO_ROOT)}
                    )
                )
    print(
        f"deployment {args.deployment}; {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'job':<24} {'run':>3} {'wall s':>7} {'peak RSS MiB (tree)':>20} "
        f"{'largest process MiB':>20}"
    )
    for run in runs:
        print(
            f"{run.job:<24} {run.number:>3} {run.wall_seconds:>7.1f} "
            f"{run.peak_tree_rss_mib:>20.0f} {run.largest_process_rss_mib:>20.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
