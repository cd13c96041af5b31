"""Process-wide resources, opened and closed with the app: the one HTTP client to the provider,
the secret refreshers and Marketplace metering."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar

from service.metering import Metering
from service.provider_secrets import (
    RefreshingSecret,
    SecretsManagerReader,
    parse_byop_secret,
    parse_managed_api_key,
)
from service.providers.client import InferenceClient
from service.providers.credentials import CredentialsSource, ProviderCredentials, StaticCredentials
from service.providers.http import RetryPolicy, UpstreamClient, open_session
from service.readiness import MARKETPLACE_ENTITLED, PROVIDER_CLIENT_OPEN, Readiness
from service.settings import Settings


def credentials_source(settings: Settings) -> CredentialsSource:
    """Where provider calls get their credentials: static (MANAGED_API_KEY, UPSTREAM_*), the
    managed gateway token secret, or the BYOP secret."""
    provider = settings.provider

    def refreshing(
        name: str, secret_arn: str, parse: Callable[[str], ProviderCredentials]
    ) -> RefreshingSecret[ProviderCredentials]:
        return RefreshingSecret[ProviderCredentials](
            name=name,
            read=SecretsManagerReader(secret_arn=secret_arn, region=provider.aws_region),
            parse=parse,
            refresh_seconds=provider.secret_refresh_seconds,
        )

    static = settings.static_credentials()
    if provider.mode == "managed" and provider.managed_api_key_secret_arn is not None:
        assert static is not None  # the gateway: Settings requires MANAGED_API_URL
        return refreshing(
            "managed gateway token",
            provider.managed_api_key_secret_arn,
            functools.partial(parse_managed_api_key, gateway=static),
        )
    if static is not None:
        return StaticCredentials(static)
    assert provider.byop_secret_arn is not None  # Settings guarantees one or the other
    return refreshing(
        "BYOP secret",
        provider.byop_secret_arn,
        functools.partial(
            parse_byop_secret,
            embedding_model=provider.embedding_model,
            allow_plaintext=provider.allow_plaintext,
        ),
    )


def refreshing_secrets(*sources: object) -> list[RefreshingSecret[Any]]:
    """Those of ``sources`` that are secrets kept fresh in the background."""
    return [source for source in sources if isinstance(source, RefreshingSecret)]


@asynccontextmanager
async def background_work(app: Litestar) -> AsyncIterator[None]:
    """Secret refreshes (provider credentials, client API keys) and metering run beside the
    requests; each secret is a readiness condition until first loaded. At shutdown (after the
    drain) metering sends what it counted and the refreshers stop."""
    readiness: Readiness = app.state.readiness
    secrets: list[RefreshingSecret[Any]] = app.state.secrets
    metering: Metering = app.state.metering
    for secret in secrets:
        condition = secret.readiness_condition
        readiness.register(condition)
        secret.start(on_loaded=functools.partial(readiness.met, condition))
    if metering.options.mode != "off":
        readiness.register(MARKETPLACE_ENTITLED)
        metering.start(on_ready=lambda: readiness.met(MARKETPLACE_ENTITLED))
    try:
        yield
    finally:
        await metering.close()
        for secret in secrets:
            await secret.close()


@asynccontextmanager
async def provider_client(app: Litestar) -> AsyncIterator[None]:
    """Open the shared aiohttp session and the provider on it; close them at shutdown."""
    settings: Settings = app.state.settings
    readiness: Readiness = app.state.readiness
    provider_settings = settings.provider
    session = open_session(
        connect_timeout=provider_settings.connect_timeout_seconds,
        read_timeout=provider_settings.read_timeout_seconds,
        max_connections=provider_settings.max_connections,
    )
    try:
        upstream = UpstreamClient(
            session,
            RetryPolicy(
                max_attempts=provider_settings.max_attempts,
                max_retry_after_seconds=provider_settings.max_retry_after_seconds,
            ),
        )
        app.state.provider = InferenceClient(
            upstream,
            app.state.credentials,
            embedding_dimensions=provider_settings.requested_embedding_dimensions,
            max_output_tokens=provider_settings.max_output_tokens,
        )
        readiness.met(PROVIDER_CLIENT_OPEN)
        yield
    finally:
        readiness.clear(PROVIDER_CLIENT_OPEN)
        await session.close()
