"""Session-wide fixtures: the moto server every Terraform and AWS test shares, and synthesis.

Each deployment is synthesized in-process, at most once per pytest process (`synth_example`,
`synth_config`): a synthesis in a subprocess costs a jsii runtime start and 2-3 s.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modules.cli.deployment import prepare_jsii_runtime
from modules.config import load_config, resolve_config_path
from tests.harness.leaks import leaks
from tests.harness.moto import MotoServer, running_moto

prepare_jsii_runtime()  # the in-process syntheses start jsii as the commands do
# Every terraform command starts the AWS provider, which builds its whole schema (thousands of
# types) first: with Go's GC target at 400% instead of 100% a plan costs about a third less
# CPU (measured: 8.0 -> 5.6 s for a small plan), for memory this machine has.
os.environ.setdefault("GOGC", "400")


LONGEST_UNITS = ("apply-eks-cluster", "cdktf-ecs-byop", "apply-ecs-managed", "plan-review")
"""The work units that take longest, longest first (measured with 4 workers: about 180, 175,
115 and 90 s); each starts on a worker of its own at once."""
QUICK_UNITS = (
    "tests/service/test_analysis_units.py",
    "tests/service/test_provider_units.py",
    "tests/infra/test_config.py",
)
"""Files of plain function tests (well under a second each, three tests or more): what waits
behind a single-test long unit on its worker."""
NEXT_UNITS = ("container-image", "apply-registry")
"""What the first free worker takes next (the plan review's, after about 90 s): the image (in a
clean clone a load of the build in the user's cache, 12-21 s, or a build, about 50 s), then the
registry apply."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """How scripts/test spreads the suite over workers (`-n 4 --dist loadgroup
    --no-loadscope-reorder`, so xdist hands out work units in the order set here).

    A test file's tests share a worker (a work unit), so module fixtures are built once; the
    moto applies, the plan review's shared plans, the image and the benchmarks are units of
    their own. xdist gives each worker its first unit, then tops up every worker holding two
    tests or fewer: a single-test unit always has the next unit queued behind it, on the same
    worker. So the four longest units go first, one per worker, then a quick file for each of
    the three single-test ones (its tests hold the worker's queue past the top-up), then the
    next long ones, then the other units of their own, then the files, Terraform's first in
    both.
    Without xdist the groups are ignored and only the order changes.
    """
    own_group = {item for item in items if item.get_closest_marker("xdist_group")}
    for item in items:
        if item not in own_group:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        (unit,) = item.get_closest_marker("xdist_group").args  # type: ignore[union-attr]
        units.setdefault(unit, []).append(item)

    def terraform_last(unit: str) -> bool:
        return all(item.get_closest_marker("terraform") is None for item in units[unit])

    first = [unit for unit in (*LONGEST_UNITS, *QUICK_UNITS, *NEXT_UNITS) if unit in units]
    rest = sorted(
        (unit for unit in units if unit not in first),
        key=lambda unit: (unit.startswith("tests/"), terraform_last(unit)),
    )
    items[:] = [item for unit in [*first, *rest] for item in units[unit]]


@pytest.fixture(scope="session", autouse=True)
def no_secret_or_essay_in_any_service_log() -> Iterator[None]:
    """After the whole session: every service log the run produced is free of API keys, secret
    values, essay text and model output (whichever tests ran)."""
    yield
    found = leaks()
    assert not found, "service logs leaked sensitive values:\n" + "\n".join(found)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A real moto server on 127.0.0.1 (fails, not skips, when moto is not installed)."""
    with running_moto(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(scope="session")
def synth_config(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """`synth_config(config, label)` -> the cdktf.out of that DeploymentConfig, cached by label."""
    from modules.stacks.app import build_app  # noqa: PLC0415 - the bindings load on first use

    built: dict[str, Path] = {}

    def synthesize(config: object, label: str) -> Path:
        if label not in built:
            # Synthesized from its own scratch project, as `cdktf synth` in a project would be.
            project = tmp_path_factory.mktemp(label)
            outdir = project / "cdktf.out"
            build_app(config, outdir, project).synth()  # type: ignore[arg-type]
            built[label] = outdir
        return built[label]

    return synthesize


@pytest.fixture(scope="session")
def synth_example(synth_config: Callable[..., Path]) -> Callable[[str], Path]:
    """`synth_example("ecs-byop")` -> the cdktf.out of deployments/ecs-byop.toml, once a session."""

    def synthesize(name: str) -> Path:
        return synth_config(load_config(resolve_config_path(name)), f"example-{name}")

    return synthesize
