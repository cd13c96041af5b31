"""The shared result cache: an analysis is reused for the same text, effective options and
models, by every replica, for sync and async calls alike (``cache_hit: true``).

The key is a SHA-256 over everything that changes the result: the text, the options after
tier rules (thresholds, detail count, filters, trials, embeddings), the chat model and the
embeddings model and size. What is stored is the domain :class:`Analysis` (less the trials'
vectors), so each hit gets a fresh envelope (request id, echo, timestamps) around it.

Comprehensive mode's trials are cached one by one as well, as Hypernym caches them: by the
paragraph, the detail count, the trial number and temperature, and the chat model. A text
whose analysis is not cached still reuses every trial of a paragraph seen before (an edited
document, a job retried after its replica died), and pays only for the embeddings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence

import msgspec

from service.analysis.pipeline import Analysis, AnalysisOptions, analyze
from service.analysis.trials import Draft, TrialKey
from service.jobs.store import JobStore
from service.providers.base import Provider
from service.providers.credentials import CredentialsSource

logger = logging.getLogger(__name__)

CACHE_FORMAT = 1
"""Part of every key: bump it when :class:`Analysis` changes shape, so old entries miss."""


class Analyzer:
    """Runs analyses, through the result cache when one is configured (``store`` given), and
    is the trial cache of the comprehensive analyses it runs."""

    def __init__(
        self,
        *,
        credentials: CredentialsSource,
        embedding_model: str,
        embedding_dimensions: int | None,
        store: JobStore | None = None,
        ttl_seconds: int = 0,
    ) -> None:
        self._credentials = credentials
        self._embedding = (embedding_model, embedding_dimensions)
        self._store = store if ttl_seconds > 0 else None
        self._ttl_seconds = ttl_seconds

    def cache_key(self, text: str, options: AnalysisOptions) -> str:
        return _digest(
            CACHE_FORMAT, text, options, self._credentials.current().model, *self._embedding
        )

    def trial_key(self, key: TrialKey) -> str:
        return _digest(CACHE_FORMAT, "trial", key, self._credentials.current().model)

    async def recall(self, keys: Sequence[TrialKey]) -> dict[TrialKey, Draft]:
        assert self._store is not None  # analyze() is given this cache only with a store
        by_digest = {self.trial_key(key): key for key in keys}
        try:
            found = await self._store.cached_trials(list(by_digest))
            return {by_digest[d]: msgspec.json.decode(b, type=Draft) for d, b in found.items()}
        except Exception:  # the cache is an optimisation: any fault falls back to computing
            logger.warning("trial cache read failed", exc_info=True)
            return {}

    async def keep(self, drafts: Mapping[TrialKey, Draft]) -> None:
        assert self._store is not None
        try:
            encoded = {self.trial_key(k): msgspec.json.encode(d) for k, d in drafts.items()}
            await self._store.cache_trials(encoded, self._ttl_seconds)
        except Exception:
            logger.warning("trial cache write failed", exc_info=True)

    async def run(
        self,
        text: str,
        options: AnalysisOptions,
        provider: Provider,
        *,
        on_segment_done: Callable[[int, int], None] | None = None,
    ) -> tuple[Analysis, bool]:
        """The analysis and whether it came from the cache. A cache that cannot be read or
        written costs a recomputation, never the request."""
        if self._store is None:
            return await analyze(text, options, provider, on_segment_done=on_segment_done), False
        key = self.cache_key(text, options)
        try:
            stored = await self._store.cached(key)
        except Exception:  # the cache is an optimisation: any fault falls back to computing
            logger.warning("result cache read failed", exc_info=True)
            stored = None
        if stored is not None:
            return msgspec.json.decode(stored, type=Analysis), True
        analysis = await analyze(
            text, options, provider, on_segment_done=on_segment_done, trial_cache=self
        )
        try:
            stored = msgspec.json.encode(_without_trial_vectors(analysis))
            await self._store.cache(key, stored, self._ttl_seconds)
        except Exception:
            logger.warning("result cache write failed", exc_info=True)
        return analysis, False


def _digest(*identity: object) -> str:
    return hashlib.sha256(msgspec.json.encode(identity)).hexdigest()


def _without_trial_vectors(analysis: Analysis) -> Analysis:
    """The analysis to store: trials' reconstruction vectors chose the consensus and appear in
    no response, and would make a comprehensive entry 60 x 768 floats per paragraph."""
    return dataclasses.replace(
        analysis,
        segments=[
            dataclasses.replace(
                segment,
                trials=tuple(
                    dataclasses.replace(trial, reconstruction_vector=[]) for trial in segment.trials
                ),
            )
            for segment in analysis.segments
        ],
    )
