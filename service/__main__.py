"""``python -m service``: check the configuration, then serve the app with uvicorn.

A configuration problem prints one line per problem on stderr and exits 2 before anything
listens, so a broken task definition fails fast and visibly.
"""

from __future__ import annotations

import os
import sys

import uvicorn

from service.settings import ConfigurationError, Settings

CONFIGURATION_EXIT_CODE = 2


def main() -> int:
    try:
        settings = Settings.from_env(os.environ)
    except ConfigurationError as error:
        for problem in error.problems:
            print(f"configuration error: {problem}", file=sys.stderr)
        return CONFIGURATION_EXIT_CODE
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=settings.server.host,
        port=settings.server.port,
        workers=settings.server.workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.server.log_level,
        timeout_keep_alive=settings.server.keep_alive_seconds,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
