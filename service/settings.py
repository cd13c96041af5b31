"""The service's configuration: one typed, validated object built from the environment contract.

Every name read here is part of the contract documented in the README (section "service") and
in :mod:`service.contract`. :meth:`Settings.from_env` collects *every* problem before failing, so
an operator fixes a broken task definition in one round: ``python -m service`` prints one line per
problem and exits non-zero.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from service.analysis.tiers import TIER_NAMES, TierName
from service.contract import (
    CONTAINER_PORT,
    DRAIN_TIMEOUT_SECONDS,
    KEEP_ALIVE_SECONDS,
    METERING_MODES,
    METERING_UNITS,
    PROVIDER_MODES,
    ProviderMode,
)
from service.metering import MeteringOptions
from service.providers.credentials import (
    PROVIDER_KINDS,
    ProviderCredentials,
    ProviderKind,
    guess_provider_kind,
    provider_url_problem,
)

LogLevel = Literal["debug", "info", "warning", "error"]
LOG_LEVELS: tuple[LogLevel, ...] = ("debug", "info", "warning", "error")
T = TypeVar("T")


class ConfigurationError(Exception):
    """The environment does not describe a runnable service; ``problems`` has one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    """How the process serves HTTP."""

    host: str = "0.0.0.0"  # noqa: S104 (the container's port is what the platform publishes)
    """``HOST``: the listen address. Default all interfaces, as a container needs."""
    port: int = CONTAINER_PORT
    """``PORT``. Default 8000, the container port the infrastructure routes to."""
    environment: str = "production"
    """``ENVIRONMENT``, reported by /health."""
    log_level: LogLevel = "info"
    """``LOG_LEVEL``: debug, info, warning or error."""
    workers: int = 1
    """``WORKERS``: uvicorn worker processes; only 1 (the default) is accepted: drain, metering
    and the in-flight cap are per process, so scale tasks/pods, not workers."""
    keep_alive_seconds: int = KEEP_ALIVE_SECONDS
    """``KEEP_ALIVE_SECONDS``: idle keep-alive, above the load balancer's idle timeout so it never
    reuses a connection the service has just closed."""
    drain_timeout_seconds: int = DRAIN_TIMEOUT_SECONDS
    """``DRAIN_TIMEOUT_SECONDS``: after SIGTERM, how long in-flight requests may still run."""
    max_in_flight: int = 100
    """``MAX_IN_FLIGHT``: analyses running at once in this process; more get 429 + Retry-After."""


@dataclass(frozen=True, kw_only=True)
class ProviderSettings:
    """Where inference runs and how the shared HTTP client talks to it."""

    mode: ProviderMode = "managed"
    """``INFERENCE_PROVIDER_MODE``: managed (the one-api gateway) or byop."""
    credentials: ProviderCredentials | None = None
    """The static provider (managed mode, or BYOP from ``UPSTREAM_*``/``BYOP_*`` variables).
    None when BYOP credentials come from ``BYOP_SECRET_ARN``. In managed mode with
    ``MANAGED_API_KEY_SECRET_ARN`` its key is empty: the secret fills it in."""
    managed_api_key_secret_arn: str | None = None
    """``MANAGED_API_KEY_SECRET_ARN``: a Secrets Manager secret with the gateway token, the raw
    token or JSON with ``api_key`` (instead of ``MANAGED_API_KEY``, which suits local runs)."""
    byop_secret_arn: str | None = None
    """``BYOP_SECRET_ARN``: a Secrets Manager secret with provider_url, api_key, model_name."""
    aws_region: str | None = None
    """``AWS_REGION``, for reading a provider secret."""
    embedding_model: str = "text-embedding-3-small"
    """``EMBEDDING_MODEL``: the embeddings model for similarity and filters."""
    embedding_dimensions: int | None = 768
    """``EMBEDDING_DIMENSIONS``: requested from the embeddings API (768 as Hypernym's). None
    (``0`` in the environment): not requested, the model's native size, for providers that
    reject the ``dimensions`` parameter."""
    connect_timeout_seconds: float = 5.0
    """``PROVIDER_CONNECT_TIMEOUT_SECONDS``: TCP+TLS connect to the provider."""
    read_timeout_seconds: float = 60.0
    """``PROVIDER_READ_TIMEOUT_SECONDS``: one provider call, first byte to last."""
    max_attempts: int = 3
    """``PROVIDER_MAX_ATTEMPTS``: tries per call on 429/5xx/connection errors (1 = no retry)."""
    max_retry_after_seconds: float = 10.0
    """``PROVIDER_MAX_RETRY_AFTER_SECONDS``: a longer provider Retry-After is passed to the
    client as a 429 instead of being waited out."""
    max_connections: int = 256
    """``PROVIDER_MAX_CONNECTIONS``: the shared client's connection pool size."""
    max_output_tokens: int = 4096
    """``PROVIDER_MAX_OUTPUT_TOKENS``: upper bound on ``max_tokens`` of any chat call, whatever
    the request asks (a forced detail count cannot run up the provider bill)."""
    secret_refresh_seconds: float = 300.0
    """``SECRET_REFRESH_SECONDS``: how often the provider secret (BYOP, or the managed
    gateway token) is re-read (a rotation is live within this)."""
    allow_plaintext: bool = False
    """``ALLOW_PLAINTEXT_PROVIDER``: allow http:// and loopback BYOP URLs (local runs and tests).
    Off by default: BYOP providers must use HTTPS; metadata addresses are always refused."""


