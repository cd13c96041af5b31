"""Build the CDKTF app of one deployment: the stacks its platform needs, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cdktf import App, TerraformStack

from modules.config import DeploymentConfig
from modules.constructs.backend import PROJECT_DIR_CONTEXT
from modules.stacks.ecs import ecs_stacks
from modules.stacks.eks import eks_stacks
from modules.stacks.registry import RegistryStack

PLATFORM_STACKS: dict[str, Callable[[App, DeploymentConfig], list[TerraformStack]]] = {
    "ecs": ecs_stacks,
    "eks": eks_stacks,
}
"""platform -> the function adding its stacks to an app: ECS is one stack, `<name>-ecs`; EKS
the cluster stack, then the apps stack. With `[registry]`, `<name>-registry` comes first."""


def build_app(
    config: DeploymentConfig,
    outdir: Path | str | None = None,
    project_dir: Path | None = None,
) -> App:
    """An App holding the deployment's stacks; `outdir` None lets the cdktf CLI choose.

    `project_dir` is where stacks without `[state]` keep their local state; None: the directory
    the synthesis runs from."""
    if outdir is not None:
        Path(outdir).mkdir(parents=True, exist_ok=True)
    app = App(
        outdir=None if outdir is None else str(outdir),
        stack_traces=False,
        context=None if project_dir is None else {PROJECT_DIR_CONTEXT: str(project_dir)},
    )
    registry = RegistryStack(app, config) if config.registry is not None else None
    for stack in PLATFORM_STACKS[config.platform](app, config):
        if registry is not None:
            stack.add_dependency(registry)  # the image is pushed there before any task runs
    return app
