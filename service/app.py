"""The app factory: settings in, a configured Litestar app out (nothing happens at import)."""

from __future__ import annotations

import os

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from service import __version__
from service.analysis.tokens import tokenizer
from service.api.analysis import ANALYSIS_HANDLERS
from service.api.auth import KeyRing, provide_caller
from service.api.errors import EXCEPTION_HANDLERS
from service.api.jobs import JOB_HANDLERS
from service.api.system import health, ready
from service.contract import HEALTH_PATH, READY_PATH
from service.jobs.cache import Analyzer
from service.jobs.store import JobStore
from service.jobs.worker import async_jobs
from service.lifespan import (
    background_work,
    credentials_source,
    provider_client,
    refreshing_secrets,
)
from service.limits import InFlightLimit, InFlightMiddleware, KeyRateLimit
from service.logs import RequestLogMiddleware
from service.metering import Metering, metering_for
from service.providers.base import Provider
from service.readiness import CONFIG_LOADED, PROVIDER_CLIENT_OPEN, Readiness
from service.settings import Settings


def create_app(settings: Settings | None = None, *, metering: Metering | None = None) -> Litestar:
    """Build the app; ``settings`` default to the environment (raises ConfigurationError),
    ``metering`` to the Marketplace metering the settings describe."""
    settings = settings or Settings.from_env(os.environ)
    tokenizer()  # load the BPE tables now (~0.15 s), not during the first request
    readiness = Readiness()
    readiness.register(CONFIG_LOADED)
    readiness.register(PROVIDER_CLIENT_OPEN)
    readiness.met(CONFIG_LOADED)
    key_ring = KeyRing(settings)
    key_ring.announce()
    credentials = credentials_source(settings)
    key_rate = KeyRateLimit()
    metering = metering or metering_for(settings.metering, region=settings.provider.aws_region)
    jobs = (
        JobStore(settings.jobs, region=settings.provider.aws_region)
        if settings.jobs.enabled
        else None
    )
    analyzer = Analyzer(
        credentials=credentials,
        embedding_model=settings.provider.embedding_model,
        embedding_dimensions=settings.provider.requested_embedding_dimensions,
        store=jobs,
        ttl_seconds=settings.jobs.result_cache_ttl_seconds,
    )
    state = State(
        {
            "settings": settings,
            "readiness": readiness,
            "credentials": credentials,
            "secrets": refreshing_secrets(credentials, key_ring.secret),
            "metering": metering,
            "jobs": jobs,
            "analyzer": analyzer,
        }
    )
    return Litestar(
        route_handlers=[health, ready, *ANALYSIS_HANDLERS, *JOB_HANDLERS],
        state=state,
        lifespan=[provider_client, background_work, async_jobs],
        middleware=[
            DefineMiddleware(RequestLogMiddleware, skip_paths=(HEALTH_PATH, READY_PATH)),
            DefineMiddleware(
                InFlightMiddleware,
                limit=InFlightLimit(settings.server.max_in_flight),
                paths=("/analyze_sync",),
            ),
        ],
        dependencies={
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "readiness": Provide(lambda: readiness, use_cache=True, sync_to_thread=False),
            "provider": Provide(provide_provider, sync_to_thread=False),
            "key_ring": Provide(lambda: key_ring, use_cache=True, sync_to_thread=False),
            "caller": Provide(provide_caller, sync_to_thread=False),
            "key_rate": Provide(lambda: key_rate, use_cache=True, sync_to_thread=False),
            "metering": Provide(lambda: metering, use_cache=True, sync_to_thread=False),
            "analyzer": Provide(lambda: analyzer, use_cache=True, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="Hypernym analysis API",
            version=__version__,
            path="/schema",
            description="Hypernym-compatible semantic compression on your own inference provider.",
            # The schema only: no browser UIs that pull scripts from third-party CDNs.
            render_plugins=[JsonRenderPlugin()],
        ),
        request_max_body_size=settings.analysis.max_body_bytes,
        logging_config=None,  # service.logs configures logging: one JSON handler for everything
        debug=False,
    )


def provide_provider(state: State) -> Provider:
    """The provider client the lifespan opened (503 from /ready until it exists)."""
    provider: Provider = state.provider
    return provider
