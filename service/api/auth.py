"""Who is calling: the API key (``X-API-Key``, or ``Authorization: Bearer``) decides the tier.

With no keys configured access is open (the Marketplace templates put the service behind an
internal ALB and pass no keys); every caller then gets the configured open-access tier.
Keys are compared as SHA-256 digests, never logged, never echoed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from service.analysis.tiers import TIERS, Tier
from service.limits import KeyRateLimit
from service.logs import request_annotations
from service.settings import Settings


@dataclass(frozen=True, kw_only=True)
class Caller:
    tier: Tier
    hashed_api_key: str | None
    """First 16 hex of SHA-256 of the key sent (Hypernym's echo); None when none was sent."""


def hashed_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def presented_key(request: Request[Any, Any, Any]) -> str | None:
    key = request.headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


class KeyRing:
    """The configured keys as SHA-256 digests to tiers (built once per app)."""

    def __init__(self, settings: Settings) -> None:
        self._open_tier = TIERS[settings.access.open_access_tier]
        self._tiers = {
            hashlib.sha256(key.encode()).digest(): TIERS[tier]
            for key, tier in settings.access.api_keys.items()
        }

    @property
    def requires_keys(self) -> bool:
        """True when keys are configured (callers are then known, and rate-limited per key)."""
        return bool(self._tiers)

    def caller(self, key: str | None) -> Caller:
        """The caller's tier, or 401 (no key) / 403 (unknown key) when keys are configured."""
        hashed = hashed_api_key(key) if key else None
        if not self._tiers:
            return Caller(tier=self._open_tier, hashed_api_key=hashed)
        if key is None:
            raise NotAuthorizedException(detail="missing API key: send it in the X-API-Key header")
        tier = self._tiers.get(hashlib.sha256(key.encode()).digest())
        if tier is None:
            raise PermissionDeniedException(detail="the API key is not valid for this service")
        return Caller(tier=tier, hashed_api_key=hashed)


def provide_caller(
    request: Request[Any, Any, Any],
    key_ring: NamedDependency[KeyRing],
    key_rate: NamedDependency[KeyRateLimit],
) -> Caller:
    """The caller; a configured key also spends one request of its tier's hourly budget (429)."""
    caller = key_ring.caller(presented_key(request))
    request_annotations(request.scope)["tier"] = caller.tier.name
    if key_ring.requires_keys and caller.hashed_api_key is not None:
        key_rate.spend(caller.hashed_api_key, per_hour=caller.tier.requests_per_hour)
    return caller
