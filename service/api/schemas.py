"""The wire format of /analyze_sync (hypernym-api.md §1.3), as msgspec Structs.

Unknown request fields are accepted and ignored (old clients send ``message_history``).
Fields typed ``X | UnsetType`` are echoed only when the client sent them, as Hypernym does.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

UnitInterval = Annotated[float, Meta(ge=0.0, le=1.0)]
AnalysisMode = Literal["partial", "comprehensive"]

FIELD_HINTS = {"params.analysis_mode": "use 'partial' or 'comprehensive'"}
"""How to fix a field whose validation message alone does not say (enumerations)."""


class AnalyzeParams(msgspec.Struct, kw_only=True):
    min_compression_ratio: UnitInterval = 1.0
    """The largest ratio at which a segment's hyperstring is used in texts.suggested."""
    min_semantic_similarity: UnitInterval = 0.0
    """The smallest similarity at which a segment's hyperstring is used in texts.suggested."""
    force_single_segment: bool = False
    force_detail_count: int | None = None
    """basic/standard: 3-9, northstar: any positive count; anything else falls back to automatic."""
    analysis_mode: AnalysisMode | UnsetType = UNSET
    timeout: Annotated[int, Meta(ge=1, le=1200)] | UnsetType = UNSET
    """Seconds; northstar only (other tiers have a fixed 60 s)."""
    include_embeddings: bool = False
    """northstar only: return the original and reconstruction vectors."""


class PurposeExclude(msgspec.Struct, kw_only=True, omit_defaults=True):
    semantic_category: Annotated[str, Meta(min_length=1, max_length=200)]
    min_semantic_similarity: UnitInterval | UnsetType = UNSET
    """Default: the service's DEFAULT_FILTER_THRESHOLD (0.35)."""


class Purpose(msgspec.Struct, kw_only=True):
    exclude: Annotated[list[PurposeExclude], Meta(max_length=64)] = msgspec.field(
        default_factory=list
    )


class Filters(msgspec.Struct, kw_only=True, omit_defaults=True):
    purpose: Purpose | UnsetType = UNSET


class AnalyzeRequest(msgspec.Struct, kw_only=True):
    essay_text: str
    params: AnalyzeParams | None = None
    filters: Filters | None = None


class EchoParams(msgspec.Struct, kw_only=True):
    analysis_mode: AnalysisMode | UnsetType = UNSET
    force_detail_count: int | None
    force_single_segment: bool
    hashed_api_key: str | None
    include_embeddings: bool
    min_compression_ratio: float
    min_semantic_similarity: float
    request_id: str
    tier: str
    timeout: int | UnsetType = UNSET


class RequestEcho(msgspec.Struct, kw_only=True):
    content: str
    filters: Filters
    params: EchoParams


class Tokens(msgspec.Struct, kw_only=True):
    in_: int = msgspec.field(name="in")
    out: int
    total: int


class ParallelMetrics(msgspec.Struct, kw_only=True):
    avg_paragraph_time: float
    max_concurrent_tasks: int
    parallel_efficiency: float
    """Segment time over wall time times peak concurrency: 1.0 = perfectly parallel."""
    total_paragraphs: int


class Metadata(msgspec.Struct, kw_only=True):
    analysis_mode: AnalysisMode | UnsetType = UNSET
    """Only in comprehensive mode, with ``cache_hit``."""
    cache_hit: bool | UnsetType = UNSET
    """True when the result came from the shared result cache; present on every hit, and in
    comprehensive mode."""
    version: str
    timestamp: str
    tokens: Tokens
    filters_applied: bool
    excluded_segments_count: int
    processing_time: str
    parallel_processing: bool
    parallel_metrics: ParallelMetrics


class Embedding(msgspec.Struct, kw_only=True):
    dimensions: int
    values: list[float]


class Text(msgspec.Struct, kw_only=True):
    text: str
    embedding: Embedding | UnsetType = UNSET


class Detail(msgspec.Struct, kw_only=True):
    n: int
    text: str


class ExclusionReason(msgspec.Struct, kw_only=True):
    filter_category: str
    similarity: float
    threshold: float


class Recomposition(msgspec.Struct, kw_only=True):
    text: str
    similarity: float


class TrialOut(msgspec.Struct, kw_only=True):
    semantic_category: str
    covariant_details: list[Detail]
    hyperstring: str
    compression_ratio: float
    recomposition_results: list[Recomposition]
    avg_similarity: float


class SegmentOut(msgspec.Struct, kw_only=True):
    was_compressed: bool
    has_semantic_category: bool
    semantic_category: str
    covariant_elements: list[dict[str, str]]
    covariant_details: list[Detail]
    original: Text
    reconstructed: Text | None
    semantic_similarity: float
    compression_ratio: float
    min_compression_ratio: float
    min_semantic_similarity: float
    category_similarities: dict[str, float]
    excluded_by_filter: bool
    exclusion_reason: ExclusionReason | None
    trials: list[TrialOut] | UnsetType = UNSET
    """Comprehensive mode only: every trial; the segment's fields are the consensus trial's."""


class EmbeddingMeta(msgspec.Struct, kw_only=True):
    dimensions: int
    version: str


class ResponseMeta(msgspec.Struct, kw_only=True):
    embedding: EmbeddingMeta


class Texts(msgspec.Struct, kw_only=True):
    compressed: str
    suggested: str


class ResponseBody(msgspec.Struct, kw_only=True):
    meta: ResponseMeta
    texts: Texts
    segments: list[SegmentOut]


class Results(msgspec.Struct, kw_only=True):
    metadata: Metadata
    request: RequestEcho
    response: ResponseBody


class AnalyzeResponse(msgspec.Struct, kw_only=True):
    status: Literal["success"]
    tier: str
    request_id: str
    log_id: str
    processing_time: float
    """Seconds, the whole request."""
    results: Results


class ForceDetailRange(msgspec.Struct, kw_only=True):
    min: int
    max: int | None


class Recommended(msgspec.Struct, kw_only=True):
    max_workers: int


class RateLimits(msgspec.Struct, kw_only=True):
    tier: str
    requests_per_hour: int
    concurrent_paragraphs: int
    priority: int
    retry_delay_seconds: int
    default_timeout_seconds: int
    max_timeout_seconds: int
    analysis_modes: list[str]
    force_detail_count: ForceDetailRange
    embeddings: bool
    recommended: Recommended


class ErrorDetail(msgspec.Struct, kw_only=True):
    detail: str
