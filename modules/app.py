"""Build the CDKTF app of one deployment: the stacks its platform needs, nothing else."""

from __future__ import annotations

from pathlib import Path

from cdktf import App

from modules.config import DeploymentConfig
from modules.stacks import PLATFORM_STACKS


def build_app(config: DeploymentConfig, outdir: Path | str | None = None) -> App:
    """An App holding the deployment's stacks; `outdir` None lets the cdktf CLI choose."""
    if outdir is not None:
        Path(outdir).mkdir(parents=True, exist_ok=True)
    app = App(outdir=None if outdir is None else str(outdir), stack_traces=False)
    PLATFORM_STACKS[config.platform](app, config)
    return app
