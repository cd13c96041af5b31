"""`hypernym-deploy`: the project's command line.

Subcommands register themselves through one function each in `SUBCOMMANDS`; a function adds
its parser and sets `handler` (args -> exit status).

    hypernym-deploy build [--config PATH|NAME] [--outdir cdktf.out]
    hypernym-deploy reachability [--config PATH|NAME]
    hypernym-deploy cost [--config PATH|NAME]

`build` synthesizes every stack of a deployment, scans each with checkov and prints a summary.
Exit status: 0 clean, 1 a checkov check failed, 2 the configuration is invalid (each problem
on its own line on stderr; nothing is written).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modules.cli import cost, plan_review, reachability
from modules.cli.checkov import ToolMissingError, checkov_executable, checkov_skips, scan_files
from modules.cli.deployment import DEPLOYMENT_ENV, reported_config, synthesize


def resource_count(stack_file: Path) -> int:
    resources = json.loads(stack_file.read_text()).get("resource", {})
    return sum(len(by_name) for by_name in resources.values())


@dataclass(frozen=True)
class StackScan:
    """checkov's verdict on one stack; `skipped` counts findings .checkov.yaml waives."""

    stack_file: Path
    passed: int
    failures: tuple[str, ...]
    skipped: int


def scan(stack_files: list[Path], skips: frozenset[str]) -> list[StackScan]:
    """Every stack in one checkov process. Every check runs, skipped ones included, and the
    findings are sorted here: checkov itself reports config-file skips as nothing, and the
    summary should say how many were waived."""
    results = scan_files(stack_files, "terraform_json", apply_skips=False)
    scans = []
    for stack_file in stack_files:
        findings = results[stack_file].failures
        waived = [f for f in findings if f.split(" ", 1)[0] in skips]
        scans.append(
            StackScan(
                stack_file=stack_file,
                passed=results[stack_file].passed,
                failures=tuple(f for f in findings if f not in waived),
                skipped=len(waived),
            )
        )
    return scans


def _build(args: argparse.Namespace) -> int:
    config = reported_config(args.config)
    if config is None:
        return 2
    try:
        skips = checkov_skips()
        checkov_executable()  # before synthesis: a missing tool must not cost a synth first
    except ToolMissingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stack_files = [stack_dir / "cdk.tf.json" for stack_dir in synthesize(config, Path(args.outdir))]
    scans = scan(stack_files, skips)
    rows = [("stack", "resources", "passed", "failed", "skipped", "Terraform JSON")]
    rows += [
        (
            s.stack_file.parent.name,
            str(resource_count(s.stack_file)),
            str(s.passed),
            str(len(s.failures)),
            str(s.skipped),
            os.path.relpath(s.stack_file),
        )
        for s in scans
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(
        f"{config.name}: {config.platform}, {config.inference.mode} mode; checkov findings per "
        "stack (skipped: waived in .checkov.yaml, each with its reason)"
    )
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    failures = [f for s in scans for f in s.failures]
    for failure in failures:
        print(f"FAILED {failure}")
    return 1 if failures else 0


def _register_build(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build", help="synthesize every stack, scan each with checkov, print a summary"
    )
    parser.add_argument(
        "--config",
        help=f"deployment file or example name (default: ${DEPLOYMENT_ENV}, else ecs-managed)",
    )
    parser.add_argument(
        "--outdir", default="cdktf.out", help="where the stacks go (default: %(default)s)"
    )
    parser.set_defaults(handler=_build)


def _cost(args: argparse.Namespace) -> int:
    config = reported_config(args.config)
    if config is None:
        return 2
    try:
        prices = cost.load_prices(config.region)
    except cost.PriceTableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hypernym-cost-") as scratch:
        stacks = synthesize(config, Path(scratch) / "out")
        documents = [json.loads((stack / "cdk.tf.json").read_text()) for stack in stacks]
    resources = cost.synthesized_resources(documents)
    try:
        sys.stdout.write(cost.render_markdown(config.name, resources, prices))
    except cost.PriceTableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _register_cost(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cost",
        help="print the monthly cost of the synthesized resources at minimum and maximum scale "
        "(a Markdown table)",
    )
    parser.add_argument(
        "--config",
        help=f"deployment file or example name (default: ${DEPLOYMENT_ENV}, else ecs-managed)",
    )
    parser.set_defaults(handler=_cost)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _register_build,
    plan_review.register,
    reachability.register,
    _register_cost,
]


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; as the console script (argv None) the process ends right after it.

    Ending with os._exit skips the interpreter's teardown of the jsii runtime and its bindings;
    by then every file is written and output is flushed.
    """
    parser = argparse.ArgumentParser(prog="hypernym-deploy", description=__doc__.split("\n\n")[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for register in SUBCOMMANDS:
        register(subparsers)
    args = parser.parse_args(argv)
    status = int(args.handler(args))
    if argv is not None:
        return status
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
