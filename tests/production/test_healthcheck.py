"""`python -m service.healthcheck`, the container's health check, against real sockets."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from service.contract import HEALTHCHECK_COMMAND
from tests.harness.moto import free_port


@pytest.fixture
def health_server() -> Iterator[tuple[int, list[int]]]:
    statuses = [200]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(statuses[0] if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], statuses
    server.shutdown()
    server.server_close()


def run_check(port: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, *HEALTHCHECK_COMMAND[1:]]
    return subprocess.run(
        command, env={"PORT": port}, capture_output=True, text=True, timeout=30, check=False
    )


def test_healthy_service_exits_0(health_server: tuple[int, list[int]]) -> None:
    port, _ = health_server
    result = run_check(str(port))
    assert (result.returncode, result.stderr) == (0, "")


def test_a_failing_service_exits_1_with_one_line(health_server: tuple[int, list[int]]) -> None:
    port, statuses = health_server
    statuses[0] = 503
    result = run_check(str(port))
    assert result.returncode == 1
    assert result.stderr.strip() == f"unhealthy: http://127.0.0.1:{port}/health answered 503"


def test_nothing_listening_exits_1() -> None:
    result = run_check(str(free_port()))
    assert result.returncode == 1
    assert "unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_port_is_named() -> None:
    result = run_check("eighty")
    assert result.returncode == 1
    assert "PORT must be a TCP port number" in result.stderr
