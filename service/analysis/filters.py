"""Similarity arithmetic and purpose filters (hypernym-api.md §2.6, §2.8)."""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity clipped to [0, 1] (the API's similarities are 0-1); 0 for a zero vector."""
    if len(a) != len(b):
        raise ValueError(f"cannot compare embeddings of {len(a)} and {len(b)} dimensions")
    dot = sum(map(operator.mul, a, b))
    norm = math.sqrt(sum(map(operator.mul, a, a))) * math.sqrt(sum(map(operator.mul, b, b)))
    if norm == 0.0:
        return 0.0
    return min(1.0, max(0.0, float(dot) / norm))


@dataclass(frozen=True, kw_only=True)
class PurposeFilter:
    label: str
    threshold: float


@dataclass(frozen=True, kw_only=True)
class Exclusion:
    filter_category: str
    similarity: float
    threshold: float


@dataclass(frozen=True, kw_only=True)
class FilterOutcome:
    category_similarities: dict[str, float]
    exclusion: Exclusion | None


NO_FILTERS = FilterOutcome(category_similarities={}, exclusion=None)


def apply_filters(
    category_vector: Sequence[float],
    label_vectors: Mapping[str, Sequence[float]],
    filters: Sequence[PurposeFilter],
) -> FilterOutcome:
    """Score each label against the segment's category; exclude on the best-scoring label whose
    score reaches its threshold."""
    scores = {f.label: cosine(category_vector, label_vectors[f.label]) for f in filters}
    hits = [
        Exclusion(filter_category=f.label, similarity=scores[f.label], threshold=f.threshold)
        for f in filters
        if scores[f.label] >= f.threshold
    ]
    exclusion = max(hits, key=lambda hit: hit.similarity) if hits else None
    return FilterOutcome(category_similarities=scores, exclusion=exclusion)
