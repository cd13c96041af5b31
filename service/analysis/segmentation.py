"""Paragraph segmentation: blank lines separate segments, unless one segment is forced."""

from __future__ import annotations

import re
from dataclasses import dataclass

PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
"""One or more blank lines (lines holding only whitespace count as blank)."""


@dataclass(frozen=True, kw_only=True)
class Segment:
    index: int
    raw: str
    """The segment as sent (trailing spaces kept): what its token count is taken from."""
    text: str
    """The stripped paragraph: ``original.text`` and what the model sees."""


def split_segments(essay_text: str, *, force_single_segment: bool) -> list[Segment]:
    """The segments of the text, in order; empty when the text holds only whitespace."""
    pieces = [essay_text] if force_single_segment else PARAGRAPH_BREAK.split(essay_text)
    kept = [piece for piece in pieces if piece.strip()]
    return [Segment(index=i, raw=piece, text=piece.strip()) for i, piece in enumerate(kept)]
