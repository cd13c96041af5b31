"""How long a job will take, roughly: what ``estimated_time`` reports at begin."""

from __future__ import annotations

import math

from service.analysis.pipeline import TRIALS_IN_FLIGHT, AnalysisOptions

SECONDS_PER_ROUND = 3
"""One compression round of a paragraph: two chat calls and one embeddings call (Hypernym
documents 2-5 s per paragraph in partial mode)."""


def estimated_seconds(paragraphs: int, options: AnalysisOptions) -> int:
    """Rounds of paragraphs (the tier's concurrency) times rounds of trials (eight at once)."""
    paragraph_rounds = math.ceil(paragraphs / options.max_concurrency)
    trial_rounds = math.ceil(options.trials / TRIALS_IN_FLIGHT)
    return paragraph_rounds * trial_rounds * SECONDS_PER_ROUND
