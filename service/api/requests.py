"""The wire request to the domain: effective options after tier limits, and the request echo."""

from __future__ import annotations

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
