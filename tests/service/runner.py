"""Run the real service (``python -m service``: uvicorn, uvloop, httptools) on 127.0.0.1.

``running_service(env, log_path)`` starts it in a subprocess with exactly ``env`` (plus PATH and
a free port), waits for /health, yields a :class:`ServiceProcess`, and stops it with SIGTERM,
keeping stdout+stderr in ``log_path`` for log assertions.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.harness.leaks import secrets_in, sensitive, watch_log
from tests.tooling import REPO_ROOT

STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class ServiceProcess:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
        timeout: float = 60.0,
    ) -> Reply:
        """One HTTP request over a fresh connection; JSON-encodes ``body`` unless ``raw`` is set."""
        payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        sent_headers = {"Content-Type": "application/json", **(headers or {})}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=payload, headers=sent_headers)
            response = connection.getresponse()
            return Reply(
                response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
            )
        finally:
            connection.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_environment(env: Mapping[str, str], port: int) -> dict[str, str]:
    """Only what the test gives, so a developer's shell variables never leak into a run."""
    base = {
        name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ
    }
    return {**base, "HOST": "127.0.0.1", "PORT": str(port), "PYTHONUNBUFFERED": "1", **env}


@contextmanager
def running_service(
    env: Mapping[str, str],
    log_path: Path,
    *,
    module: str = "service",
    wrapper: Sequence[str] = (),
    command: Sequence[str] | None = None,
) -> Iterator[ServiceProcess]:
    """``module``: what ``python -m`` runs (tests/production runs the service with a test clock);
    ``wrapper``: a command that execs the rest (tests/production: a read-only root filesystem);
    ``command``: what starts the service instead of this interpreter (the built image)."""
    port = free_port()
    watch_log(log_path)  # the session-level leak check reads every service log
    sensitive(*secrets_in(env))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*wrapper, *(command or (sys.executable, "-m", module))],
            cwd=REPO_ROOT,
            env=service_environment(env, port),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    service = ServiceProcess(
        url=f"http://127.0.0.1:{port}", port=port, process=process, log_path=log_path
    )
    try:
        _wait_healthy(service)
        yield service
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_SECONDS)
    return process.returncode


def _wait_healthy(service: ServiceProcess) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(
                f"the service exited with {service.process.returncode}:\n{service.log()[-3000:]}"
            )
        try:
            if service.request("GET", "/health", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(
        f"the service was not healthy within {STARTUP_TIMEOUT_SECONDS} s:\n{service.log()[-3000:]}"
    )


def run_service_to_exit(
    env: Mapping[str, str], timeout: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m service`` expecting it to stop by itself (configuration errors)."""
    return subprocess.run(
        [sys.executable, "-m", "service"],
        cwd=REPO_ROOT,
        env=service_environment(env, free_port()),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
