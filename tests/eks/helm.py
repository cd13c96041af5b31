"""The real helm binary on the project's chart, and the validators of what it renders."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from tests.tooling import REPO_ROOT, helm_env, helm_executable

CHART = REPO_ROOT / "service/chart/hypernym"
RELEASE = "hypernym"
NAMESPACE = "hypernym"


class HelmError(AssertionError):
    """helm refused the chart or the values; the message is helm's own."""


def helm(scratch: Path, *args: str) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [str(helm_executable()), *args],
        capture_output=True,
        text=True,
        env=helm_env(scratch),
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        raise HelmError(
            f"helm {' '.join(args)} (exit {completed.returncode}):\n{completed.stderr.strip()}"
        )
    return completed


def write_values(scratch: Path, values: dict[str, Any]) -> Path:
    path = scratch / "values.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


def render_text(scratch: Path, values: dict[str, Any], *, kube_version: str) -> str:
    return helm(
        scratch,
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        kube_version,
        "--values",
        str(write_values(scratch, values)),
    ).stdout


def render(scratch: Path, values: dict[str, Any], *, kube_version: str) -> list[dict[str, Any]]:
    """The manifests helm renders for `values`, parsed."""
    text = render_text(scratch, values, kube_version=kube_version)
    return [document for document in yaml.safe_load_all(text) if document]


def lint(scratch: Path, values: dict[str, Any], *, kube_version: str) -> str:
    return helm(
        scratch,
        "lint",
        str(CHART),
        "--strict",
        "--kube-version",
        kube_version,
        "--values",
        str(write_values(scratch, values)),
    ).stdout


def one(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [m for m in manifests if m["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {[m['kind'] for m in manifests]}"
    return found[0]


def strict_schema_problems(manifests: list[dict[str, Any]], *, kube_version: str) -> list[str]:
    """kubernetes-validate --strict on each manifest; a kind without a schema is a problem too."""
    problems = []
    for manifest in manifests:
        name = f"{manifest['kind']}/{manifest['metadata']['name']}"
        try:
            kubernetes_validate.validate(manifest, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            problems.append(f"{name}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{name}: {error}")
    return problems


def render_notes(scratch: Path, values: dict[str, Any], *, kube_version: str) -> str:
    """NOTES.txt as `helm install` would print it (which needs a cluster): rendered here from a
    scratch copy of the chart in which it is the data of a ConfigMap."""
    chart = Path(shutil.copytree(CHART, scratch / "notes-chart"))
    notes = (chart / "templates/NOTES.txt").read_text()
    (chart / "templates/NOTES.txt").unlink()
    (chart / "templates/_notes.tpl").write_text(
        f'{{{{- define "notes" -}}}}\n{notes}{{{{- end }}}}\n'
    )
    (chart / "templates/notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n"
        '  notes: {{ include "notes" . | quote }}\n'
    )
    rendered = helm(
        scratch,
        "template",
        RELEASE,
        str(chart),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        kube_version,
        "--values",
        str(write_values(scratch, values)),
        "--show-only",
        "templates/notes.yaml",
    ).stdout
    return yaml.safe_load(rendered)["data"]["notes"]
