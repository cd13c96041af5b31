"""The three tiers and their limits (hypernym-api.md §1.3, "Timeouts and rate limits")."""

from __future__ import annotations

from dataclasses import dataclass, replace

from service.contract import TierName


@dataclass(frozen=True, kw_only=True)
class Tier:
    name: TierName
    requests_per_hour: int
    concurrent_paragraphs: int
    priority: int
    retry_delay_seconds: int
    default_timeout_seconds: int
    max_timeout_seconds: int
    min_detail_count: int
    max_detail_count: int | None
    """None: any positive count (northstar)."""
    comprehensive: bool
    embeddings: bool


_STANDARD = Tier(
    name="standard",
    requests_per_hour=2_000,
    concurrent_paragraphs=6,
    priority=1,
    retry_delay_seconds=60,
    default_timeout_seconds=60,
    max_timeout_seconds=60,
    min_detail_count=3,
    max_detail_count=9,
    comprehensive=False,
    embeddings=False,
)

TIERS: dict[TierName, Tier] = {
    "northstar": Tier(
        name="northstar",
        requests_per_hour=64_000,
        concurrent_paragraphs=128,
        priority=0,
        retry_delay_seconds=30,
        default_timeout_seconds=600,
        max_timeout_seconds=1200,
        min_detail_count=1,
        max_detail_count=None,
        comprehensive=True,
        embeddings=True,
    ),
    "standard": _STANDARD,
    "basic": replace(
        _STANDARD,
        name="basic",
        requests_per_hour=1_000,
        concurrent_paragraphs=2,
        priority=2,
        retry_delay_seconds=90,
    ),
}


def allowed_detail_count(requested: int | None, tier: Tier) -> int | None:
    """A forced detail count the tier allows, else None (automatic): out of range is dropped
    silently, not rejected, as the public API does (§3.4)."""
    if requested is None or requested < tier.min_detail_count:
        return None
    if tier.max_detail_count is not None and requested > tier.max_detail_count:
        return None
    return requested


def deadline_seconds(tier: Tier, requested_timeout: int | None) -> int:
    """The analysis deadline: the tier's default, or the requested one where the tier allows."""
    if requested_timeout is None or tier.max_timeout_seconds == tier.default_timeout_seconds:
        return tier.default_timeout_seconds
    return min(requested_timeout, tier.max_timeout_seconds)


def deadline_is_requested(tier: Tier, requested_timeout: int | None) -> bool:
    """Whether the request's own timeout set the deadline (rather than the tier's limit)."""
    return (
        requested_timeout is not None
        and deadline_seconds(tier, requested_timeout) == requested_timeout
        and tier.max_timeout_seconds != tier.default_timeout_seconds
    )
