"""The service runs on a read-only root filesystem with only /tmp writable, as in the image
(ECS readonlyRootFilesystem, Kubernetes readOnlyRootFilesystem + an emptyDir on /tmp).

No container engine exists here, so the service runs in its own mount namespace (``unshare``,
as root) where / is remounted read-only and /tmp is a fresh tmpfs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.fake_provider import FakeProvider
from tests.production.service_env import analyze, managed_env
from tests.service.runner import running_service, stop
from tests.tooling import REPO_ROOT

# / read-only, a fresh tmpfs on /tmp. A checkout under /tmp (CI clones anywhere) would vanish
# beneath that tmpfs, so it is held open (fd 9) first and bound back, read-only, at its path.
READ_ONLY_ROOT = r"""
repo=$1; shift
exec 9<"$repo"
mount -o remount,bind,ro / && mount -t tmpfs -o size=16m tmpfs /tmp || exit 125
case "$repo" in
  /tmp/*) mkdir -p "$repo" && mount --no-canonicalize --bind /proc/self/fd/9 "$repo" \
            && mount -o remount,bind,ro "$repo" || exit 125 ;;
esac
exec 9<&-
exec "$@"
"""


def unshare_wrapper() -> tuple[str, ...]:
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.fail("needs root and unshare (util-linux): apt-get install util-linux, run as root")
    return (
        unshare,
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        READ_ONLY_ROOT,
        "sh",
        str(REPO_ROOT),
    )


def test_the_service_serves_and_drains_on_a_read_only_root(
    provider: FakeProvider, tmp_path: Path
) -> None:
    with running_service(
        managed_env(provider), tmp_path / "service.log", wrapper=unshare_wrapper()
    ) as service:
        assert analyze(service) == 200
        assert service.request("GET", "/ready").status == 200
        assert stop(service.process) == 0
    log = service.log()
    assert "Read-only file system" not in log
    assert '"message": "Application shutdown complete."' in log


def test_the_wrapper_really_makes_the_root_read_only_and_tmp_writable() -> None:
    outside_tmp = REPO_ROOT / ".read-only-probe"
    probe = (
        "import pathlib, sys\n"
        "pathlib.Path('/tmp/ok').write_text('x')\n"
        "try:\n"
        f"    pathlib.Path({str(outside_tmp)!r}).write_text('x')\n"
        "except OSError as error:\n"
        "    sys.exit(0 if error.errno == 30 else 1)\n"  # EROFS
        "sys.exit(2)\n"
    )
    result = subprocess.run(
        [*unshare_wrapper(), sys.executable, "-c", probe], timeout=30, check=False
    )
    assert result.returncode == 0
    assert not outside_tmp.exists()
