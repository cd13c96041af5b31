"""The service's configuration: every environment variable declared once, read with every
problem reported.

Each settings group below is a frozen msgspec Struct whose fields are environment variables
(:mod:`service.environment`): one statement gives a variable's name, type and bounds, default
and description. The README's "Environment contract" section is rendered from these
declarations (``python -m service.readme``). The choices come from
:mod:`service.contract`, the BYOP fields from :class:`ByopCredentials`.

:meth:`Settings.from_env` collects *every* problem before failing, so an operator fixes a broken
task definition in one round: ``python -m service`` prints one line per problem and exits
non-zero. It imports nothing heavy, as ``python -m service`` reads it before the app.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Annotated

import msgspec
from msgspec import Meta

from service.contract import (
    CONTAINER_PORT,
    DRAIN_TIMEOUT_SECONDS,
    KEEP_ALIVE_SECONDS,
    LOAD_BALANCER_IDLE_TIMEOUT_SECONDS,
    SHUTDOWN_AFTER_DRAIN_SECONDS,
    TIER_NAMES,
    LogLevel,
    MeteringMode,
    MeteringUnit,
    ProviderMode,
    TierName,
)
from service.environment import (
    EnvironmentReader,
    InvalidValue,
    SettingsGroup,
    env,
    variables,
)
from service.providers.credentials import (
    ByopCredentials,
    ProviderCredentials,
    byop_variable_names,
)

__all__ = [
    "AccessSettings",
    "AnalysisSettings",
    "AsyncJobSettings",
    "ConfigurationError",
    "MeteringOptions",
    "ProviderSettings",
    "ServerSettings",
    "Settings",
]


class ConfigurationError(Exception):
    """The environment does not describe a runnable service; ``problems`` has one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


class ServerSettings(SettingsGroup, frozen=True, kw_only=True):
    """How the process serves HTTP."""

    host: Annotated[
        str, Meta(description="listen address (all interfaces, as a container needs)")
    ] = env("HOST", "0.0.0.0")  # noqa: S104 (the container's port is what the platform publishes)
    port: Annotated[
        int,
        Meta(
            ge=1,
            le=65535,
            description="listen port: the container port the load balancer and probes use",
        ),
    ] = env("PORT", CONTAINER_PORT)
    environment: Annotated[
        str, Meta(description="the deployment's name, reported by `/health`")
    ] = env("ENVIRONMENT", "production")
    log_level: Annotated[LogLevel, Meta(description="the least severe level logged")] = env(
        "LOG_LEVEL", "info"
    )
    workers: Annotated[
        int,
        Meta(
            description="uvicorn worker processes: only 1, as drain, metering and the in-flight "
            "cap are per process (scale tasks or pods)"
        ),
    ] = env("WORKERS", 1)
    keep_alive_seconds: Annotated[
        int,
        Meta(
            ge=1,
            le=4000,
            description="idle keep-alive of client connections, above the load "
            f"balancer's idle timeout ({LOAD_BALANCER_IDLE_TIMEOUT_SECONDS} s unless the "
            "deployment sets another) so it never reuses a connection the service closed",
        ),
    ] = env("KEEP_ALIVE_SECONDS", KEEP_ALIVE_SECONDS)
    drain_timeout_seconds: Annotated[
        int,
        Meta(
            ge=0,
            le=3600,
            description="after SIGTERM, how long requests in flight may still "
            f"run; the platform's stop timeout must allow this + {SHUTDOWN_AFTER_DRAIN_SECONDS} s",
        ),
    ] = env("DRAIN_TIMEOUT_SECONDS", DRAIN_TIMEOUT_SECONDS)
    max_in_flight: Annotated[
        int,
        Meta(
            ge=1,
            le=10_000,
            description="analyses at once in this process; the excess gets 429 "
            "with `Retry-After` before its body is read",
        ),
    ] = env("MAX_IN_FLIGHT", 100)


def _secret_keys() -> str:
    fields = variables(ByopCredentials)
    required = ", ".join(f"`{field.attribute}`" for field in fields if field.required)
    optional = ", ".join(f"`{field.attribute}`" for field in fields if not field.required)
    return f"{required}, optional {optional}"


