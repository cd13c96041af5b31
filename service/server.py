"""Serving the app in production: one uvicorn process that drains on SIGTERM.

On SIGTERM (ECS StopTask, Kubernetes pod deletion) the process:

1. turns ``/ready`` to 503 at once (condition "not draining"), while still accepting
   connections, so the load balancer and the kubelet see it leave instead of a refused port;
2. lets in-flight requests finish, for at most the drain timeout (``DRAIN_TIMEOUT_SECONDS``);
3. closes the listener and idle keep-alive connections (uvicorn's shutdown), then runs the app's
   lifespan shutdown: metering flush, provider secret refresher stop, HTTP client close;
4. exits 0.

A second SIGTERM, or SIGINT during the drain, skips the wait (uvicorn's own handling).
Keep-alive stays above the load balancer's idle timeout (``KEEP_ALIVE_SECONDS``).
"""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType

import uvicorn
from litestar import Litestar

from service.readiness import NOT_DRAINING, Readiness
from service.settings import Settings

logger = logging.getLogger(__name__)

FINISH_AFTER_DRAIN_SECONDS = 5
"""uvicorn's own graceful wait after the drain: requests still running are then cancelled."""


class DrainingServer(uvicorn.Server):
    """uvicorn's server with a drain phase between SIGTERM and shutdown."""

    def __init__(
        self, config: uvicorn.Config, *, readiness: Readiness, drain_seconds: float
    ) -> None:
        super().__init__(config)
        self.readiness = readiness
        self.drain_seconds = drain_seconds
        self.drain_deadline: float | None = None
        readiness.register(NOT_DRAINING)
        readiness.met(NOT_DRAINING)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and self.drain_deadline is None and not self.should_exit:
            # Not recorded as a captured signal: uvicorn would re-raise it at exit (status -15).
            self.drain_deadline = time.monotonic() + self.drain_seconds
            self.readiness.clear(NOT_DRAINING)
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.drain_deadline is not None and not self.should_exit:
            in_flight = len(self.server_state.tasks)
            if counter % 10 == 0 or in_flight == 0:
                logger.info("draining", extra={"in_flight": in_flight})
            if in_flight == 0 or time.monotonic() >= self.drain_deadline:
                if in_flight:
                    logger.warning("drain timeout: %d request(s) still in flight", in_flight)
                self.should_exit = True
        return await super().on_tick(counter)


def server_for(app: Litestar, settings: Settings) -> DrainingServer:
    server = settings.server
    config = uvicorn.Config(
        app,
        host=server.host,
        port=server.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        timeout_keep_alive=server.keep_alive_seconds,
        timeout_graceful_shutdown=FINISH_AFTER_DRAIN_SECONDS,
        log_config=None,  # service.logs already routes everything through one JSON handler
        access_log=False,  # service.logs writes the one line per request
        server_header=False,
    )
    return DrainingServer(
        config, readiness=app.state.readiness, drain_seconds=server.drain_timeout_seconds
    )
