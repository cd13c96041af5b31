"""The environment contract between the infrastructure and the service container.

One source for both halves: the ECS task definition (modules/) and the Helm chart values
(written by the EKS apps stack) build the container environment with
:func:`container_environment`, and the service's settings read exactly these names.
This module imports nothing beyond the standard library so the infrastructure can use it
without installing the service's dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ProviderMode = Literal["managed", "byop"]
MeteringMode = Literal["off", "register", "hourly"]

CONTAINER_PORT = 8000
"""The port the service listens on inside the container (``PORT``)."""

HEALTH_PATH = "/health"
"""Liveness and load-balancer health check: cheap, no provider call."""

READY_PATH = "/ready"
"""Readiness: 503 until configuration, provider client (and BYOP secret) are loaded, and while draining."""

HEALTHCHECK_COMMAND = ("python", "-m", "service.healthcheck")
"""Container health check in exec form: needs neither curl nor a shell in the image."""


@dataclass(frozen=True, kw_only=True)
class ContainerEnvironment:
    """What the infrastructure knows and passes to the container.

    Secrets never travel here: BYOP credentials stay in Secrets Manager and the service reads
    them by ARN with its own role (so a rotation needs no redeploy); a managed-mode gateway
    token is injected by the platform from Secrets Manager as ``MANAGED_API_KEY``.
    """

    environment: str
    region: str
    provider_mode: ProviderMode
    managed_api_url: str | None = None
    managed_model: str | None = None
    byop_secret_arn: str | None = None
    marketplace_product_code: str | None = None
    metering: MeteringMode = "off"
    log_level: str = "info"
    workers: int = 1
    port: int = CONTAINER_PORT


def container_environment(env: ContainerEnvironment) -> dict[str, str]:
    """The container's environment variables, by name, for ECS and Helm alike."""
    variables = {
        "PORT": str(env.port),
        "ENVIRONMENT": env.environment,
        "LOG_LEVEL": env.log_level,
        "WORKERS": str(env.workers),
        "AWS_REGION": env.region,
        "INFERENCE_PROVIDER_MODE": env.provider_mode,
        "METERING": env.metering,
    }
    if env.provider_mode == "managed":
        if env.managed_api_url:
            variables["MANAGED_API_URL"] = env.managed_api_url
        if env.managed_model:
            variables["MANAGED_MODEL"] = env.managed_model
    elif env.byop_secret_arn:
        variables["BYOP_SECRET_ARN"] = env.byop_secret_arn
    if env.marketplace_product_code:
        variables["MARKETPLACE_PRODUCT_CODE"] = env.marketplace_product_code
    return variables
