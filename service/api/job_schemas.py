"""The wire format of /analyze_begin and /analyze_status (hypernym-api.md §1.4, §1.5, §3.7).

Two clients read these differently (the reference script and the Python processor), so the
replies carry both spellings where they disagree: ``analysis_id`` and ``task_id``, ``results``
and ``result``, ``progress`` as the object the script reads and ``progress_fraction`` (0-1).
"""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

from service.api.schemas import AnalysisMode, Results

JobStatusName = Literal["pending", "processing", "completed", "failed"]


class BeginResponse(msgspec.Struct, kw_only=True):
    analysis_id: str
    task_id: str
    """The same value as ``analysis_id`` (the Python processor reads this name)."""
    status: Literal["pending"]
    estimated_time: int
    """Seconds, a rough estimate from the paragraphs, trials and tier concurrency."""
    mode: AnalysisMode


class Progress(msgspec.Struct, kw_only=True):
    percent_complete: float
    completed_paragraphs: int
    total_paragraphs: int


class Summary(msgspec.Struct, kw_only=True):
    total_segments: int
    compressed_segments: int
    average_compression_ratio: float
    average_semantic_similarity: float


class JobResults(Results, kw_only=True):
    """The sync call's ``results`` object, plus ``summary``."""

    summary: Summary


class StatusResponse(msgspec.Struct, kw_only=True):
    analysis_id: str
    task_id: str
    status: JobStatusName
    mode: AnalysisMode
    progress: Progress
    progress_fraction: float
    """``progress`` as a number from 0 to 1."""
    estimated_time: int
    processing_time: float | UnsetType = UNSET
    """Completed only: seconds the analysis took."""
    results: JobResults | UnsetType = UNSET
    """Completed only."""
    result: JobResults | UnsetType = UNSET
    """Completed only: ``results`` again, under the name the Python processor reads."""
    error: str | UnsetType = UNSET
    """Failed only: why, in one line."""
