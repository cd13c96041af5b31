"""Process-wide resources, opened and closed with the app: the one HTTP client to the provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from service.providers.client import InferenceClient
from service.providers.credentials import CredentialsSource, StaticCredentials
from service.providers.http import RetryPolicy, UpstreamClient, open_session
from service.readiness import PROVIDER_CLIENT_OPEN, Readiness
from service.settings import ConfigurationError, Settings


def credentials_source(settings: Settings) -> CredentialsSource:
    """Where provider calls get their credentials: static (managed, UPSTREAM_*) or the BYOP secret."""
    if settings.provider.credentials is not None:
        return StaticCredentials(settings.provider.credentials)
    raise ConfigurationError(["BYOP_SECRET_ARN is set but this build cannot read Secrets Manager yet"])


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
        upstream = UpstreamClient(session, RetryPolicy(
            max_attempts=provider_settings.max_attempts,
            max_retry_after_seconds=provider_settings.max_retry_after_seconds,
        ))
        app.state.provider = InferenceClient(
            upstream, app.state.credentials, embedding_dimensions=provider_settings.embedding_dimensions
        )
        readiness.met(PROVIDER_CLIENT_OPEN)
        yield
    finally:
        readiness.clear(PROVIDER_CLIENT_OPEN)
        await session.close()
