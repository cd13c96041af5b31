"""The deployment a command works on, and its synthesis.

Chosen by --config (a path, or an example name from deployments/), else $HYPERNYM_DEPLOYMENT,
else ecs-managed. Every command (`main.py`, `build`, `cost`, `reachability`) loads it here, so
each reports a bad file the same way: one `error:` line per problem on stderr, exit status 2.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from modules.config import (
    ConfigError,
    DeploymentConfig,
    advisories,
    load_config,
    resolve_config_path,
)

DEPLOYMENT_ENV = "HYPERNYM_DEPLOYMENT"
"""Selects the deployment (a path, or an example name from deployments/) when --config is absent."""


def selected_config(flag: str | None) -> DeploymentConfig:
    """The deployment chosen by --config, else $HYPERNYM_DEPLOYMENT, else ecs-managed; what
    needs attention today (an EKS version past standard support) is printed on stderr."""
    config = load_config(resolve_config_path(flag or os.environ.get(DEPLOYMENT_ENV)))
    for line in advisories(config, today=date.today()):
        print(f"warning: {line}", file=sys.stderr)
    return config


def reported_config(flag: str | None) -> DeploymentConfig | None:
    """:func:`selected_config`, or None after printing each of its problems on stderr as an
    `error:` line (the command then exits 2)."""
    try:
        return selected_config(flag)
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return None


JSII_RUNTIME_ENV = {
    # jsii prints a big Node 20 end-of-life banner unless silenced (the value: the major version).
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    # Node's young generation defaults to 16 MB semi-spaces; at 1 MB the jsii runtime peaks at
    # 85 MB instead of 116 (eks-byop) and is no slower (`python -m benchmarks.synthesis`).
    "NODE_OPTIONS": "--max-semi-space-size=1",
}
"""The environment of the jsii runtime (a Node process) that the bindings start on import."""


def prepare_jsii_runtime() -> None:
    """Set :data:`JSII_RUNTIME_ENV` where the caller's environment does not say otherwise;
    before the first import of the bindings."""
    for name, value in JSII_RUNTIME_ENV.items():
        os.environ.setdefault(name, value)


DEPENDENCY_LOCK_FILE = ".terraform.lock.hcl"
"""What `terraform init` writes into a stack's directory: the provider checksums it trusts."""


def synthesize(
    config: DeploymentConfig, outdir: Path, project_dir: Path | None = None
) -> list[Path]:
    """Synthesize into a scratch directory, then replace `outdir`: never a half-written output.

    Each stack's dependency lock file is carried over from the output it replaces, so a new
    synthesis never drops the provider checksums `terraform init` recorded. `project_dir` is
    where local state goes (None: the current directory)."""
    prepare_jsii_runtime()
    from modules.stacks.app import build_app  # noqa: PLC0415 - jsii starts with it: only after the config

    outdir = outdir.resolve()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{outdir.name}-", dir=outdir.parent))
    try:
        build_app(config, scratch, project_dir).synth()
        for lock in (outdir / "stacks").glob(f"*/{DEPENDENCY_LOCK_FILE}"):
            stack_dir = scratch / "stacks" / lock.parent.name
            if stack_dir.is_dir():
                shutil.copy2(lock, stack_dir / DEPENDENCY_LOCK_FILE)
        if outdir.exists():
            shutil.rmtree(outdir)
        scratch.rename(outdir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return sorted(p for p in (outdir / "stacks").iterdir() if p.is_dir())
