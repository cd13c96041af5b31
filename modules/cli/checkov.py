"""checkov, run offline on synthesized stacks, plans and the rendered chart.

scripts/setup installs checkov into .venvs/checkov (it pins a boto3 that clashes with ours).
A missing tool raises :class:`ToolMissingError` whose message says how to install it, so a
command or test that needs it fails with that message instead of skipping; tests/tooling.py
knows the paths of the tools only tests and benchmarks use.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    One result per report checkov writes (one per framework it ran). `apply_skips=False` runs
    the skipped checks too, so a caller can count what they would have failed (checkov reports
    config-file skips as nothing at all).

    `framework` is one of checkov's names: terraform_json (CDKTF output), terraform_plan,
    kubernetes, helm. Never `terraform`: it ignores *.tf.json.
    """
    flag = "-d" if target.is_dir() else "-f"
    with _readable([target], framework) as (scanned, original):
        reports = _checkov_reports(
            [flag, str(scanned[0])], framework, str(target), extra_env, apply_skips
        )
    return [
        _result(
            str(target),
            report.get("check_type", framework),
            _restored(report.get("results", {}), original),
        )
        for report in reports
    ]


_OUTCOMES = ("passed_checks", "failed_checks", "skipped_checks")


def scan_files(
    files: Sequence[Path], framework: str, *, apply_skips: bool = True
) -> dict[Path, CheckovResult]:
    """Scan many files in one checkov process (its start-up, ~4 s, is paid once): a result per
    file, keyed by the path as given. A file checkov found nothing to check in counts zero."""
    if not files:
        return {}
    with _readable(files, framework) as (scanned, original):
        flags = [argument for file in scanned for argument in ("-f", str(file))]
        reports = _checkov_reports(flags, framework, f"{len(files)} files", None, apply_skips)
    by_file: dict[Path, dict[str, list[dict[str, Any]]]] = {
        file.resolve(): {"passed_checks": [], "failed_checks": [], "skipped_checks": []}
        for file in files
    }
    for report in reports:
        for outcome, checks in _restored(report.get("results", {}), original).items():
            for check in checks if outcome in _OUTCOMES else ():
                by_file[Path(check["file_abs_path"]).resolve()][outcome].append(check)
    return {file: _result(str(file), framework, by_file[file.resolve()]) for file in files}


def checkov_readable_copy(stack_json: Path, scratch: Path) -> Path:
    """A copy of a synthesized stack that checkov 3.3.30's terraform_json parser can read.

    That parser takes every key of the `terraform` block for a nested block and, at a plain
    value such as `required_version`, reports a parsing error and no results at all. The copy
    has an empty object there instead, on the same line, so reported lines still match."""
    copy = scratch / stack_json.name
    copy.write_text(re.sub(r'("required_version":\s*)"[^"]*"', r"\1{}", stack_json.read_text()))
    return copy


@contextmanager
def _readable(
    targets: Sequence[Path], framework: str
) -> Iterator[tuple[list[Path], dict[str, Path]]]:
    """The paths to scan (readable copies of terraform_json files) and, by each copy's path,
    the file it stands for."""
    if framework != "terraform_json":
        yield [t.resolve() for t in targets], {}
        return
    with tempfile.TemporaryDirectory(prefix="checkov-copies-") as scratch:
        scanned, original = [], {}
        for index, target in enumerate(targets):
            if target.is_dir():
                scanned.append(target.resolve())
                continue
            (Path(scratch) / str(index)).mkdir()
            copy = checkov_readable_copy(target, Path(scratch) / str(index))
            scanned.append(copy)
            original[str(copy)] = target.resolve()
        yield scanned, original


def _restored(results: dict[str, Any], original: dict[str, Path]) -> dict[str, Any]:
    """checkov's results with each copy's path replaced by the file it stands for."""
    if not original:
        return results
    restored: dict[str, Any] = {}
    for outcome, checks in results.items():
        if outcome not in _OUTCOMES:
            restored[outcome] = checks
            continue
        restored[outcome] = [
            {
                **check,
                **{
                    key: str(original.get(check[key], check[key]))
                    for key in ("file_abs_path", "file_path")
                    if key in check
                },
            }
            for check in checks
        ]
    return restored


def _checkov_reports(
    target_flags: list[str],
    framework: str,
    what: str,
    extra_env: dict[str, str] | None,
    apply_skips: bool,
) -> list[dict[str, Any]]:
    env = dict(os.environ)
    # No call-outs to Prisma Cloud for guidelines or policy downloads.
    env.update(BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false")
    env.update(extra_env or {})
    command = [
        str(checkov_executable()),
        *target_flags,
        "--framework",
        framework,
        "--skip-download",
        "--output",
        "json",
        "--compact",
    ]
    if CHECKOV_CONFIG.exists() and apply_skips:
        command += ["--config-file", str(CHECKOV_CONFIG)]
    # checkov also picks up .checkov.yaml from its working directory: run it in an empty one
    # to keep the skipped checks in.
    with tempfile.TemporaryDirectory(prefix="checkov-") as empty:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            check=False,
            cwd=None if apply_skips else empty,
        )
    if completed.returncode not in (0, 1) or not completed.stdout.strip():
        raise RuntimeError(
            f"checkov failed on {what} (exit {completed.returncode}): "
            f"{completed.stderr.strip()[-2000:]}"
        )
    reports = json.loads(completed.stdout)
    reports = [reports] if isinstance(reports, dict) else list(reports)
    if any(report.get("summary", {}).get("parsing_errors", 0) for report in reports):
        # Otherwise a file checkov cannot read passes with nothing checked.
        raise RuntimeError(f"checkov could not parse {what} ({framework})")
    return reports


def _result(target: str, framework: str, results: dict[str, Any]) -> CheckovResult:
    failed_checks = results.get("failed_checks", [])
    return CheckovResult(
        target=target,
        framework=framework,
        passed=len(results.get("passed_checks", [])),
        failed=len(failed_checks),
        skipped=len(results.get("skipped_checks", [])),
        failures=tuple(
            f"{c['check_id']} {c.get('resource_address') or c['resource']} ({c['file_path']})"
            for c in failed_checks
        ),
    )
