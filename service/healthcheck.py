"""Container health check: ``python -m service.healthcheck`` exits 0 when /health answers 200.

The ECS task definition runs it in exec form (``service.contract.HEALTHCHECK_COMMAND``), so the
image needs neither curl nor a shell. Standard library only, so it starts fast and cannot fail
on a missing dependency.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from service.contract import CONTAINER_PORT, HEALTH_PATH

TIMEOUT_SECONDS = 3.0
"""Below the ECS health-check timeout (5 s): a hung service reads as unhealthy, not a timeout."""


def health_url(environ: dict[str, str]) -> str:
    """The loopback URL of the health route for the port the service listens on (``PORT``)."""
    port = environ.get("PORT", str(CONTAINER_PORT))
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"PORT must be a TCP port number (1-65535), got {port!r}")
    return f"http://127.0.0.1:{int(port)}{HEALTH_PATH}"


def check(url: str, *, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """None when ``url`` answers 200, otherwise one line saying what is wrong."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            if response.status == 200:
                return None
            return f"{url} answered {response.status}"
    except urllib.error.HTTPError as error:
        return f"{url} answered {error.code}"
    except (OSError, ValueError) as error:
        return f"{url} unreachable: {error}"


def main(environ: dict[str, str] | None = None) -> int:
    try:
        problem = check(health_url(dict(os.environ) if environ is None else environ))
    except ValueError as error:
        problem = str(error)
    if problem is None:
        return 0
    print(f"unhealthy: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
