"""Real plans: terraform plans small configurations (plans.py) against the moto server."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.harness.moto import MotoServer
from tests.harness.terraform import Terraform

from .plans import configuration

# Each variant is one change from the applied v1; "fresh" is v1 planned on empty state.
VARIANTS: dict[str, dict[str, object]] = {
    "update": {"retention_days": 90},
    "replace": {"vpc_cidr": "10.1.0.0/16"},
    "delete": {"log_group_name": None},
    "rename_log_group": {"log_group_name": "/review/renamed"},
    # The risky changes share one plan: each test reads the findings on its own resource.
    "risks": {
        "open_ingress": True,
        "open_ipv6_egress": True,
        "wildcard_policy": True,
        "public_subnet": True,
    },
}


@pytest.fixture(scope="package")
def plan_files(
    moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """name -> `terraform show -json` of each variant's plan (and `binary` -> a plan file)."""
    moto_server.reset()
    base = tmp_path_factory.mktemp("review-stack")
    out = tmp_path_factory.mktemp("review-plans")
    files: dict[str, Path] = {}

    def plan(terraform: Terraform, name: str, **changes: object) -> None:
        (terraform.workdir / "main.tf.json").write_text(configuration(**changes))  # type: ignore[arg-type]
        # The state was just applied: refreshing it again would only cost time.
        document = terraform.plan("plan.bin", "-refresh=false")
        files[name] = out / f"{name}.json"
        files[name].write_text(json.dumps(document))

    def plan_variant(name: str) -> None:
        workdir = base.parent / f"{base.name}-{name}"
        shutil.copytree(base, workdir, symlinks=True)
        plan(Terraform(workdir, moto=moto_server), name, **VARIANTS[name])

    terraform = Terraform(base, moto=moto_server)
    (base / "main.tf.json").write_text(configuration())
    terraform.init()
    plan(terraform, "fresh")
    files["binary"] = base / "plan.bin"  # what people pass by mistake instead of the JSON
    terraform.apply("plan.bin")  # the fresh plan as planned: no second plan
    # Independent plans of one applied state: two at a time (terraform is mostly one core each).
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(plan_variant, VARIANTS))
    return files


@pytest.fixture
def plan_of(plan_files: dict[str, Path]) -> Callable[[str], dict]:
    return lambda name: json.loads(plan_files[name].read_text())
