"""Where the project's external tools live, and how to run them offline.

scripts/setup installs every tool into the repository (.venvs/, .tools/); this module is the
one place that knows those paths. A missing tool raises :class:`ToolMissingError` whose message
says how to install it, so a test that needs it fails with that message instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SETUP_HINT = "run scripts/setup (it installs every tool the project needs)"
CHECKOV_CONFIG = REPO_ROOT / ".checkov.yaml"


class ToolMissingError(RuntimeError):
    """A tool the project needs is not installed where scripts/setup puts it."""


def _existing(path: Path, what: str) -> Path:
    if not path.exists():
        raise ToolMissingError(f"{what} not found at {path}: {SETUP_HINT}")
    return path


def checkov_executable() -> Path:
    return _existing(REPO_ROOT / ".venvs/checkov/bin/checkov", "checkov")


def moto_server_executable() -> Path:
    return _existing(REPO_ROOT / ".venvs/moto/bin/moto_server", "moto_server")


def helm_executable() -> Path:
    return _existing(REPO_ROOT / ".tools/helm/helm", "helm")


def wrk_executable() -> Path:
    """The benchmarks' HTTP load generator (Debian's wrk: C, epoll, c=500 on one core)."""
    found = shutil.which("wrk")
    if found is None:
        raise ToolMissingError(f"wrk not found on PATH: {SETUP_HINT} (it runs apt-get install -y wrk)")
    return Path(found)


def terraform_cli_config() -> Path:
    return _existing(REPO_ROOT / ".tools/tf-cli.hcl", "the Terraform CLI configuration")


def terraform_executable() -> Path:
    found = shutil.which("terraform")
    if found is None:
        raise ToolMissingError(
            "terraform not found on PATH: install Terraform 1.11+ (the machine image has 1.11.4)"
        )
    return Path(found)


def terraform_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for terraform: offline provider mirror, no version check, no prompts."""
    env = dict(os.environ if base is None else base)
    env.update(
        TF_CLI_CONFIG_FILE=str(terraform_cli_config()),
        CHECKPOINT_DISABLE="1",
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
    )
    env.pop("TF_PLUGIN_CACHE_DIR", None)
    return env


def helm_env(scratch: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for helm with its cache/config/data kept in a scratch directory."""
    env = dict(os.environ if base is None else base)
    for kind in ("CACHE", "CONFIG", "DATA"):
        env[f"HELM_{kind}_HOME"] = str(scratch / f"helm-{kind.lower()}")
    env["PATH"] = f"{helm_executable().parent}{os.pathsep}{env.get('PATH', '')}"
    return env


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
    import yaml

    if not CHECKOV_CONFIG.exists():
        return frozenset()
    return frozenset(yaml.safe_load(CHECKOV_CONFIG.read_text()).get("skip-check", []))


def run_checkov(
    target: Path, framework: str, *, extra_env: dict[str, str] | None = None, apply_skips: bool = True
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
        str(checkov_executable()), flag, str(target.resolve()), "--framework", framework,
        "--skip-download", "--output", "json", "--quiet", "--compact",
    ]
    if CHECKOV_CONFIG.exists() and apply_skips:
        command += ["--config-file", str(CHECKOV_CONFIG)]
    # checkov also picks up .checkov.yaml from its working directory: run it elsewhere to
    # keep the skipped checks in.
    cwd = None if apply_skips else (target if target.is_dir() else target.parent)
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False, cwd=cwd)
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
                    f"{c['check_id']} {c.get('resource_address') or c['resource']} ({c['file_path']})"
                    for c in failed_checks
                ),
            )
        )
    return results
