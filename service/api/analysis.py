"""The analysis endpoints: thin handlers over :func:`service.analysis.pipeline.analyze`."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, HTTPException
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_408_REQUEST_TIMEOUT

from service.analysis.pipeline import Analysis, EmptyTextError
from service.analysis.tiers import deadline_seconds
from service.api.auth import Caller
from service.api.disconnect import unless_disconnected
from service.api.requests import (
    StrictBodyRequest,
    analysis_options,
    deadline_passed_detail,
    request_echo,
    requested_timeout,
    require_input_size,
)
from service.api.responses import analysis_response
from service.api.schemas import (
    AnalyzeRequest,
    AnalyzeResponse,
    ErrorDetail,
    ForceDetailRange,
    RateLimits,
    Recommended,
)
from service.jobs.cache import Analyzer
from service.logs import request_annotations
from service.metering import Metering
from service.providers.base import Provider
from service.providers.http import shared_retry_after_budget
from service.settings import Settings

ANALYSIS_TAGS = ["analysis"]
ERROR_RESPONSES = {
    code: ResponseSpec(data_container=ErrorDetail, description=description)
    for code, description in {
        400: "The body is empty, not JSON (by content or Content-Type), or breaks the request "
        "schema.",
        401: "API keys are configured and none was sent.",
        403: "The API key is not valid.",
        408: "The tier's deadline (or the request's params.timeout) passed, or the provider "
        "refused the text.",
        413: "essay_text is longer than MAX_INPUT_CHARS, or the body is too large.",
        429: "The provider (or the service) is rate limiting; see Retry-After.",
        502: "The provider failed, cannot embed, or its model answered in the wrong format.",
        503: "The provider is unreachable or too slow, or the API keys are not loaded yet; see "
        "Retry-After.",
    }.items()
}


@post(
    "/analyze_sync",
    operation_id="AnalyzeSync",
    tags=ANALYSIS_TAGS,
    status_code=200,
    responses=ERROR_RESPONSES,
    request_class=StrictBodyRequest,
)
async def analyze_sync(  # noqa: PLR0917 (Litestar injects every parameter by name)
    request: Request[Any, Any, Any],
    data: AnalyzeRequest,
    caller: NamedDependency[Caller],
    settings: NamedDependency[Settings],
    provider: NamedDependency[Provider],
    metering: NamedDependency[Metering],
    analyzer: NamedDependency[Analyzer],
) -> AnalyzeResponse:
    """Analyse a text: per paragraph a semantic category, covariant details, a hyperstring and
    its reconstruction, with token counts, compression ratio, similarity and filters."""
    started = time.perf_counter()
    require_input_size(data, settings.analysis)
    tier = caller.tier
    options = analysis_options(data, tier, settings.analysis)
    deadline = deadline_seconds(tier, requested_timeout(data))
    request_id = request.scope["state"]["request_id"]  # assigned by RequestLogMiddleware

    async def within_deadline() -> tuple[Analysis, bool]:
        async with asyncio.timeout(deadline):
            return await analyzer.run(data.essay_text, options, provider)

    try:
        # One Retry-After budget for all of the analysis's provider calls, not one per call.
        with shared_retry_after_budget(settings.provider.max_retry_after_seconds):
            result, cache_hit = await unless_disconnected(request.receive, within_deadline())
    except EmptyTextError as error:
        raise ClientException(detail=str(error)) from None
    except TimeoutError:
        raise HTTPException(
            status_code=HTTP_408_REQUEST_TIMEOUT,
            detail=deadline_passed_detail(data, tier, deadline),
        ) from None
    metering.record_analysis(len(result.segments))
    request_annotations(request.scope)["paragraphs"] = len(result.segments)
    echo = request_echo(
        data, options, hashed_api_key=caller.hashed_api_key, request_id=request_id, tier=tier.name
    )
    return analysis_response(
        analysis=result,
        options=options,
        echo=echo,
        request_id=request_id,
        log_id=uuid.uuid4().hex,
        processing_time=time.perf_counter() - started,
        embedding_model=settings.provider.embedding_model,
        embedding_dimensions=settings.provider.requested_embedding_dimensions,
        cache_hit=cache_hit,
    )


@get("/user/rate-limits", operation_id="UserRateLimits", tags=ANALYSIS_TAGS, sync_to_thread=False)
def user_rate_limits(caller: NamedDependency[Caller]) -> RateLimits:
    """The caller's tier limits (clients size their worker pools from recommended.max_workers)."""
    tier = caller.tier
    return RateLimits(
        tier=tier.name,
        requests_per_hour=tier.requests_per_hour,
        concurrent_paragraphs=tier.concurrent_paragraphs,
        priority=tier.priority,
        retry_delay_seconds=tier.retry_delay_seconds,
        default_timeout_seconds=tier.default_timeout_seconds,
        max_timeout_seconds=tier.max_timeout_seconds,
        analysis_modes=["partial", "comprehensive"] if tier.comprehensive else ["partial"],
        force_detail_count=ForceDetailRange(min=tier.min_detail_count, max=tier.max_detail_count),
        embeddings=tier.embeddings,
        recommended=Recommended(max_workers=tier.concurrent_paragraphs),
    )


ANALYSIS_HANDLERS = [analyze_sync, user_rate_limits]
