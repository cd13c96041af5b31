"""One analysis: segments analysed concurrently, each with two chat calls and one embeddings call.

Per compressed segment: (1) category, elements and details from one structured chat call;
(2) a reconstruction from a second call that sees only the hyperstring; (3) one batched
embeddings call for the original, the reconstruction and (with filters) the category. Filter
labels are embedded once per request. Comprehensive mode makes (1) and (2) once per trial and
embeds the original with every reconstruction in the one call (see :mod:`trials`); with a
trial cache, only the trials it does not hold are compressed. Numbers are computed here, never
taken from the model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from service.analysis.filters import NO_FILTERS, FilterOutcome, PurposeFilter, apply_filters, cosine
from service.analysis.hyperstring import (
    clean_fragment,
    compressed_text,
    hyperstring,
    suggested_text,
    suggested_uses_hyperstring,
)
from service.analysis.model import ask
from service.analysis.prompts import (
    analysis_request,
    parse_analysis,
    parse_reconstruction,
    reconstruction_request,
)
from service.analysis.segmentation import Segment, split_segments
from service.analysis.tokens import count_tokens
from service.analysis.trials import (
    Draft,
    Trial,
    TrialCache,
    TrialKey,
    consensus_trial,
    trial_temperatures,
)
from service.analysis.zones import Zone, plan_segment
from service.providers.base import Provider

T = TypeVar("T")

TRIALS_IN_FLIGHT = 8
"""Trials of one paragraph run at once (the tier bounds paragraphs; this keeps one
comprehensive paragraph from taking the whole provider connection pool)."""


@dataclass(frozen=True, kw_only=True)
class AnalysisOptions:
    """The effective options, after tier limits were applied."""

    min_compression_ratio: float = 1.0
    min_semantic_similarity: float = 0.0
    force_single_segment: bool = False
    detail_count: int | None = None
    """Forced k (already valid for the tier), or None for automatic."""
    include_embeddings: bool = False
    filters: tuple[PurposeFilter, ...] = ()
    trials: int = 1
    """Compressions per paragraph: 1 in partial mode, more in comprehensive mode."""
    max_concurrency: int = 6
    """Segments analysed at once (the tier's concurrent paragraphs)."""


@dataclass(frozen=True, kw_only=True)
class SegmentResult:
    segment: Segment
    zone: Zone
    semantic_category: str
    elements: tuple[str, ...]
    details: tuple[str, ...]
    reconstruction: str | None
    semantic_similarity: float
    tokens_in: int
    tokens_out: int
    compressed: str
    """The hyperstring, or the original text when not compressed."""
    use_compressed: bool
    filters: FilterOutcome
    original_embedding: list[float] | None
    reconstruction_embedding: list[float] | None
    trials: tuple[Trial, ...]
    """Every trial of comprehensive mode; empty in partial mode."""
    reconstruction_vector_size: int | None
    """Dimensions of the embeddings compared; None for a segment that was not compressed."""
    seconds: float

    @property
    def was_compressed(self) -> bool:
        return self.zone is Zone.FULL

    @property
    def compression_ratio(self) -> float:
        return self.tokens_out / self.tokens_in if self.was_compressed else 1.0

    @property
    def original(self) -> str:
        return self.segment.text

    @property
    def excluded(self) -> bool:
        return self.filters.exclusion is not None


@dataclass(frozen=True, kw_only=True)
class Analysis:
    segments: list[SegmentResult]
    tokens_in: int
    """Tokens of the whole text as sent."""
    tokens_out: int
    """Tokens of every segment's hyperstring (or original, when not compressed)."""
    compressed: str
    suggested: str
    seconds: float
    max_concurrent_tasks: int

    @property
    def embedding_dimensions(self) -> int | None:
        """The size of the embeddings the provider returned; None when nothing was embedded."""
        for segment in self.segments:
            if segment.reconstruction_vector_size is not None:
                return segment.reconstruction_vector_size
        return None


class EmptyTextError(ValueError):
    """The text holds nothing to analyse."""


EMPTY_TEXT_DETAIL = "essay_text holds no text: send the text to analyse"


async def analyze(
    essay_text: str,
    options: AnalysisOptions,
    provider: Provider,
    *,
    on_segment_done: Callable[[int, int], None] | None = None,
    trial_cache: TrialCache | None = None,
) -> Analysis:
    """Analyse the text; provider faults propagate as :class:`ProviderError` subclasses.
    ``on_segment_done(done, total)`` is called as each segment finishes (async job progress);
    ``trial_cache`` keeps comprehensive mode's trials across requests."""
    started = time.perf_counter()
    segments = split_segments(essay_text, force_single_segment=options.force_single_segment)
    if not segments:
        raise EmptyTextError(EMPTY_TEXT_DETAIL)
    tracker = _ConcurrencyTracker(options.max_concurrency, len(segments), on_segment_done)
    try:
        async with asyncio.TaskGroup() as group:
            labels = group.create_task(_label_vectors(provider, options.filters))
            tasks = [
                group.create_task(
                    tracker.run(
                        partial(_analyze_segment, segment, options, provider, labels, trial_cache)
                    )
                )
                for segment in segments
            ]
    except ExceptionGroup as failures:
        # One failure cancels the rest; the caller gets that one, not a group.
        raise failures.exceptions[0] from None
    results = [task.result() for task in tasks]
    whole_text_is_one_segment = len(segments) == 1 and segments[0].raw == essay_text
    return Analysis(
        segments=results,
        tokens_in=results[0].tokens_in if whole_text_is_one_segment else count_tokens(essay_text),
        tokens_out=sum(result.tokens_out for result in results),
        compressed=compressed_text(results),
        suggested=suggested_text(results),
        seconds=time.perf_counter() - started,
        max_concurrent_tasks=tracker.peak,
    )


async def _label_vectors(
    provider: Provider, filters: Sequence[PurposeFilter]
) -> dict[str, list[float]]:
    labels = list(dict.fromkeys(f.label for f in filters))
    if not labels:
        return {}
    return dict(zip(labels, await provider.embed(labels), strict=True))


async def _analyze_segment(
    segment: Segment,
    options: AnalysisOptions,
    provider: Provider,
    labels: asyncio.Task[dict[str, list[float]]],
    trial_cache: TrialCache | None,
) -> SegmentResult:
    started = time.perf_counter()
    tokens_in = count_tokens(segment.raw)
    plan = plan_segment(segment.text, tokens=tokens_in, forced_detail_count=options.detail_count)
    k = plan.detail_count
    if plan.zone is not Zone.FULL:
        output = await ask(
            provider,
            analysis_request(segment.text, 0),
            partial(parse_analysis, detail_count=0),
            what="analysis",
        )
        category = clean_fragment(output.semantic_category)
        filters = NO_FILTERS
        if options.filters:
            (category_vector,) = await provider.embed([category])
            filters = apply_filters(category_vector, await labels, options.filters)
        return SegmentResult(
            segment=segment,
            zone=plan.zone,
            semantic_category=category,
            elements=(),
            details=(),
            reconstruction=None,
            semantic_similarity=1.0,
            tokens_in=tokens_in,
            tokens_out=tokens_in,
            compressed=segment.text,
            use_compressed=False,
            filters=filters,
            original_embedding=None,
            reconstruction_embedding=None,
            trials=(),
            reconstruction_vector_size=None,
            seconds=time.perf_counter() - started,
        )
    drafts = await _drafts(segment, k, options.trials, provider, trial_cache)
    texts = [segment.text] + [d.reconstruction for d in drafts]
    categories = list(dict.fromkeys(d.semantic_category for d in drafts)) if options.filters else []
    vectors = await provider.embed(texts + categories)
    original_vector = vectors[0]
    trials = [
        Trial(draft=draft, similarity=cosine(original_vector, vector), reconstruction_vector=vector)
        for draft, vector in zip(drafts, vectors[1 : len(texts)], strict=True)
    ]
    chosen = consensus_trial(trials)
    draft = chosen.draft
    filters = NO_FILTERS
    if options.filters:
        category_vector = vectors[len(texts) + categories.index(draft.semantic_category)]
        filters = apply_filters(category_vector, await labels, options.filters)
    ratio = draft.tokens_out / tokens_in
    return SegmentResult(
        segment=segment,
        zone=plan.zone,
        semantic_category=draft.semantic_category,
        elements=draft.elements,
        details=draft.details,
        reconstruction=draft.reconstruction,
        semantic_similarity=chosen.similarity,
        tokens_in=tokens_in,
        tokens_out=draft.tokens_out,
        compressed=draft.hyperstring,
        use_compressed=suggested_uses_hyperstring(
            was_compressed=True,
            compression_ratio=ratio,
            semantic_similarity=chosen.similarity,
            min_compression_ratio=options.min_compression_ratio,
            min_semantic_similarity=options.min_semantic_similarity,
        ),
        filters=filters,
        original_embedding=original_vector if options.include_embeddings else None,
        reconstruction_embedding=chosen.reconstruction_vector
        if options.include_embeddings
        else None,
        trials=tuple(trials) if options.trials > 1 else (),
        reconstruction_vector_size=len(original_vector),
        seconds=time.perf_counter() - started,
    )


async def _drafts(
    segment: Segment, k: int, trials: int, provider: Provider, cache: TrialCache | None
) -> list[Draft]:
    """The paragraph's compressions, one per trial; comprehensive mode's from ``cache`` where it
    holds them (partial mode's single draft is cached with its whole analysis instead)."""
    if trials == 1:
        cache = None
    keys = [
        TrialKey(text=segment.text, detail_count=k, number=number, temperature=temperature)
        for number, temperature in enumerate(trial_temperatures(trials))
    ]
    cached = await cache.recall(keys) if cache is not None else {}
    missing = [key for key in keys if key not in cached]
    fresh = await _all_of(
        [partial(_draft, segment, k, provider, temperature=key.temperature) for key in missing],
        limit=TRIALS_IN_FLIGHT,
    )
    computed = dict(zip(missing, fresh, strict=True))
    if cache is not None and computed:
        await cache.keep(computed)
    found = cached | computed
    return [found[key] for key in keys]


async def _draft(segment: Segment, k: int, provider: Provider, *, temperature: float) -> Draft:
    """One compression: category, elements and details, the hyperstring and its reconstruction."""
    output = await ask(
        provider,
        analysis_request(segment.text, k, temperature=temperature),
        partial(parse_analysis, detail_count=k),
        what="analysis",
    )
    category = clean_fragment(output.semantic_category)
    details = tuple(clean_fragment(d) for d in output.details)
    compressed = hyperstring(category, details)
    reconstruction = await ask(
        provider, reconstruction_request(compressed, k), parse_reconstruction, what="reconstruction"
    )
    return Draft(
        semantic_category=category,
        elements=tuple(clean_fragment(e) for e in output.elements),
        details=details,
        hyperstring=compressed,
        tokens_out=count_tokens(compressed),
        reconstruction=reconstruction,
    )


async def _all_of(works: Sequence[Callable[[], Awaitable[T]]], *, limit: int) -> list[T]:
    """Every result, at most ``limit`` at once; the first failure cancels the rest and is raised."""
    semaphore = asyncio.Semaphore(limit)

    async def bounded(work: Callable[[], Awaitable[T]]) -> T:
        async with semaphore:
            return await work()

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(bounded(work)) for work in works]
    except ExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]


class _ConcurrencyTracker:
    """Bounds segments in flight, records the peak (reported as max_concurrent_tasks) and
    reports each finished segment."""

    def __init__(self, limit: int, total: int, on_done: Callable[[int, int], None] | None) -> None:
        self._semaphore = asyncio.Semaphore(limit)
        self._active = 0
        self._done = 0
        self._total = total
        self._on_done = on_done
        self.peak = 0

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        async with self._semaphore:
            self._active += 1
            self.peak = max(self.peak, self._active)
            try:
                result = await work()
            finally:
                self._active -= 1
        self._done += 1
        if self._on_done is not None:
            self._on_done(self._done, self._total)
        return result
