"""The container image, built and run: scripts/build-image builds the Dockerfile with podman
(no Docker engine here), scripts/run-image starts its entrypoint from the image's own
filesystem, read-only, with a tmpfs /tmp, as the image's user (`podman run` is refused by this
sandbox). The service in it answers /health, /ready and an analysis, and drains on SIGTERM.

The first build on a machine makes the Debian base (debootstrap, minutes) and caches it in the
user's cache (~/.cache/hypernym-aws/), keyed by its recipe; the project's podman store makes an
unchanged rebuild take seconds.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.contract import HEALTHCHECK_COMMAND
from tests.fakes.fake_provider import FakeProvider
from tests.production.service_env import analyze, managed_env
from tests.service.runner import ServiceProcess, running_service, stop
from tests.tooling import REPO_ROOT

# One worker builds and runs the image: two builds of one store would race.
pytestmark = pytest.mark.xdist_group("container-image")

TAG = "localhost/hypernym-api:test"
BUILD_TIMEOUT_SECONDS = 3600  # a fresh base on a loaded machine; a cached build takes seconds


@pytest.fixture(scope="module")
def image() -> dict:
    """The image built from the working tree (podman's image inspection of it)."""
    build = subprocess.run(
        [REPO_ROOT / "scripts/build-image", TAG],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    assert build.returncode == 0, f"scripts/build-image failed:\n{build.stderr[-3000:]}"
    print(f"\n{build.stderr.strip()}")  # the script's own report: size, seconds
    inspected = subprocess.run(
        [REPO_ROOT / "scripts/podman", "image", "inspect", TAG],
        capture_output=True,
        text=True,
        check=True,
    )
    (details,) = json.loads(inspected.stdout)
    return details


@pytest.fixture
def service(image: dict, provider: FakeProvider, tmp_path: Path) -> Iterator[ServiceProcess]:
    env = managed_env(provider)
    passed = [*env, "HOST", "PORT", "PYTHONUNBUFFERED"]  # the runner adds the last three
    run = [str(REPO_ROOT / "scripts/run-image"), *(f"--env={name}" for name in passed), TAG]
    with running_service(env, tmp_path / "image.log", command=run) as running:
        yield running


def test_the_image_runs_as_uid_1000_with_the_service_entrypoint(image: dict) -> None:
    config = image["Config"]
    assert config["User"] == "1000:1000"
    assert config["Entrypoint"] == ["python", "-m", "service"]
    assert image["Healthcheck"]["Test"] == ["CMD", *HEALTHCHECK_COMMAND], "docker format keeps it"


def test_the_image_serves_health_ready_and_an_analysis_then_drains(
    service: ServiceProcess,
) -> None:
    assert service.request("GET", "/health").status == 200
    assert service.request("GET", "/ready").status == 200
    assert analyze(service) == 200

    status = Path(f"/proc/{service.process.pid}/status").read_text()
    assert "Uid:\t1000\t1000\t1000\t1000" in status
    mounts = Path(f"/proc/{service.process.pid}/mountinfo").read_text().splitlines()
    (root,) = [m.split() for m in mounts if m.split()[4] == "/"]
    assert "ro" in root[5].split(","), "the root filesystem is read-only"
    assert any(m.split()[4] == "/tmp" and " tmpfs " in m for m in mounts)

    assert stop(service.process) == 0, "SIGTERM drains, then the service exits 0"
    log = service.log()
    assert "Read-only file system" not in log
    assert '"message": "Application shutdown complete."' in log
