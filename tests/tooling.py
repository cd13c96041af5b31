"""Where the tools that only tests and benchmarks need live, and how to run them offline.

scripts/setup installs every tool into the repository (.venvs/, .tools/); this module knows the
paths of those the deployment command itself never runs (checkov's is in modules/cli/checkov.py).
A missing tool raises :class:`ToolMissingError` whose message says how to install it, so a test
that needs it fails with that message instead of skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from modules.cli.checkov import SETUP_HINT, ToolMissingError, existing_tool
from modules.config import PROJECT_ROOT

REPO_ROOT = PROJECT_ROOT

__all__ = [
    "REPO_ROOT",
    "ToolMissingError",
    "cdktf_command",
    "helm_env",
    "helm_executable",
    "moto_server_executable",
    "terraform_cli_config",
    "terraform_env",
    "terraform_executable",
    "wrk_executable",
]


def cdktf_command() -> Path:
    """scripts/cdktf, the README's cdktf CLI, once scripts/setup has installed what it runs."""
    existing_tool(REPO_ROOT / ".tools/cdktf/node_modules/.bin/cdktf", "the cdktf CLI")
    existing_tool(REPO_ROOT / ".tools/tf-provider-mirror", "the provider mirror's path")
    return REPO_ROOT / "scripts/cdktf"


def moto_server_executable() -> Path:
    return existing_tool(REPO_ROOT / ".venvs/moto/bin/moto_server", "moto_server")


def helm_executable() -> Path:
    return existing_tool(REPO_ROOT / ".tools/helm/helm", "helm")


def wrk_executable() -> Path:
    """The benchmarks' HTTP load generator (Debian's wrk: C, epoll, c=500 on one core)."""
    found = shutil.which("wrk")
    if found is None:
        raise ToolMissingError(
            f"wrk not found on PATH: {SETUP_HINT} (it runs apt-get install -y wrk)"
        )
    return Path(found)


def terraform_cli_config() -> Path:
    return existing_tool(REPO_ROOT / ".tools/tf-cli.hcl", "the Terraform CLI configuration")


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