@dataclass(frozen=True, kw_only=True)
class AccessSettings:
    """Who may call, and with which tier."""

    api_keys: Mapping[str, TierName] = field(default_factory=dict)
    """``API_KEYS``: JSON object of API key to tier. Empty: open access (as behind the internal
    ALB of the Marketplace templates), every caller gets ``open_access_tier``."""
    open_access_tier: TierName = "standard"
    """``OPEN_ACCESS_TIER``: the tier of callers when no keys are configured."""


@dataclass(frozen=True, kw_only=True)
class AnalysisSettings:
    """Limits and defaults of the analysis itself."""

    max_input_chars: int = 100_000
    """``MAX_INPUT_CHARS``: longer essay_text gets 413."""
    default_filter_threshold: float = 0.35
    """``DEFAULT_FILTER_THRESHOLD``: a purpose filter without min_semantic_similarity uses this."""
    comprehensive_trials: int = 60
    """``COMPREHENSIVE_TRIALS``: compressions per paragraph in comprehensive mode (northstar);
    each costs two chat calls, so 60 trials are ~120 calls per paragraph."""

    @property
    def max_body_bytes(self) -> int:
        """Request body cap: the text in 4-byte UTF-8 plus params, JSON escapes and filters."""
        return self.max_input_chars * 6 + 65_536


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the service needs, validated; built once per process in the app factory."""

    server: ServerSettings = field(default_factory=ServerSettings)
    provider: ProviderSettings = field(default_factory=ProviderSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    metering: MeteringOptions = field(default_factory=MeteringOptions)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read the environment contract; :class:`ConfigurationError` lists every problem."""
        reader = _EnvReader(environ)
        server = ServerSettings(
            host=reader.text("HOST", "0.0.0.0"),  # noqa: S104
            port=reader.integer("PORT", CONTAINER_PORT, minimum=1, maximum=65535),
            environment=reader.text("ENVIRONMENT", "production"),
            log_level=reader.choice("LOG_LEVEL", LOG_LEVELS, "info"),
            workers=_workers(reader),
            keep_alive_seconds=reader.integer(
                "KEEP_ALIVE_SECONDS", KEEP_ALIVE_SECONDS, minimum=1, maximum=4000
            ),
            drain_timeout_seconds=reader.integer(
                "DRAIN_TIMEOUT_SECONDS", DRAIN_TIMEOUT_SECONDS, minimum=0, maximum=3600
            ),
            max_in_flight=reader.integer("MAX_IN_FLIGHT", 100, minimum=1, maximum=10_000),
        )
        provider = _provider_settings(reader)
        access = AccessSettings(
            api_keys=_api_keys(reader),
            open_access_tier=reader.choice("OPEN_ACCESS_TIER", TIER_NAMES, "standard"),
        )
        analysis = AnalysisSettings(
            max_input_chars=reader.integer(
                "MAX_INPUT_CHARS", 100_000, minimum=1, maximum=10_000_000
            ),
            default_filter_threshold=reader.number(
                "DEFAULT_FILTER_THRESHOLD", 0.35, minimum=0.0, maximum=1.0
            ),
            comprehensive_trials=reader.integer("COMPREHENSIVE_TRIALS", 60, minimum=1, maximum=200),
        )
        metering = _metering_options(reader, region=provider.aws_region)
        if reader.problems:
            raise ConfigurationError(reader.problems)
        return cls(
            server=server, provider=provider, access=access, analysis=analysis, metering=metering
        )


def _workers(reader: _EnvReader) -> int:
    workers = reader._parsed("WORKERS", 1, int, "an integer")  # one message, not a range error too
    if workers != 1:
        reader.problems.append(
            f"WORKERS={workers}: the service runs one worker per container (drain, metering and "
            "the in-flight cap are per process); scale the number of tasks or pods instead"
        )
    return workers


