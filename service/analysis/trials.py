"""Comprehensive mode: several compressions of one paragraph, and the consensus among them.

Each trial samples the analysis at its own temperature and is reconstructed once; the segment
then takes the most common category and, within it, the trial whose reconstruction is most
similar to the original (hypernym-api.md §2.10). Trials are recomputed on every request: a
stateless service keeps no cache of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

LOWEST_TEMPERATURE = 0.2
HIGHEST_TEMPERATURE = 1.0


@dataclass(frozen=True, kw_only=True)
class Draft:
    """One compression before its reconstruction is embedded."""

    semantic_category: str
    elements: tuple[str, ...]
    details: tuple[str, ...]
    hyperstring: str
    tokens_out: int
    reconstruction: str


@dataclass(frozen=True, kw_only=True)
class Trial:
    draft: Draft
    similarity: float
    """Cosine of the original's and the reconstruction's embeddings."""
    reconstruction_vector: list[float]


def trial_temperatures(count: int) -> list[float]:
    """One trial: the low temperature of partial mode; more: spread evenly up to 1.0."""
    if count == 1:
        return [LOWEST_TEMPERATURE]
    step = (HIGHEST_TEMPERATURE - LOWEST_TEMPERATURE) / (count - 1)
    return [round(LOWEST_TEMPERATURE + i * step, 4) for i in range(count)]


def consensus_trial(trials: Sequence[Trial]) -> Trial:
    """The best-reconstructed trial among those with the most common category (ties: first seen)."""
    counts = Counter(trial.draft.semantic_category.casefold() for trial in trials)
    consensus = max(counts, key=lambda category: counts[category])
    return max(
        (t for t in trials if t.draft.semantic_category.casefold() == consensus),
        key=lambda t: t.similarity,
    )
