"""``python -m tests.production.clocked_service``: the real service, with a test clock for metering.

Everything is what ``python -m service`` runs (settings from the environment, the app, the
draining server), except the metering object: its clock reads the UTC time from the file named
by ``TEST_CLOCK_FILE`` so a test crosses hour boundaries without waiting an hour, and its boto3
client and retries are quick so injected faults play out in seconds.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

from service.app import create_app
from service.logs import configure_logging
from service.metering import BotoMeteringApi, Metering, RetryPolicy
from service.server import server_for
from service.settings import Settings


def file_clock(path: Path):
    return lambda: datetime.fromisoformat(path.read_text().strip())


def main() -> int:
    settings = Settings.from_env(os.environ)
    configure_logging(settings.server.log_level)
    metering = Metering(
        options=settings.metering,
        api=BotoMeteringApi(region=settings.provider.aws_region, read_timeout=0.5),
        clock=file_clock(Path(os.environ["TEST_CLOCK_FILE"])),
        poll_seconds=0.1,
        retry=RetryPolicy(attempts=4, base_seconds=0.05, max_seconds=0.2),
    )
    server = server_for(create_app(settings, metering=metering), settings)
    server.run()
    return 0 if server.started else 3


if __name__ == "__main__":
    sys.exit(main())
