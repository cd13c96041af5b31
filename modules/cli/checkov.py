"""checkov, run offline on synthesized stacks, plans and the rendered chart.

scripts/setup installs checkov into .venvs/checkov (it pins a boto3 that clashes with ours).
A missing tool raises :class:`ToolMissingError` whose message says how to install it, so a
command or test that needs it fails with that message instead of skipping; tests/tooling.py
knows the paths of the tools only tests and benchmarks use.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from modules.config import PROJECT_ROOT

SETUP_HINT = "run scripts/setup (it installs every tool the project needs)"
CHECKOV_CONFIG = PROJECT_ROOT / ".checkov.yaml"


class ToolMissingError(RuntimeError):
    """A tool the project needs is not installed where scripts/setup puts it."""


def existing_tool(path: Path, what: str) -> Path:
    """`path`, or ToolMissingError saying how to install `what`."""
    if not path.exists():
        raise ToolMissingError(f"{what} not found at {path}: {SETUP_HINT}")
    return path


def checkov_executable() -> Path:
    return existing_tool(PROJECT_ROOT / ".venvs/checkov/bin/checkov", "checkov")


@dataclass(frozen=True)
class CheckovResult:
    """One checkov scan: counts and the failed checks as `CHECK_ID resource (file)` lines."""

    target: str
    framework: str
    passed: int
    failed: int
    skipped: int
    resource_count: int
    failures: tuple[str, ...]


def checkov_skips() -> frozenset[str]:
    """The check ids .checkov.yaml skips (each with its reason there)."""
    if not CHECKOV_CONFIG.exists():
        return frozenset()
    return frozenset(yaml.safe_load(CHECKOV_CONFIG.read_text()).get("skip-check", []))


def run_checkov(
    target: Path,
    framework: str,
    *,
    extra_env: dict[str, str] | None = None,
    apply_skips: bool = True,
) -> list[CheckovResult]:
    """Scan a file or directory with checkov offline, using the project's one config file.

    `apply_skips=False` runs the skipped checks too, so a caller can count what they would
    have failed (checkov reports config-file skips as nothing at all).

    `framework` is one of checkov's names: terraform_json (CDKTF output), terraform_plan,
    kubernetes, helm. Never `terraform`: it ignores *.tf.json.
    """
    env = dict(os.environ)
    # No call-outs to Prisma Cloud for guidelines or policy downloads.
    env.update(BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false")
    env.update(extra_env or {})
    flag = "-d" if target.is_dir() else "-f"
    command = [
        str(checkov_executable()),
        flag,
        str(target.resolve()),
        "--framework",
        framework,
        "--skip-download",
        "--output",
        "json",
        "--quiet",
        "--compact",
    ]
    if CHECKOV_CONFIG.exists() and apply_skips:
        command += ["--config-file", str(CHECKOV_CONFIG)]
    # checkov also picks up .checkov.yaml from its working directory: run it elsewhere to
    # keep the skipped checks in.
    cwd = None if apply_skips else (target if target.is_dir() else target.parent)
    completed = subprocess.run(
        command, capture_output=True, text=True, env=env, check=False, cwd=cwd
    )
    if completed.returncode not in (0, 1) or not completed.stdout.strip():
        raise RuntimeError(
            f"checkov failed on {target} (exit {completed.returncode}): "
            f"{completed.stderr.strip()[-2000:]}"
        )
    reports = json.loads(completed.stdout)
    if isinstance(reports, dict):
        reports = [reports]
    results = []
    for report in reports:
        summary = report.get("summary", {})
        failed_checks = report.get("results", {}).get("failed_checks", [])
        results.append(
            CheckovResult(
                target=str(target),
                framework=report.get("check_type", framework),
                passed=summary.get("passed", 0),
                failed=summary.get("failed", 0),
                skipped=summary.get("skipped", 0),
                resource_count=summary.get("resource_count", 0),
                failures=tuple(
                    f"{c['check_id']} {c.get('resource_address') or c['resource']} "
                    f"({c['file_path']})"
                    for c in failed_checks
                ),
            )
        )
    return results
