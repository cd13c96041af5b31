"""A real moto server (AWS API emulator) on 127.0.0.1, started by the test suite."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.tooling import moto_server_executable

MOTO_REGION = "eu-west-1"
MOTO_ACCOUNT_ID = "123456789012"  # moto's fixed account
MOTO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
# moto 5.2.5's Application Auto Scaling has no ListTagsForResource, which the provider calls
# after creating a scalable target: applies against moto leave these types out.
NOT_IN_MOTO = ("aws_appautoscaling_target", "aws_appautoscaling_policy")
ADDED_ENDPOINT_SERVICES = {MOTO_REGION: ["metering.marketplace"]}
"""Endpoint services AWS offers in MOTO_REGION that moto 5.2.5's catalogue lacks (the README's
describe-vpc-endpoint-services command shows them); moto_server.py adds them there only."""


MOTO_SERVER_SCRIPT = Path(__file__).with_name("moto_server.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class MotoServer:
    endpoint: str
    log_path: Path

    def reset(self) -> None:
        """Forget every resource, so one test's leftovers never meet the next."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        # Generous: after a whole stack's apply a loaded server takes seconds to forget it.
        with urllib.request.urlopen(request, timeout=60):
            pass

    def boto3_env(self) -> dict[str, str]:
        """Environment for a boto3 client (or the service) that should talk to this server."""
        return {
            **MOTO_CREDENTIALS,
            "AWS_REGION": MOTO_REGION,
            "AWS_DEFAULT_REGION": MOTO_REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def client(self, service: str):
        import boto3  # noqa: PLC0415 - only the tests that call AWS pay for importing boto3

        return boto3.client(
            service,
            region_name=MOTO_REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


@contextmanager
def running_moto(log_dir: Path, *, startup_seconds: float = 30.0) -> Iterator[MotoServer]:
    port = free_port()
    log_path = log_dir / "moto.log"
    env = dict(
        os.environ,
        MOTO_IAM_LOAD_MANAGED_POLICIES="true",
        MOTO_ADDED_ENDPOINT_SERVICES=json.dumps(ADDED_ENDPOINT_SERVICES),
    )
    # The moto venv's Python runs moto's server through moto_server.py (its catalogue
    # additions); -P keeps this directory, whose moto.py would shadow moto, off sys.path.
    python = moto_server_executable().parent / "python"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(python), "-P", str(MOTO_SERVER_SCRIPT), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = MotoServer(endpoint=f"http://127.0.0.1:{port}", log_path=log_path)
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            try:
                with urllib.request.urlopen(f"{server.endpoint}/moto-api/", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"moto server did not start on {server.endpoint}; see {log_path}"
                    ) from None
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
