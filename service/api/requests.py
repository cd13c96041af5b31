"""The wire request to the domain: effective options after tier limits, and the request echo."""

from __future__ import annotations

from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE
from msgspec import UNSET

from service.analysis.filters import PurposeFilter
from service.analysis.pipeline import AnalysisOptions
from service.analysis.tiers import Tier, allowed_detail_count
from service.api.schemas import AnalyzeParams, AnalyzeRequest, EchoParams, Filters, RequestEcho
from service.settings import AnalysisSettings


def analysis_options(
    request: AnalyzeRequest, tier: Tier, settings: AnalysisSettings
) -> AnalysisOptions:
    """What the analysis runs with: northstar-only features silently dropped for other tiers
    (§3.4), filter thresholds defaulted, concurrency and trials from the tier."""
    params = request.params or AnalyzeParams()
    filters = request.filters or Filters()
    excludes = filters.purpose.exclude if filters.purpose is not UNSET else []
    comprehensive = params.analysis_mode == "comprehensive" and tier.comprehensive
    return AnalysisOptions(
        min_compression_ratio=params.min_compression_ratio,
        min_semantic_similarity=params.min_semantic_similarity,
        force_single_segment=params.force_single_segment,
        detail_count=allowed_detail_count(params.force_detail_count, tier),
        include_embeddings=params.include_embeddings and tier.embeddings,
        filters=tuple(
            PurposeFilter(
                label=entry.semantic_category.strip(),
                threshold=settings.default_filter_threshold
                if entry.min_semantic_similarity is UNSET
                else entry.min_semantic_similarity,
            )
            for entry in excludes
        ),
        trials=settings.comprehensive_trials if comprehensive else 1,
        max_concurrency=tier.concurrent_paragraphs,
    )


def require_input_size(request: AnalyzeRequest, settings: AnalysisSettings) -> None:
    """413 for an ``essay_text`` over ``MAX_INPUT_CHARS`` (sync and async alike)."""
    limit = settings.max_input_chars
    if len(request.essay_text) > limit:
        raise HTTPException(
            status_code=HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            detail=(
                f"essay_text has {len(request.essay_text)} characters; this service accepts at "
                f"most {limit} (MAX_INPUT_CHARS): split the text into several requests"
            ),
        )


def requested_timeout(request: AnalyzeRequest) -> int | None:
    params = request.params or AnalyzeParams()
    return None if params.timeout is UNSET else params.timeout


def request_echo(
    request: AnalyzeRequest,
    options: AnalysisOptions,
    *,
    hashed_api_key: str | None,
    request_id: str,
    tier: str,
) -> RequestEcho:
    """``results.request``: the text as sent, the filters as sent, the effective params;
    ``analysis_mode`` and ``timeout`` only when the client sent them."""
    params = request.params or AnalyzeParams()
    return RequestEcho(
        content=request.essay_text,
        filters=request.filters or Filters(),
        params=EchoParams(
            analysis_mode=params.analysis_mode,
            force_detail_count=options.detail_count,
            force_single_segment=options.force_single_segment,
            hashed_api_key=hashed_api_key,
            include_embeddings=options.include_embeddings,
            min_compression_ratio=options.min_compression_ratio,
            min_semantic_similarity=options.min_semantic_similarity,
            request_id=request_id,
            tier=tier,
            timeout=params.timeout,
        ),
    )
