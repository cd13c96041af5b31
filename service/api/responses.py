"""Domain results to the wire format: the Hypernym envelope around one :class:`Analysis`."""

from __future__ import annotations

from datetime import UTC, datetime

from msgspec import UNSET, UnsetType

from service.analysis.pipeline import Analysis, AnalysisOptions, SegmentResult
from service.analysis.trials import Trial
from service.api.schemas import (
    AnalyzeResponse,
    Detail,
    Embedding,
    EmbeddingMeta,
    ExclusionReason,
    Metadata,
    ParallelMetrics,
    Recomposition,
    RequestEcho,
    ResponseBody,
    ResponseMeta,
    Results,
    SegmentOut,
    Text,
    Texts,
    Tokens,
    TrialOut,
)

API_VERSION = "0.2.0"
"""The public API version whose contract this service implements (metadata.version)."""


def analysis_response(
    *,
    analysis: Analysis,
    options: AnalysisOptions,
    echo: RequestEcho,
    request_id: str,
    log_id: str,
    processing_time: float,
    embedding_model: str,
    embedding_dimensions: int | None,
    cache_hit: bool = False,
) -> AnalyzeResponse:
    segments = analysis.segments
    segment_seconds = sum(s.seconds for s in segments)
    peak = max(1, analysis.max_concurrent_tasks)
    comprehensive = options.trials > 1
    metadata = Metadata(
        analysis_mode="comprehensive" if comprehensive else UNSET,
        # Reported on a hit, and always in comprehensive mode (the field Hypernym sends there).
        cache_hit=True if cache_hit else (False if comprehensive else UNSET),
        version=API_VERSION,
        timestamp=datetime.now(UTC).replace(tzinfo=None).isoformat(),
        tokens=Tokens(
            in_=analysis.tokens_in,
            out=analysis.tokens_out,
            total=analysis.tokens_in + analysis.tokens_out,
        ),
        filters_applied=bool(options.filters),
        excluded_segments_count=sum(s.excluded for s in segments),
        processing_time=f"{analysis.seconds:.2f}s",
        parallel_processing=True,
        parallel_metrics=ParallelMetrics(
            avg_paragraph_time=segment_seconds / len(segments),
            max_concurrent_tasks=analysis.max_concurrent_tasks,
            parallel_efficiency=min(1.0, segment_seconds / (max(analysis.seconds, 1e-9) * peak)),
            total_paragraphs=len(segments),
        ),
    )
    body = ResponseBody(
        meta=ResponseMeta(
            embedding=EmbeddingMeta(
                # The size the provider returned; when nothing was embedded, the requested one
                # (0: none requested, the model's native size).
                dimensions=analysis.embedding_dimensions or embedding_dimensions or 0,
                version=embedding_model,
            )
        ),
        texts=Texts(compressed=analysis.compressed, suggested=analysis.suggested),
        segments=[_segment(s, options, comprehensive=comprehensive) for s in segments],
    )
    return AnalyzeResponse(
        status="success",
        tier=echo.params.tier,
        request_id=request_id,
        log_id=log_id,
        processing_time=processing_time,
        results=Results(metadata=metadata, request=echo, response=body),
    )


def _segment(result: SegmentResult, options: AnalysisOptions, *, comprehensive: bool) -> SegmentOut:
    exclusion = result.filters.exclusion
    return SegmentOut(
        was_compressed=result.was_compressed,
        has_semantic_category=bool(result.semantic_category),
        semantic_category=result.semantic_category,
        covariant_elements=[
            {str(i): element} for i, element in enumerate(result.elements, start=1)
        ],
        covariant_details=[Detail(n=n, text=detail) for n, detail in enumerate(result.details)],
        original=Text(text=result.original, embedding=_embedding(result.original_embedding)),
        reconstructed=None
        if result.reconstruction is None
        else Text(
            text=result.reconstruction, embedding=_embedding(result.reconstruction_embedding)
        ),
        semantic_similarity=result.semantic_similarity,
        compression_ratio=result.compression_ratio,
        min_compression_ratio=options.min_compression_ratio,
        min_semantic_similarity=options.min_semantic_similarity,
        category_similarities=result.filters.category_similarities,
        excluded_by_filter=exclusion is not None,
        exclusion_reason=None
        if exclusion is None
        else ExclusionReason(
            filter_category=exclusion.filter_category,
            similarity=exclusion.similarity,
            threshold=exclusion.threshold,
        ),
        trials=[_trial(trial, result.tokens_in) for trial in result.trials]
        if comprehensive
        else UNSET,
    )


def _trial(trial: Trial, tokens_in: int) -> TrialOut:
    draft = trial.draft
    return TrialOut(
        semantic_category=draft.semantic_category,
        covariant_details=[Detail(n=n, text=detail) for n, detail in enumerate(draft.details)],
        hyperstring=draft.hyperstring,
        compression_ratio=draft.tokens_out / tokens_in,
        recomposition_results=[
            Recomposition(text=draft.reconstruction, similarity=trial.similarity)
        ],
        avg_similarity=trial.similarity,
    )


def _embedding(vector: list[float] | None) -> Embedding | UnsetType:
    return UNSET if vector is None else Embedding(dimensions=len(vector), values=vector)
