"""The environment contract between the infrastructure and the service container.

One source for both halves: the ECS task definition (modules/) and the Helm chart values
(written by the EKS apps stack) build the container environment with
:func:`container_environment`, and the service's settings read exactly these names.
This module imports nothing beyond the standard library so the infrastructure can use it
without installing the service's dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

# The choices of the contract's variables, declared once; the value tuples derive from them.
ProviderMode = Literal["managed", "byop"]
MeteringMode = Literal["off", "register", "hourly"]
MeteringUnit = Literal["requests", "paragraphs"]
TierName = Literal["basic", "standard", "northstar"]
LogLevel = Literal["debug", "info", "warning", "error"]
PROVIDER_MODES: tuple[ProviderMode, ...] = get_args(ProviderMode)
METERING_MODES: tuple[MeteringMode, ...] = get_args(MeteringMode)
METERING_UNITS: tuple[MeteringUnit, ...] = get_args(MeteringUnit)
TIER_NAMES: tuple[TierName, ...] = get_args(TierName)
LOG_LEVELS: tuple[LogLevel, ...] = get_args(LogLevel)

CONTAINER_PORT = 8000
"""The port the service listens on inside the container (``PORT``)."""

HEALTH_PATH = "/health"
"""Liveness: the container health check and the Kubernetes liveness and startup probes. Cheap,
no provider call."""

READY_PATH = "/ready"
"""Readiness: the load balancer's target health check (ECS target group, EKS Ingress) and the
Kubernetes readiness probe. 503 until configuration, provider client (and a provider secret, the
Marketplace entitlement) are loaded, and while draining; never a provider call, so a provider
outage cannot empty the target group."""

HEALTHCHECK_COMMAND = ("python", "-m", "service.healthcheck")
"""Container health check in exec form: needs neither curl nor a shell in the image."""

DRAIN_TIMEOUT_SECONDS = 60
"""Default ``DRAIN_TIMEOUT_SECONDS``: after SIGTERM, in-flight requests get this long to finish
(the standard and basic tiers' analysis deadline, so they always can). Shutdown then needs at
most 15 s more (metering flush, closing clients), so the platform's stop
timeout (ECS ``stopTimeout``; Kubernetes grace period after any preStop sleep) must be at least
``DRAIN_TIMEOUT_SECONDS + SHUTDOWN_AFTER_DRAIN_SECONDS``."""

SHUTDOWN_AFTER_DRAIN_SECONDS = 15
"""What shutdown needs after the drain: metering flush (10 s at most) and closing clients."""

LOAD_BALANCER_IDLE_TIMEOUT_SECONDS = 120
"""The load balancer's idle timeout unless a deployment sets another: LLM calls can outlast
AWS's default of 60 s."""


def keep_alive_for(idle_timeout_seconds: int) -> int:
    """Idle keep-alive of client connections behind a load balancer with this idle timeout:
    longer, so the load balancer never reuses a connection the service has just closed (a 502)."""
    return idle_timeout_seconds + 10


KEEP_ALIVE_SECONDS = keep_alive_for(LOAD_BALANCER_IDLE_TIMEOUT_SECONDS)
"""Default ``KEEP_ALIVE_SECONDS``, for the default load balancer idle timeout."""

# The service's own metrics (service/metrics.py writes them, the alarms and dashboard read them).
METRICS_NAMESPACE = "Hypernym"
DEPLOYMENT_DIMENSION = "Deployment"
"""Dimension of every service metric: the deployment's name (``DEPLOYMENT_NAME``)."""
PROVIDER_LATENCY_METRIC = "ProviderLatency"
"""Milliseconds per provider call (retries included), by ``Operation`` too."""
PROVIDER_ERRORS_METRIC = "ProviderErrors"
"""Failed provider calls, by ``ErrorClass`` too."""
METERING_FAILURES_METRIC = "MeteringFailures"
"""Failed AWS Marketplace calls (RegisterUsage, MeterUsage)."""
ProviderErrorClass = Literal[
    "timeout", "unreachable", "rate_limited", "auth", "failed", "content_refused"
]
PROVIDER_ERROR_CLASSES: tuple[ProviderErrorClass, ...] = get_args(ProviderErrorClass)


@dataclass(frozen=True, kw_only=True)
class ContainerEnvironment:
    """What the infrastructure knows and passes to the container.

    Secrets never travel here: BYOP credentials and the managed-mode gateway token stay in
    Secrets Manager and the service reads them by ARN with its own role (ECS task role, EKS IRSA
    role), so a rotation needs no redeploy. The callers' API keys likewise: their secret's ARN
    (``API_KEYS_SECRET_ARN``), or none when the deployment chose open access.
    """

    environment: str
    region: str
    provider_mode: ProviderMode
    deployment_name: str | None = None
    managed_api_url: str | None = None
    managed_model: str | None = None
    managed_api_key_secret_arn: str | None = None
    byop_secret_arn: str | None = None
    api_keys_secret_arn: str | None = None
    """The callers' API keys (JSON, key to tier); None: open access."""
    marketplace_product_code: str | None = None
    metering: MeteringMode = "off"
    log_level: str = "info"
    workers: int = 1
    port: int = CONTAINER_PORT
    # Optional tuning: None leaves the service's default and emits no variable.
    metering_unit: MeteringUnit | None = None
    metering_dimension: str | None = None
    marketplace_public_key_version: int | None = None
    secret_refresh_seconds: int | None = None
    max_in_flight: int | None = None
    drain_timeout_seconds: int | None = None
    keep_alive_seconds: int | None = None
    embedding_model: str | None = None
    embedding_dimensions: int | None = None
    max_input_chars: int | None = None
    open_access_tier: TierName | None = None
    jobs: AsyncJobsEnvironment | None = None
    """The asynchronous jobs' resources; None: async off (the endpoints answer 501)."""


@dataclass(frozen=True, kw_only=True)
class AsyncJobsEnvironment:
    """What the service needs to run asynchronous jobs and the shared result cache."""

    table: str
    queue_url: str
    dead_letter_queue_url: str
    bucket: str
    worker_concurrency: int
    visibility_timeout_seconds: int
    job_ttl_seconds: int
    result_cache_ttl_seconds: int
    """0: no result cache."""


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
    if env.deployment_name:
        variables["DEPLOYMENT_NAME"] = env.deployment_name
    if env.provider_mode == "managed":
        if env.managed_api_url:
            variables["MANAGED_API_URL"] = env.managed_api_url
        if env.managed_model:
            variables["MANAGED_MODEL"] = env.managed_model
        if env.managed_api_key_secret_arn:
            variables["MANAGED_API_KEY_SECRET_ARN"] = env.managed_api_key_secret_arn
    elif env.byop_secret_arn:
        variables["BYOP_SECRET_ARN"] = env.byop_secret_arn
    if env.api_keys_secret_arn:
        variables["API_KEYS_SECRET_ARN"] = env.api_keys_secret_arn
    if env.marketplace_product_code:
        variables["MARKETPLACE_PRODUCT_CODE"] = env.marketplace_product_code
    tuning = {
        "METERING_UNIT": env.metering_unit,
        "METERING_DIMENSION": env.metering_dimension,
        "MARKETPLACE_PUBLIC_KEY_VERSION": env.marketplace_public_key_version,
        "SECRET_REFRESH_SECONDS": env.secret_refresh_seconds,
        "MAX_IN_FLIGHT": env.max_in_flight,
        "DRAIN_TIMEOUT_SECONDS": env.drain_timeout_seconds,
        "KEEP_ALIVE_SECONDS": env.keep_alive_seconds,
        "EMBEDDING_MODEL": env.embedding_model,
        "EMBEDDING_DIMENSIONS": env.embedding_dimensions,
        "MAX_INPUT_CHARS": env.max_input_chars,
        "OPEN_ACCESS_TIER": env.open_access_tier,
    }
    variables.update((name, str(value)) for name, value in tuning.items() if value is not None)
    if env.jobs is not None:
        jobs = env.jobs
        variables.update(
            {
                "ASYNC_JOBS_TABLE": jobs.table,
                "ASYNC_QUEUE_URL": jobs.queue_url,
                "ASYNC_DEAD_LETTER_QUEUE_URL": jobs.dead_letter_queue_url,
                "ASYNC_RESULTS_BUCKET": jobs.bucket,
                "ASYNC_WORKER_CONCURRENCY": str(jobs.worker_concurrency),
                "ASYNC_VISIBILITY_TIMEOUT_SECONDS": str(jobs.visibility_timeout_seconds),
                "ASYNC_JOB_TTL_SECONDS": str(jobs.job_ttl_seconds),
                "RESULT_CACHE_TTL_SECONDS": str(jobs.result_cache_ttl_seconds),
            }
        )
    return variables
