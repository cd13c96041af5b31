"""Length zones and the automatic detail count (hypernym-api.md §2.2)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

MICRO_WORDS = 6
"""Zone 1: fewer words than this get a category only."""


class Zone(IntEnum):
    MICRO = 1
    """Fewer than six words: category only."""
    INSUFFICIENT_TOKENS = 2
    """Too few tokens for k details (tokens < 8 + 8k + 2): category only."""
    FULL = 3
    """Category, k elements and details, hyperstring, reconstruction."""


@dataclass(frozen=True, kw_only=True)
class SegmentPlan:
    zone: Zone
    detail_count: int
    """k; 0 outside the full zone."""


def automatic_detail_count(*, chars: int, tokens: int) -> int:
    """k by length: 6 over 3000 characters, 5 from 1000, else min(4, (tokens - 10) // 8)."""
    if chars > 3000:
        return 6
    if chars >= 1000:
        return 5
    return max(0, min(4, (tokens - 10) // 8))


def plan_segment(text: str, *, tokens: int, forced_detail_count: int | None) -> SegmentPlan:
    """The zone and k of one stripped segment; ``forced_detail_count`` is already tier-clamped."""
    if len(text.split()) < MICRO_WORDS:
        return SegmentPlan(zone=Zone.MICRO, detail_count=0)
    k = forced_detail_count or automatic_detail_count(chars=len(text), tokens=tokens)
    if k <= 0 or tokens < 8 + 8 * k + 2:
        return SegmentPlan(zone=Zone.INSUFFICIENT_TOKENS, detail_count=0)
    return SegmentPlan(zone=Zone.FULL, detail_count=k)