class ProviderSettings(SettingsGroup, frozen=True, kw_only=True):
    """Where inference runs and how the shared HTTP client talks to it.

    BYOP credentials given as variables are :class:`ByopCredentials` (``Settings.byop``)."""

    mode: Annotated[
        ProviderMode,
        Meta(
            description="`managed`: the one-api gateway at `MANAGED_API_URL`; `byop`: the "
            "customer's provider, from `BYOP_SECRET_ARN` or `UPSTREAM_*`"
        ),
    ] = env("INFERENCE_PROVIDER_MODE", "managed")
    managed_api_url: Annotated[
        str | None,
        Meta(
            description="managed: the gateway's base URL, required (`/v1` added when it has no "
            "path)"
        ),
    ] = env("MANAGED_API_URL", None)
    managed_api_key: Annotated[
        str | None,
        Meta(
            description="managed: the gateway's bearer token (a secret; for local runs, "
            "deployments use `MANAGED_API_KEY_SECRET_ARN`)",
            extra={"secret": True},
        ),
    ] = env("MANAGED_API_KEY", None)
    managed_api_key_secret_arn: Annotated[
        str | None,
        Meta(
            description="managed: a Secrets Manager secret with the gateway token (the raw "
            "token, or JSON with `api_key`), read with the task or IRSA role; not ready until "
            "it is loaded"
        ),
    ] = env("MANAGED_API_KEY_SECRET_ARN", None)
    managed_model: Annotated[str, Meta(description="managed: the chat model")] = env(
        "MANAGED_MODEL", "gpt-4o-mini"
    )
    embeddings_url: Annotated[
        str | None,
        Meta(
            description="managed: a separate OpenAI-compatible embeddings API base URL; "
            "default: the gateway"
        ),
    ] = env("EMBEDDINGS_URL", None)
    embeddings_api_key: Annotated[
        str | None,
        Meta(
            description="managed: the key for `EMBEDDINGS_URL` (a secret); default: the "
            "gateway token",
            extra={"secret": True},
        ),
    ] = env("EMBEDDINGS_API_KEY", None)
    byop_secret_arn: Annotated[
        str | None,
        Meta(
            description=f"byop: a Secrets Manager secret, JSON with {_secret_keys()}, read "
            "with the task or IRSA role; not ready until it is loaded"
        ),
    ] = env("BYOP_SECRET_ARN", None)
    aws_region: Annotated[
        str | None,
        Meta(
            description="the region of Marketplace metering, and of a secret given by name "
            "rather than ARN"
        ),
    ] = env("AWS_REGION", None)
    embedding_model: Annotated[
        str, Meta(description="the embeddings model for similarity and filters")
    ] = env("EMBEDDING_MODEL", "text-embedding-3-small")
    embedding_dimensions: Annotated[
        int,
        Meta(
            ge=0,
            le=8192,
            description="dimensions requested from the embeddings API; `0`: "
            "not sent (the model's native size, for providers that reject `dimensions`)",
        ),
    ] = env("EMBEDDING_DIMENSIONS", 768)
    connect_timeout_seconds: Annotated[
        float, Meta(ge=0.1, le=120.0, description="TCP and TLS connect to the provider")
    ] = env("PROVIDER_CONNECT_TIMEOUT_SECONDS", 5.0)
    read_timeout_seconds: Annotated[
        float, Meta(ge=0.1, le=1200.0, description="one provider call, first byte to last")
    ] = env("PROVIDER_READ_TIMEOUT_SECONDS", 60.0)
    max_attempts: Annotated[
        int,
        Meta(
            ge=1,
            le=10,
            description="tries per provider call on 429, 5xx and connection errors (1: no retry)",
        ),
    ] = env("PROVIDER_MAX_ATTEMPTS", 3)
    max_retry_after_seconds: Annotated[
        float,
        Meta(
            ge=0.0,
            le=600.0,
            description="a longer provider `Retry-After` is passed to the "
            "client as a 429 instead of being waited out",
        ),
    ] = env("PROVIDER_MAX_RETRY_AFTER_SECONDS", 10.0)
    max_connections: Annotated[
        int, Meta(ge=1, le=10_000, description="the shared aiohttp client's connection pool")
    ] = env("PROVIDER_MAX_CONNECTIONS", 256)
    max_output_tokens: Annotated[
        int,
        Meta(
            ge=16,
            le=1_000_000,
            description="upper bound on `max_tokens` of every chat call, whatever the request asks",
        ),
    ] = env("PROVIDER_MAX_OUTPUT_TOKENS", 4096)
    secret_refresh_seconds: Annotated[
        float,
        Meta(
            ge=0.1,
            le=86_400.0,
            description="how often the secrets (the provider's, BYOP or the gateway token, "
            "and the client API keys) are re-read; a rotated key is live within this, no restart",
        ),
    ] = env("SECRET_REFRESH_SECONDS", 300.0)
    allow_plaintext: Annotated[
        bool,
        Meta(
            description="allow http:// and loopback BYOP URLs (local runs and tests); "
            "link-local addresses (instance metadata) are always refused"
        ),
    ] = env("ALLOW_PLAINTEXT_PROVIDER", False)

    @property
    def requested_embedding_dimensions(self) -> int | None:
        """The ``dimensions`` parameter of embeddings calls; None: not sent."""
        return self.embedding_dimensions or None


