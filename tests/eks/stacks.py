"""Synthesize the EKS stacks of a configuration and look into their Terraform JSON."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdktf import App

from modules.config import DeploymentConfig, parse_config
from modules.constructs.backend import PROJECT_DIR_CONTEXT
from modules.stacks.eks import eks_stacks
from tests.tooling import REPO_ROOT

Stack = dict[str, Any]

GATEWAY_TOKEN_ARN = (
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hypernym/gateway-token-AbCdEf"
)
"""The managed gateway token secret of the eks-managed-with-token variant."""


@dataclass(frozen=True)
class EksSynth:
    """Both stacks of one deployment, synthesized into `outdir`."""

    config: DeploymentConfig
    outdir: Path

    def directory(self, unit: str) -> Path:
        return self.outdir / "stacks" / f"{self.config.name}-{unit}"

    def stack(self, unit: str) -> Stack:
        return json.loads((self.directory(unit) / "cdk.tf.json").read_text())

    @property
    def cluster(self) -> Stack:
        return self.stack("eks-cluster")

    @property
    def apps(self) -> Stack:
        return self.stack("eks-apps")


def example_data(example: str) -> dict[str, Any]:
    return tomllib.loads((REPO_ROOT / f"deployments/{example}.toml").read_text())


def synthesize(data: dict[str, Any], outdir: Path) -> EksSynth:
    config = parse_config(copy.deepcopy(data), source="test")
    # Local state belongs beside the output, never in the working tree of the repository.
    app = App(
        outdir=str(outdir),
        stack_traces=False,
        context={PROJECT_DIR_CONTEXT: str(outdir.parent)},
    )
    eks_stacks(app, config)
    app.synth()
    return EksSynth(config=config, outdir=outdir)


def resources(stack: Stack, kind: str) -> dict[str, dict[str, Any]]:
    return stack.get("resource", {}).get(kind, {})


def one(stack: Stack, kind: str, **matching: Any) -> dict[str, Any]:
    """The single resource of `kind` whose attributes include `matching`."""
    found = [
        r
        for r in resources(stack, kind).values()
        if all(r.get(key) == value for key, value in matching.items())
    ]
    assert len(found) == 1, f"expected one {kind} with {matching}, found {len(found)}"
    return found[0]


def address(stack: Stack, kind: str, **matching: Any) -> str:
    """`kind.logical_id` of the single matching resource, as Terraform names it."""
    found = [
        f"{kind}.{name}"
        for name, r in resources(stack, kind).items()
        if all(r.get(key) == value for key, value in matching.items())
    ]
    assert len(found) == 1, f"expected one {kind} with {matching}, found {found}"
    return found[0]


def policy(resource: dict[str, Any], attribute: str = "policy") -> dict[str, Any]:
    """A policy document attribute, parsed. Terraform evaluates `${...}` before IAM sees the
    JSON; their string literals' double quotes are shown as single quotes to keep it parseable."""
    text = re.sub(
        r"\$\{[^{}]*\}", lambda match: match.group(0).replace('"', "'"), resource[attribute]
    )
    return json.loads(text)
