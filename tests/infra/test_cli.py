"""`hypernym-deploy build` and main.py: selection, clear errors, nothing half-written, summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from modules.cli.deployment import (
    DEPENDENCY_LOCK_FILE,
    DEPLOYMENT_ENV,
    selected_config,
    synthesize,
)
from modules.cli.main import main
from modules.config import load_config, resolve_config_path
from tests.infra.synthesized import Stack
from tests.tooling import REPO_ROOT

CONSOLE_SCRIPT = Path(sys.executable).parent / "hypernym-deploy"


def invalid_config(tmp_path: Path) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "Bad Name"\nregion = "eu-west-1"\nplatform = "ecs"\n'
        '[service]\nimage = "x"\ncpu = 300\n[inference]\nmode = "byop"\n'
    )
    return path


def test_environment_variable_selects_the_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEPLOYMENT_ENV, "ecs-byop")
    assert selected_config(None).name == "hypernym-byop"
    assert selected_config("ecs-managed").name == "hypernym"  # the flag wins


def test_default_deployment_is_ecs_managed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEPLOYMENT_ENV, raising=False)
    assert selected_config(None).name == "hypernym"


def test_build_reports_every_config_problem_on_one_line_and_writes_nothing(tmp_path: Path) -> None:
    outdir = tmp_path / "cdktf.out"
    completed = subprocess.run(
        [
            str(CONSOLE_SCRIPT),
            "build",
            "--config",
            str(invalid_config(tmp_path)),
            "--outdir",
            str(outdir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 6, lines  # name, cpu, image, byop secret, product code, api keys
    assert all(line.startswith("error: ") and "bad.toml: " in line for line in lines)
    assert "Traceback" not in completed.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "bad.toml"]


def test_main_py_reports_config_problems_without_a_traceback(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), "--config", str(invalid_config(tmp_path))],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert "`service.cpu` = 300 is not a Fargate size" in completed.stderr
    assert not (tmp_path / "cdktf.out").exists()


def test_build_synthesizes_scans_and_summarizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks" / "stale").mkdir(parents=True)
    (tmp_path / "terraform.hypernym-ecs.tfstate").write_text("{}")
    assert main(["build", "--config", "ecs-managed", "--outdir", str(outdir)]) == 0
    output = capsys.readouterr().out
    (row,) = [line.split() for line in output.splitlines() if line.startswith("hypernym-ecs ")]
    _, resources, passed, failed, skipped, json_path = row
    assert int(resources) > 40
    assert int(passed) > 50
    assert failed == "0"
    assert int(skipped) > 0
    assert Path(json_path).resolve() == (outdir / "stacks/hypernym-ecs/cdk.tf.json").resolve()
    assert not (outdir / "stacks" / "stale").exists(), "the previous output is replaced"
    assert (tmp_path / "terraform.hypernym-ecs.tfstate").exists(), "local state is never touched"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cdktf.out",
        "terraform.hypernym-ecs.tfstate",
    ]


def test_an_eks_version_past_standard_support_is_one_warning_line_not_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 1.28 left standard support before any date the clock can show; the tools still load it.
    example = (REPO_ROOT / "deployments/eks-managed.toml").read_text()
    path = tmp_path / "old.toml"
    path.write_text(example.replace('kubernetes_version = "1.35"', 'kubernetes_version = "1.28"'))
    config = selected_config(str(path))
    assert config.eks.kubernetes_version == "1.28"
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(
        "warning: `eks.kubernetes_version` = '1.28' is past EKS standard support"
    )


def test_local_state_is_anchored_in_the_project_whatever_the_outdir(tmp_path: Path) -> None:
    # GIVEN a deployment without [state], synthesized from its project into build/out ...
    config = load_config(resolve_config_path("ecs-managed"))
    project, state = tmp_path / "project", "terraform.hypernym-ecs.tfstate"
    project.mkdir()

    def local_state(outdir: Path) -> str:
        (stack_dir,) = synthesize(config, outdir, project)
        return str(
            Stack.load(outdir, stack_dir.name).document["terraform"]["backend"]["local"]["path"]
        )

    inside = project / "build" / "out"
    path = local_state(inside)
    # THEN Terraform, running in the stack's directory, finds the state in the project (the
    # parent of the outdir would be build/), by a relative path that survives moving it ...
    assert not Path(path).is_absolute()
    assert (inside / "stacks" / "hypernym-ecs" / path).resolve() == project / state
    # ... and an outdir outside the project (a scratch directory) gets the absolute path.
    assert local_state(tmp_path / "scratch" / "out") == str(project / state)


def test_a_new_synthesis_keeps_the_dependency_lock_file(tmp_path: Path) -> None:
    # GIVEN a stack directory where `terraform init` recorded the provider checksums ...
    config = load_config(resolve_config_path("ecs-managed"))
    outdir = tmp_path / "cdktf.out"
    (stack_dir,) = synthesize(config, outdir, tmp_path)
    lock = 'provider "registry.terraform.io/hashicorp/aws" {\n  version = "5.100.0"\n}\n'
    (stack_dir / DEPENDENCY_LOCK_FILE).write_text(lock)
    # WHEN the deployment is synthesized again, THEN the lock file is still there, unchanged.
    (again,) = synthesize(config, outdir, tmp_path)
    assert (again / DEPENDENCY_LOCK_FILE).read_text() == lock
