"""The example deployments whose platform has stacks registered, and their stack names."""

from __future__ import annotations

import json
from pathlib import Path

from modules.config import DEPLOYMENTS_DIR, load_config
from modules.stacks.app import PLATFORM_STACKS

EXAMPLES = sorted(
    path.stem
    for path in DEPLOYMENTS_DIR.glob("*.toml")
    if load_config(path).platform in PLATFORM_STACKS
)


def stack_dirs(cdktf_out: Path) -> list[Path]:
    return sorted(p for p in (cdktf_out / "stacks").iterdir() if p.is_dir())


def providers(stack_dir: Path) -> set[str]:
    document = json.loads((stack_dir / "cdk.tf.json").read_text())
    return set(document["terraform"]["required_providers"])
