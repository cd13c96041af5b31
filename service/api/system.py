"""Liveness and readiness: cheap, no auth, never a provider call."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.di import NamedDependency

from service import __version__
from service.contract import HEALTH_PATH, READY_PATH
from service.readiness import Readiness
from service.settings import Settings


class Health(msgspec.Struct, kw_only=True):
    status: str
    version: str
    environment: str


class ReadyStatus(msgspec.Struct, kw_only=True, omit_defaults=True):
    status: str
    detail: str | None = None


@get(HEALTH_PATH, operation_id="Health", tags=["system"], sync_to_thread=False)
def health(settings: NamedDependency[Settings]) -> Health:
    """Liveness and the load balancer's health check: the process answers."""
    return Health(status="healthy", version=__version__, environment=settings.server.environment)


@get(READY_PATH, operation_id="Ready", tags=["system"], sync_to_thread=False)
def ready(readiness: NamedDependency[Readiness]) -> Response[ReadyStatus]:
    """Readiness: 200 when every registered condition holds, else 503 naming the unmet ones."""
    if readiness.ready:
        return Response(ReadyStatus(status="ready"))
    waiting = ", ".join(readiness.unmet())
    return Response(
        ReadyStatus(status="not ready", detail=f"waiting for: {waiting}"), status_code=503
    )
