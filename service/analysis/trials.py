"""Comprehensive mode: several compressions of one paragraph, and the consensus among them.

Each trial samples the analysis at its own temperature and is reconstructed once; the segment
then takes the most common category and, within it, the trial whose reconstruction is most
similar to the original (hypernym-api.md §2.10). A :class:`TrialCache` (the shared result
cache, when configured) keeps each trial's compression by content, trial number and
temperature, as Hypernym caches them, so a paragraph seen before costs only its embeddings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

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
class TrialKey:
    """What one trial's compression depends on, besides the chat model."""

    text: str
    """The paragraph as the prompts see it."""
    detail_count: int
    number: int
    """The trial's index among the paragraph's trials."""
    temperature: float


class TrialCache(Protocol):
    """Compressions kept across requests. Faults are the cache's to absorb: a failed recall
    answers nothing found, a failed keep is forgotten."""

    async def recall(self, keys: Sequence[TrialKey]) -> dict[TrialKey, Draft]: ...

    async def keep(self, drafts: Mapping[TrialKey, Draft]) -> None: ...


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
