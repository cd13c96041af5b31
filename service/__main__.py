"""``python -m service``: check the configuration, then serve the app with uvicorn.

A configuration problem prints one line per problem on stderr and exits 2 before anything
listens, so a broken task definition fails fast and visibly.
"""

from __future__ import annotations

import os
import sys

from service.settings import ConfigurationError, Settings

CONFIGURATION_EXIT_CODE = 2
STARTUP_FAILURE_EXIT_CODE = 3


def main() -> int:
    try:
        settings = Settings.from_env(os.environ)
    except ConfigurationError as error:
        for problem in error.problems:
            print(f"configuration error: {problem}", file=sys.stderr)
        return CONFIGURATION_EXIT_CODE
    # Imported after the check: the app's imports take seconds a broken configuration need not wait.
    from service.app import create_app  # noqa: PLC0415
    from service.logs import configure_logging  # noqa: PLC0415
    from service.metrics import configure_metrics  # noqa: PLC0415
    from service.server import server_for  # noqa: PLC0415

    configure_logging(settings.server.log_level)
    configure_metrics(settings.server.deployment_name)
    server = server_for(create_app(settings), settings)
    server.run()
    return 0 if server.started else STARTUP_FAILURE_EXIT_CODE


if __name__ == "__main__":
    sys.exit(main())
