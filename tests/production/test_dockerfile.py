"""The container image, checked statically.

This machine has the docker CLI but no Docker engine (no daemon socket), and no container
registry is reachable, so no base image can be pulled and nothing can be built or run here. The
Dockerfile and .dockerignore are therefore parsed and checked instruction by instruction.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from dataclasses import dataclass

import pytest

from service.contract import CONTAINER_PORT, HEALTHCHECK_COMMAND
from tests.tooling import REPO_ROOT


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions in order, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    instructions = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
    return instructions


def stages(instructions: list[Instruction]) -> dict[str, list[Instruction]]:
    named: dict[str, list[Instruction]] = {}
    current: list[Instruction] | None = None
    for instruction in instructions:
        if instruction.keyword == "FROM":
            match = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", instruction.arguments, re.IGNORECASE)
            assert match, f"every stage is named: FROM {instruction.arguments}"
            current = named.setdefault(match.group(2), [])
        elif current is not None:
            current.append(instruction)
    return named


def exec_form(instruction: Instruction) -> list[str]:
    """The JSON array of an exec-form CMD/ENTRYPOINT/HEALTHCHECK CMD (fails on shell form)."""
    arguments = instruction.arguments
    if instruction.keyword == "HEALTHCHECK":
        arguments = arguments[arguments.index("CMD ") + 4 :]
    value = json.loads(arguments)
    assert isinstance(value, list), f"{instruction.keyword} must use the exec form (JSON array)"
    return value


def docker_ignored(path: str, patterns: list[str]) -> bool:
    """Whether ``path`` is left out of the build context (last matching pattern wins)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        candidates = [glob, glob.removeprefix("**/")]
        if any(fnmatch.fnmatchcase(prefix, c) for prefix in prefixes for c in candidates):
            ignored = not negated
    return ignored


DOCKERFILE = parse_dockerfile((REPO_ROOT / "Dockerfile").read_text())
STAGES = stages(DOCKERFILE)
RUNTIME = STAGES["runtime"]
IGNORE = [
    line.strip()
    for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


def of(stage: list[Instruction], keyword: str) -> list[Instruction]:
    return [i for i in stage if i.keyword == keyword]


def test_the_build_is_multi_stage_and_the_runtime_is_last_and_slim() -> None:
    froms = [i.arguments for i in DOCKERFILE if i.keyword == "FROM"]
    assert len(froms) >= 2
    assert froms[-1].endswith("AS runtime")
    (base,) = {i.arguments.split("=", 1)[1] for i in DOCKERFILE if i.keyword == "ARG"}
    assert re.fullmatch(r"python:3\.11-slim-\w+", base), base


def test_the_runtime_copies_only_the_built_virtualenv() -> None:
    copies = [i.arguments for i in of(RUNTIME, "COPY")]
    assert copies == ["--from=build /opt/venv /opt/venv"]


def test_it_runs_as_uid_1000_and_nothing_runs_as_root_afterwards() -> None:
    keywords = [i.keyword for i in RUNTIME]
    users = of(RUNTIME, "USER")
    assert [u.arguments for u in users] == ["1000:1000"]
    assert "RUN" not in keywords[keywords.index("USER") :]


def test_it_installs_only_the_service_extra() -> None:
    installs = [
        i.arguments for i in DOCKERFILE if i.keyword == "RUN" and "pip install" in i.arguments
    ]
    assert len(installs) == 1
    words = shlex.split(installs[0])
    assert ".[service]" in words
    assert not any(w.startswith(".[") and w != ".[service]" for w in words)
    assert "--group" not in words
    assert "-r" not in words


def test_there_is_no_curl_wget_or_shell_health_check() -> None:
    text = " ".join(i.arguments for i in DOCKERFILE).lower()
    assert "curl" not in text
    assert "wget" not in text
    (health,) = of(RUNTIME, "HEALTHCHECK")
    assert exec_form(health) == list(HEALTHCHECK_COMMAND)
    assert "--timeout=5s" in health.arguments


def test_the_entrypoint_is_exec_form_so_sigterm_reaches_python() -> None:
    (entrypoint,) = of(RUNTIME, "ENTRYPOINT")
    assert exec_form(entrypoint) == ["python", "-m", "service"]
    assert [i.arguments for i in of(RUNTIME, "STOPSIGNAL")] == ["SIGTERM"]
    assert [i.arguments for i in of(RUNTIME, "EXPOSE")] == [str(CONTAINER_PORT)]


def test_a_read_only_root_filesystem_suffices() -> None:
    env = " ".join(i.arguments for i in of(RUNTIME, "ENV"))
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "HOME=/tmp", "TMPDIR=/tmp"):
        assert setting in env
    build_runs = " ".join(i.arguments for i in of(STAGES["build"], "RUN"))
    assert "compileall" in build_runs, "bytecode is compiled at build time, not at run time"


def test_no_secret_travels_in_build_arguments_or_environment() -> None:
    secretish = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL)", re.IGNORECASE)
    for instruction in DOCKERFILE:
        if instruction.keyword in {"ARG", "ENV", "LABEL"}:
            assert not secretish.search(instruction.arguments), instruction


@pytest.mark.parametrize(
    "path",
    [
        "tests/conftest.py",
        ".venv/bin/python",
        ".venvs/moto/bin/moto_server",
        ".git/config",
        ".tools/helm/helm",
        "modules/config/model.py",
        "deployments/dev.json",
        "service/chart/hypernym/values.yaml",
        "service/__pycache__/app.cpython-311.pyc",
        "cdktf.out/stacks/x/cdk.tf.json",
        "README.md",
    ],
)
def test_the_build_context_leaves_out(path: str) -> None:
    assert docker_ignored(path, IGNORE)


@pytest.mark.parametrize("path", ["pyproject.toml", "service/app.py", "service/contract.py"])
def test_the_build_context_keeps(path: str) -> None:
    assert not docker_ignored(path, IGNORE)


def test_every_path_the_dockerfile_copies_is_in_the_context() -> None:
    for instruction in of(STAGES["build"], "COPY"):
        source = instruction.arguments.split()[0]
        assert (REPO_ROOT / source).exists(), source
        assert not docker_ignored(source.rstrip("/"), IGNORE), source


def test_parser_rejects_shell_form() -> None:
    with pytest.raises(json.JSONDecodeError):
        exec_form(Instruction("CMD", "python -m service"))


def test_the_service_never_imports_the_infrastructure_half() -> None:
    """The image has only the service extra: service/ must not import cdktf, constructs, modules."""
    forbidden = re.compile(r"^\s*(from|import)\s+(modules|cdktf|constructs|jsii|yaml)\b", re.M)
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / "service").rglob("*.py")
        if forbidden.search(path.read_text())
    ]
    assert offenders == []