def _metering_options(reader: _EnvReader, *, region: str | None) -> MeteringOptions:
    mode = reader.choice("METERING", METERING_MODES, "off")
    product_code = reader.optional("MARKETPLACE_PRODUCT_CODE") or ""
    if mode != "off" and not product_code:
        reader.problems.append(
            f"METERING={mode} needs MARKETPLACE_PRODUCT_CODE (the listing's product code)"
        )
    if mode != "off" and region is None:
        reader.problems.append(
            f"METERING={mode} needs AWS_REGION (metering calls go to the task's region)"
        )
    unit = reader.choice("METERING_UNIT", METERING_UNITS, "requests")
    return MeteringOptions(
        mode=mode,
        product_code=product_code,
        public_key_version=reader.integer(
            "MARKETPLACE_PUBLIC_KEY_VERSION", 1, minimum=1, maximum=1_000_000
        ),
        unit=unit,
        dimension=reader.text("METERING_DIMENSION", unit),
    )


def _provider_settings(reader: _EnvReader) -> ProviderSettings:
    known_problems = len(reader.problems)
    mode = reader.choice("INFERENCE_PROVIDER_MODE", PROVIDER_MODES, "managed")
    mode_is_valid = len(reader.problems) == known_problems  # else its own problem says it all
    allow_plaintext = reader.boolean("ALLOW_PLAINTEXT_PROVIDER", False)
    embedding_model = reader.text("EMBEDDING_MODEL", "text-embedding-3-small")
    credentials: ProviderCredentials | None = None
    secret_arn = reader.optional("BYOP_SECRET_ARN")
    managed_key_secret_arn = reader.optional("MANAGED_API_KEY_SECRET_ARN")
    if mode_is_valid and mode == "managed":
        url = reader.required(
            "MANAGED_API_URL", "the one-api gateway URL, e.g. http://one-api:8080"
        )
        managed_key = reader.optional("MANAGED_API_KEY")
        if managed_key and managed_key_secret_arn:
            reader.problems.append(
                "MANAGED_API_KEY and MANAGED_API_KEY_SECRET_ARN are both set: "
                "give one gateway token"
            )
        if url:
            credentials = ProviderCredentials(
                kind="openai",
                base_url=url,
                api_key=managed_key or "",
                model=reader.text("MANAGED_MODEL", "gpt-4o-mini"),
                embeddings_url=reader.optional("EMBEDDINGS_URL"),
                embeddings_api_key=reader.optional("EMBEDDINGS_API_KEY"),
                embedding_model=embedding_model,
            )
    elif mode_is_valid and secret_arn is None:
        credentials = _static_byop_credentials(reader, embedding_model, allow_plaintext)
    return ProviderSettings(
        mode=mode,
        credentials=credentials,
        managed_api_key_secret_arn=managed_key_secret_arn if mode == "managed" else None,
        byop_secret_arn=secret_arn,
        aws_region=reader.optional("AWS_REGION"),
        embedding_model=embedding_model,
        embedding_dimensions=reader.integer("EMBEDDING_DIMENSIONS", 768, minimum=0, maximum=8192)
        or None,
        connect_timeout_seconds=reader.number(
            "PROVIDER_CONNECT_TIMEOUT_SECONDS", 5.0, minimum=0.1, maximum=120.0
        ),
        read_timeout_seconds=reader.number(
            "PROVIDER_READ_TIMEOUT_SECONDS", 60.0, minimum=0.1, maximum=1200.0
        ),
        max_attempts=reader.integer("PROVIDER_MAX_ATTEMPTS", 3, minimum=1, maximum=10),
        max_retry_after_seconds=reader.number(
            "PROVIDER_MAX_RETRY_AFTER_SECONDS", 10.0, minimum=0.0, maximum=600.0
        ),
        max_connections=reader.integer("PROVIDER_MAX_CONNECTIONS", 256, minimum=1, maximum=10_000),
        max_output_tokens=reader.integer(
            "PROVIDER_MAX_OUTPUT_TOKENS", 4096, minimum=16, maximum=1_000_000
        ),
        secret_refresh_seconds=reader.number(
            "SECRET_REFRESH_SECONDS", 300.0, minimum=0.1, maximum=86_400.0
        ),
        allow_plaintext=allow_plaintext,
    )


