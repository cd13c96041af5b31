"""`hypernym-deploy`: the project's command line.

Subcommands register themselves through one function each in `SUBCOMMANDS`; a function adds
its parser and sets `handler` (args -> exit status).

    hypernym-deploy build [--config PATH|NAME] [--outdir cdktf.out]

`build` synthesizes every stack of a deployment, scans each with checkov and prints a summary.
Exit status: 0 clean, 1 a checkov check failed, 2 the configuration is invalid (each problem
on its own line on stderr; nothing is written).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from modules import plan_review
from modules.config import ConfigError, DeploymentConfig, load_config, resolve_config_path
from modules.tooling import CheckovResult, ToolMissingError, run_checkov

DEPLOYMENT_ENV = "HYPERNYM_DEPLOYMENT"
"""Selects the deployment (a path, or an example name from deployments/) when --config is absent."""


def selected_config(flag: str | None) -> DeploymentConfig:
    """The deployment chosen by --config, else $HYPERNYM_DEPLOYMENT, else ecs-managed."""
    return load_config(resolve_config_path(flag or os.environ.get(DEPLOYMENT_ENV)))


def synthesize(config: DeploymentConfig, outdir: Path) -> list[Path]:
    """Synthesize into a scratch directory, then replace `outdir`: never a half-written output."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from modules.app import build_app  # the AWS bindings take 10-15 s to import

    outdir = outdir.resolve()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{outdir.name}-", dir=outdir.parent))
    try:
        build_app(config, scratch).synth()
        if outdir.exists():
            shutil.rmtree(outdir)
        scratch.rename(outdir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return sorted(p for p in (outdir / "stacks").iterdir() if p.is_dir())


def resource_count(stack_dir: Path) -> int:
    resources = json.loads((stack_dir / "cdk.tf.json").read_text()).get("resource", {})
    return sum(len(by_name) for by_name in resources.values())


def _build(args: argparse.Namespace) -> int:
    try:
        config = selected_config(args.config)
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    stacks = synthesize(config, Path(args.outdir))
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            scans = list(pool.map(lambda d: run_checkov(d / "cdk.tf.json", "terraform_json"), stacks))
    except ToolMissingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows = [("stack", "resources", "passed", "failed", "skipped", "Terraform JSON")]
    failures: list[str] = []
    for stack_dir, results in zip(stacks, scans, strict=True):
        total = CheckovResult(target="", framework="", passed=sum(r.passed for r in results),
                              failed=sum(r.failed for r in results),
                              skipped=sum(r.skipped for r in results), resource_count=0,
                              failures=tuple(f for r in results for f in r.failures))
        failures += total.failures
        rows.append((stack_dir.name, str(resource_count(stack_dir)), str(total.passed),
                     str(total.failed), str(total.skipped),
                     os.path.relpath(stack_dir / "cdk.tf.json")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"deployment {config.name} ({config.platform}, {config.inference.mode}); checkov:")
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for failure in failures:
        print(f"FAILED {failure}")
    return 1 if failures else 0


def _register_build(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build", help="synthesize every stack, scan each with checkov, print a summary")
    parser.add_argument("--config", help=f"deployment file or example name (default: "
                        f"${DEPLOYMENT_ENV}, else ecs-managed)")
    parser.add_argument("--outdir", default="cdktf.out", help="where the stacks go (default: %(default)s)")
    parser.set_defaults(handler=_build)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_register_build, plan_review.register]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hypernym-deploy", description=__doc__.split("\n\n")[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for register in SUBCOMMANDS:
        register(subparsers)
    args = parser.parse_args(argv)
    status = int(args.handler(args))
    sys.stdout.flush()
    sys.stderr.flush()
    return status
