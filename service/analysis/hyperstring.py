"""The hyperstring format and the two output texts (hypernym-api.md §2.4, §2.7)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

SEGMENT_JOINER = "\n\n"
"""How segments are joined in texts.compressed/suggested (never captured; the safe guess)."""


def clean_fragment(text: str) -> str:
    """One line with no separator of the format in it, so a hyperstring always parses back."""
    return " ".join(text.split()).replace("::", ":").replace(";", ",")


def hyperstring(category: str, details: Sequence[str]) -> str:
    """``Category::0=detail;1=detail…``: details keyed by n from 0, elements not included."""
    return f"{category}::" + ";".join(f"{n}={detail}" for n, detail in enumerate(details))


class SegmentTexts(Protocol):
    @property
    def original(self) -> str: ...
    @property
    def compressed(self) -> str:
        """The hyperstring, or the original when the segment was not compressed."""

    @property
    def use_compressed(self) -> bool:
        """The §2.7 thresholds passed (and the segment was compressed)."""

    @property
    def excluded(self) -> bool: ...


def suggested_uses_hyperstring(
    *,
    was_compressed: bool,
    compression_ratio: float,
    semantic_similarity: float,
    min_compression_ratio: float,
    min_semantic_similarity: float,
) -> bool:
    """§2.7: the hyperstring when the ratio is at most the maximum and the similarity at least
    the minimum."""
    return (
        was_compressed
        and compression_ratio <= min_compression_ratio
        and semantic_similarity >= min_semantic_similarity
    )


def compressed_text(segments: Sequence[SegmentTexts]) -> str:
    """Every segment's hyperstring (or original), excluded ones included."""
    return SEGMENT_JOINER.join(segment.compressed for segment in segments)


def suggested_text(segments: Sequence[SegmentTexts]) -> str:
    """Per segment the hyperstring if it passed, else the original; excluded segments left out."""
    return SEGMENT_JOINER.join(
        segment.compressed if segment.use_compressed else segment.original
        for segment in segments
        if not segment.excluded
    )