_API_KEYS_EXAMPLE = 'e.g. API_KEYS=\'{"key-one": "standard", "key-two": "northstar"}\''


def parse_api_keys(
    name: str, text: str, *, example: str = _API_KEYS_EXAMPLE
) -> dict[str, TierName]:
    """``API_KEYS`` (or the API keys secret, ``name`` says which): a JSON object of key to tier.
    Never echoes a key: entries go by position."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        raise InvalidValue(
            f"{name} is not valid JSON: give an object of key to tier, {example}"
        ) from None
    if not isinstance(parsed, dict) or not parsed:
        raise InvalidValue(f"{name} must be a non-empty JSON object of key to tier, {example}")
    keys: dict[str, TierName] = {}
    problems = []
    for position, (key, tier) in enumerate(parsed.items(), start=1):
        if not isinstance(tier, str) or tier not in TIER_NAMES:
            shown = repr(tier) if isinstance(tier, str) else "that is not a string"
            problems.append(
                f"{name} entry {position} has tier {shown}: use one of {', '.join(TIER_NAMES)}"
            )
        elif not key.strip():
            problems.append(f"{name} entry {position} has an empty key")
        else:
            keys[key] = tier
    if problems:
        raise InvalidValue(*problems)
    return keys


class AccessSettings(SettingsGroup, frozen=True, kw_only=True):
    """Who may call, and with which tier."""

    api_keys: Annotated[
        Mapping[str, TierName],
        Meta(
            description="client API keys (a secret; deployments use `API_KEYS_SECRET_ARN`), "
            "read from `X-API-Key` or `Authorization: Bearer`; with neither set: open access, "
            "every caller gets `OPEN_ACCESS_TIER`",
            extra={
                "secret": True,
                "parse": parse_api_keys,
                "accepts": "JSON object of key to " + ", ".join(f"`{t}`" for t in TIER_NAMES),
            },
        ),
    ] = env("API_KEYS", {})
    open_access_tier: Annotated[
        TierName,
        Meta(
            description="the tier of every caller when neither `API_KEYS` nor "
            "`API_KEYS_SECRET_ARN` is set"
        ),
    ] = env("OPEN_ACCESS_TIER", "standard")
    api_keys_secret_arn: Annotated[
        str | None,
        Meta(
            description="a Secrets Manager secret with the client API keys (JSON, as "
            "`API_KEYS`), read with the task or IRSA role and re-read every "
            "`SECRET_REFRESH_SECONDS`, so a new or revoked key takes effect without a restart; "
            "not ready until it is loaded"
        ),
    ] = env("API_KEYS_SECRET_ARN", None)


class AnalysisSettings(SettingsGroup, frozen=True, kw_only=True):
    """Limits and defaults of the analysis itself."""

    max_input_chars: Annotated[
        int, Meta(ge=1, le=10_000_000, description="a longer `essay_text` gets 413")
    ] = env("MAX_INPUT_CHARS", 100_000)
    default_filter_threshold: Annotated[
        float,
        Meta(
            ge=0.0,
            le=1.0,
            description="the threshold of a purpose filter without `min_semantic_similarity`",
        ),
    ] = env("DEFAULT_FILTER_THRESHOLD", 0.35)
    comprehensive_trials: Annotated[
        int,
        Meta(
            ge=1,
            le=200,
            description="compressions per paragraph in comprehensive mode "
            "(northstar), two chat calls each",
        ),
    ] = env("COMPREHENSIVE_TRIALS", 60)

    @property
    def max_body_bytes(self) -> int:
        """Request body cap: the text in 4-byte UTF-8 plus params, JSON escapes and filters."""
        return self.max_input_chars * 6 + 65_536


class MeteringOptions(SettingsGroup, frozen=True, kw_only=True):
    """AWS Marketplace metering (:mod:`service.metering`); off, and so quiet, by default."""

    mode: Annotated[
        MeteringMode,
        Meta(
            description="`off`: no Marketplace calls; `register`: RegisterUsage at start; "
            "`hourly`: MeterUsage per pod and UTC hour"
        ),
    ] = env("METERING", "off")
    product_code: Annotated[
        str,
        Meta(
            description="the listing's product code, required unless `METERING=off` "
            "(and `AWS_REGION` too)"
        ),
    ] = env("MARKETPLACE_PRODUCT_CODE", "")
    public_key_version: Annotated[
        int,
        Meta(
            ge=1,
            le=1_000_000,
            description="RegisterUsage's public key version (1 unless AWS "
            "rotated the seller's key)",
        ),
    ] = env("MARKETPLACE_PUBLIC_KEY_VERSION", 1)
    unit: Annotated[
        MeteringUnit,
        Meta(
            description="hourly: what one unit is, a successful analysis or one of its paragraphs"
        ),
    ] = env("METERING_UNIT", "requests")
    dimension: Annotated[
        str | None,
        Meta(
            description="hourly: the usage dimension's API name in the listing; default: the "
            "`METERING_UNIT`"
        ),
    ] = env("METERING_DIMENSION", None)

    @property
    def usage_dimension(self) -> str:
        """The dimension MeterUsage records go to."""
        return self.dimension or self.unit


class AsyncJobSettings(SettingsGroup, frozen=True, kw_only=True):
    """Asynchronous analysis (``/analyze_begin``, ``/analyze_status``) and the shared result
    cache (:mod:`service.jobs`): off unless the table, the queues and the bucket are all given."""

    table: Annotated[
        str | None,
        Meta(
            description="the DynamoDB table of jobs and cached results; unset: async is off (501)"
        ),
    ] = env("ASYNC_JOBS_TABLE", None)
    queue_url: Annotated[
        str | None, Meta(description="the SQS queue of job ids every replica's worker polls")
    ] = env("ASYNC_QUEUE_URL", None)
    dead_letter_queue_url: Annotated[
        str | None,
        Meta(description="the queue's dead-letter queue: a job found there is marked failed"),
    ] = env("ASYNC_DEAD_LETTER_QUEUE_URL", None)
    bucket: Annotated[
        str | None,
        Meta(
            description="the S3 bucket for requests and results too large for a DynamoDB item "
            "(over 300 KB compressed)"
        ),
    ] = env("ASYNC_RESULTS_BUCKET", None)
    worker_concurrency: Annotated[
        int, Meta(ge=1, le=64, description="jobs this replica's worker runs at once")
    ] = env("ASYNC_WORKER_CONCURRENCY", 4)
    visibility_timeout_seconds: Annotated[
        int,
        Meta(
            ge=2,
            le=43_200,
            description="how long a received job stays hidden from other replicas; extended "
            "every third of it while the job runs, so a replica that dies returns it this soon",
        ),
    ] = env("ASYNC_VISIBILITY_TIMEOUT_SECONDS", 60)
    job_ttl_seconds: Annotated[
        int,
        Meta(
            ge=60,
            le=31_536_000,
            description="how long a job and its result can be read (DynamoDB TTL)",
        ),
    ] = env("ASYNC_JOB_TTL_SECONDS", 86_400)
    result_cache_ttl_seconds: Annotated[
        int,
        Meta(
            ge=0,
            le=31_536_000,
            description="how long a result is reused for the same text, parameters and model "
            "(sync and async, `cache_hit: true`); `0`: no cache",
        ),
    ] = env("RESULT_CACHE_TTL_SECONDS", 86_400)

    @property
    def enabled(self) -> bool:
        return self.table is not None

    @property
    def result_cache(self) -> bool:
        return self.enabled and self.result_cache_ttl_seconds > 0


def _async_problems(jobs: AsyncJobSettings) -> list[str]:
    given = {
        "ASYNC_JOBS_TABLE": jobs.table,
        "ASYNC_QUEUE_URL": jobs.queue_url,
        "ASYNC_DEAD_LETTER_QUEUE_URL": jobs.dead_letter_queue_url,
        "ASYNC_RESULTS_BUCKET": jobs.bucket,
    }
    missing = [name for name, value in given.items() if value is None]
    if missing and len(missing) < len(given):
        return [
            f"asynchronous analysis needs all of {', '.join(given)} (missing: "
            f"{', '.join(missing)}); unset all four to turn it off"
        ]
    return []


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the service needs, validated; built once per process in the app factory."""

    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    provider: ProviderSettings = msgspec.field(default_factory=ProviderSettings)
    access: AccessSettings = msgspec.field(default_factory=AccessSettings)
    analysis: AnalysisSettings = msgspec.field(default_factory=AnalysisSettings)
    metering: MeteringOptions = msgspec.field(default_factory=MeteringOptions)
    jobs: AsyncJobSettings = msgspec.field(default_factory=AsyncJobSettings)
    byop: ByopCredentials | None = None
    """BYOP from ``UPSTREAM_*`` (or ``BYOP_*``) variables; None in managed mode and with
    ``BYOP_SECRET_ARN``."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read the environment contract; :class:`ConfigurationError` lists every problem."""
        reader = EnvironmentReader(environ)
        server = reader.read(ServerSettings)
        provider = reader.read(ProviderSettings)
        access = reader.read(AccessSettings)
        analysis = reader.read(AnalysisSettings)
        metering = reader.read(MeteringOptions)
        jobs = reader.read(AsyncJobSettings)
        problems = reader.problems
        problems.extend(_async_problems(jobs))
        if "WORKERS" not in reader.refused and server.workers != 1:
            problems.append(
                f"WORKERS={server.workers}: the service runs one worker per container (drain, "
                "metering and the in-flight cap are per process); scale the number of tasks or "
                "pods instead"
            )
        if access.api_keys and access.api_keys_secret_arn is not None:
            problems.append(
                "API_KEYS and API_KEYS_SECRET_ARN are both set: give the client keys one way"
            )
        byop = None
        if "INFERENCE_PROVIDER_MODE" in reader.refused:
            pass  # its own problem says it all: the mode's requirements are unknown
        elif provider.mode == "managed":
            problems.extend(_managed_problems(provider))
        elif provider.byop_secret_arn is None:
            byop = _byop_from_env(reader, allow_plaintext=provider.allow_plaintext)
        if metering.mode != "off":
            if not metering.product_code:
                problems.append(
                    f"METERING={metering.mode} needs MARKETPLACE_PRODUCT_CODE "
                    "(the listing's product code)"
                )
            if provider.aws_region is None:
                problems.append(
                    f"METERING={metering.mode} needs AWS_REGION "
                    "(metering calls go to the task's region)"
                )
        if problems:
            raise ConfigurationError(problems)
        return cls(
            server=server,
            provider=provider,
            access=access,
            analysis=analysis,
            metering=metering,
            jobs=jobs,
            byop=byop,
        )

    def static_credentials(self) -> ProviderCredentials | None:
        """The provider fixed by the environment: the managed gateway (its key empty when
        ``MANAGED_API_KEY_SECRET_ARN`` fills it in), or BYOP from ``UPSTREAM_*``; None when
        the BYOP secret holds it."""
        provider = self.provider
        if provider.mode == "managed" and provider.managed_api_url:
            return ProviderCredentials(
                kind="openai",
                base_url=provider.managed_api_url,
                api_key=provider.managed_api_key or "",
                model=provider.managed_model,
                embeddings_url=provider.embeddings_url,
                embeddings_api_key=provider.embeddings_api_key,
                embedding_model=provider.embedding_model,
            )
        if self.byop is not None:
            return self.byop.credentials(embedding_model=provider.embedding_model)
        return None