def _static_byop_credentials(
    reader: _EnvReader, embedding_model: str, allow_plaintext: bool
) -> ProviderCredentials | None:
    """BYOP from ``UPSTREAM_*`` (CloudFormation/Helm names) or ``BYOP_*`` (Terraform names)."""
    url = reader.aliased("PROVIDER_URL")
    api_key = reader.aliased("API_KEY")
    model = reader.aliased("MODEL_NAME")
    missing = [
        name
        for name, value in (("PROVIDER_URL", url), ("API_KEY", api_key), ("MODEL_NAME", model))
        if not value
    ]
    if missing:
        reader.problems.append(
            "INFERENCE_PROVIDER_MODE=byop needs BYOP_SECRET_ARN, or UPSTREAM_PROVIDER_URL, "
            "UPSTREAM_API_KEY and UPSTREAM_MODEL_NAME (missing: "
            + ", ".join(f"UPSTREAM_{name}" for name in missing)
            + ")"
        )
        return None
    assert url is not None
    assert api_key is not None
    assert model is not None
    embeddings_url = reader.aliased("EMBEDDINGS_URL")
    for name, value in (
        ("UPSTREAM_PROVIDER_URL", url),
        ("UPSTREAM_EMBEDDINGS_URL", embeddings_url),
    ):
        problem = value and provider_url_problem(value, allow_plaintext=allow_plaintext)
        if problem:
            reader.problems.append(f"{name}: {problem}")
    kind_text = reader.aliased("PROVIDER_KIND")
    kind: ProviderKind = guess_provider_kind(url)
    if kind_text is not None:
        if kind_text not in PROVIDER_KINDS:
            reader.problems.append(
                f"UPSTREAM_PROVIDER_KIND={kind_text!r} is not one of {', '.join(PROVIDER_KINDS)}"
            )
        else:
            kind = kind_text
    if kind == "anthropic" and not embeddings_url:
        reader.problems.append(
            "an anthropic provider has no embeddings API: set UPSTREAM_EMBEDDINGS_URL "
            "(an OpenAI-compatible /v1 base URL) and UPSTREAM_EMBEDDINGS_API_KEY"
        )
    return ProviderCredentials(
        kind=kind,
        base_url=url,
        api_key=api_key,
        model=model,
        embeddings_url=embeddings_url,
        embeddings_api_key=reader.aliased("EMBEDDINGS_API_KEY"),
        embedding_model=embedding_model,
    )


def _api_keys(reader: _EnvReader) -> dict[str, TierName]:
    raw = reader.optional("API_KEYS")
    if raw is None:
        return {}
    example = 'e.g. API_KEYS=\'{"key-one": "standard", "key-two": "northstar"}\''
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        reader.problems.append(
            f"API_KEYS is not valid JSON: give an object of key to tier, {example}"
        )
        return {}
    if not isinstance(parsed, dict) or not parsed:
        reader.problems.append(
            f"API_KEYS must be a non-empty JSON object of key to tier, {example}"
        )
        return {}
    keys: dict[str, TierName] = {}
    for position, (key, tier) in enumerate(parsed.items(), start=1):
        # Never echo a key: refer to it by position.
        if not key.strip():
            reader.problems.append(f"API_KEYS entry {position} has an empty key")
        elif tier not in TIER_NAMES:
            reader.problems.append(
                f"API_KEYS entry {position} has tier {tier!r}: use one of {', '.join(TIER_NAMES)}"
            )
        else:
            keys[key] = tier
    return keys


class _EnvReader:
    """Typed reads of environment variables that record problems instead of raising."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.problems: list[str] = []

    def optional(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def aliased(self, suffix: str) -> str | None:
        """``UPSTREAM_<suffix>``, else ``BYOP_<suffix>``: the templates use both spellings."""
        return self.optional(f"UPSTREAM_{suffix}") or self.optional(f"BYOP_{suffix}")

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def required(self, name: str, what: str) -> str | None:
        value = self.optional(name)
        if value is None:
            self.problems.append(f"{name} is not set: give {what}")
        return value

    def _parsed(self, name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not {expected}")
            return default

    def integer(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        value = self._parsed(name, default, int, "an integer")
        if not minimum <= value <= maximum:
            self.problems.append(f"{name}={value} is out of range: use {minimum} to {maximum}")
        return value

    def number(self, name: str, default: float, *, minimum: float, maximum: float) -> float:
        value = self._parsed(name, default, float, "a number")
        if not minimum <= value <= maximum:
            self.problems.append(f"{name}={value} is out of range: use {minimum} to {maximum}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        def parse(raw: str) -> bool:
            lowered = raw.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)

        return self._parsed(name, default, parse, "a boolean (true or false)")

    def choice(self, name: str, choices: tuple[T, ...], default: T) -> T:
        raw = self.optional(name)
        if raw is None:
            return default
        lowered = raw.lower()
        for choice in choices:
            if choice == lowered:
                return choice
        self.problems.append(f"{name}={raw!r} is not one of {', '.join(map(str, choices))}")
        return default