def _managed_problems(provider: ProviderSettings) -> list[str]:
    problems = []
    if provider.managed_api_url is None:
        problems.append(
            "MANAGED_API_URL is not set: give the one-api gateway URL, e.g. http://one-api:8080"
        )
    if provider.managed_api_key and provider.managed_api_key_secret_arn:
        problems.append(
            "MANAGED_API_KEY and MANAGED_API_KEY_SECRET_ARN are both set: give one gateway token"
        )
    return problems


def _byop_from_env(reader: EnvironmentReader, *, allow_plaintext: bool) -> ByopCredentials | None:
    """BYOP without a secret: ``UPSTREAM_*`` (CloudFormation, Helm) or ``BYOP_*`` (Terraform)."""
    fields = variables(ByopCredentials, byop_variable_names)
    values = reader.values(ByopCredentials, byop_variable_names)
    required = [field.name for field in fields if field.required]
    missing = [field.name for field in fields if field.required and field.attribute not in values]
    if missing:
        reader.problems.append(
            f"INFERENCE_PROVIDER_MODE=byop needs BYOP_SECRET_ARN, or {', '.join(required[:-1])} "
            f"and {required[-1]} (missing: {', '.join(missing)})"
        )
        return None
    byop = msgspec.convert(values, ByopCredentials)
    names = {field.attribute: field.name for field in fields}
    reader.problems.extend(byop.problems(allow_plaintext=allow_plaintext, name=names.__getitem__))
    return byop


GROUPS: tuple[tuple[str, type[msgspec.Struct]], ...] = (
    ("Server", ServerSettings),
    ("Provider", ProviderSettings),
    ("Access", AccessSettings),
    ("Analysis", AnalysisSettings),
    ("Metering (AWS Marketplace)", MeteringOptions),
    ("Asynchronous analysis and result cache", AsyncJobSettings),
)
"""The settings groups in README order (headings)."""
