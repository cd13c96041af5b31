"""Who is calling: the API key (``X-API-Key``, or ``Authorization: Bearer``) decides the tier.

The keys come from ``API_KEYS_SECRET_ARN`` (deployments: a Secrets Manager secret, re-read in
the background so a new or revoked key takes effect without a restart) or ``API_KEYS`` (local
runs). With neither, access is open, a choice the deployment makes explicitly: every caller
then gets the configured open-access tier, and the service says so in its log at start.
Keys are compared as SHA-256 digests, never logged, never echoed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    ServiceUnavailableException,
)

from service.analysis.tiers import TIERS, Tier
from service.contract import TierName
from service.limits import KeyRateLimit
from service.logs import redact, request_annotations
from service.provider_secrets import RefreshingSecret, SecretsManagerReader, SecretUnavailableError
from service.settings import Settings, parse_api_keys

logger = logging.getLogger(__name__)

KeyTiers = dict[bytes, Tier]
"""SHA-256 digest of a key -> its tier."""

KEYS_UNAVAILABLE_RETRY_AFTER_SECONDS = 5


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


def key_tiers(keys: Mapping[str, TierName]) -> KeyTiers:
    return {hashlib.sha256(key.encode()).digest(): TIERS[tier] for key, tier in keys.items()}


def parse_api_keys_secret(raw: str) -> KeyTiers:
    """The API keys secret: the JSON object ``API_KEYS`` holds. Each key is registered for
    redaction (the object's keys are the secrets, its values only tier names); errors name
    entries by position, never a key."""
    keys = parse_api_keys(
        "the API keys secret", raw, example='e.g. {"key-one": "standard", "key-two": "northstar"}'
    )
    for key in keys:
        redact(key)
    return key_tiers(keys)


class KeyRing:
    """The keys as SHA-256 digests to tiers: fixed (``API_KEYS``), kept fresh from their
    secret (``API_KEYS_SECRET_ARN``), or none (open access)."""

    def __init__(self, settings: Settings) -> None:
        access = settings.access
        self._open_tier = TIERS[access.open_access_tier]
        self.secret: RefreshingSecret[KeyTiers] | None = None
        self._static: KeyTiers = key_tiers(access.api_keys)
        if access.api_keys_secret_arn is not None:
            self.secret = RefreshingSecret[KeyTiers](
                name="API keys secret",
                read=SecretsManagerReader(
                    secret_arn=access.api_keys_secret_arn, region=settings.provider.aws_region
                ),
                parse=parse_api_keys_secret,
                refresh_seconds=settings.provider.secret_refresh_seconds,
                redaction=lambda _: None,  # parse_api_keys_secret registers the keys themselves
            )

    @property
    def requires_keys(self) -> bool:
        """True when keys are configured (callers are then known, and rate-limited per key)."""
        return self.secret is not None or bool(self._static)

    def caller(self, key: str | None) -> Caller:
        """The caller's tier, or 401 (no key) / 403 (unknown key) when keys are configured;
        503 while their secret has not been loaded yet."""
        hashed = hashed_api_key(key) if key else None
        if not self.requires_keys:
            return Caller(tier=self._open_tier, hashed_api_key=hashed)
        tiers = self._current()
        if key is None:
            raise NotAuthorizedException(detail="missing API key: send it in the X-API-Key header")
        tier = tiers.get(hashlib.sha256(key.encode()).digest())
        if tier is None:
            raise PermissionDeniedException(detail="the API key is not valid for this service")
        return Caller(tier=tier, hashed_api_key=hashed)

    def _current(self) -> KeyTiers:
        if self.secret is None:
            return self._static
        try:
            return self.secret.current()
        except SecretUnavailableError:
            raise ServiceUnavailableException(
                detail="the service has not loaded its API keys yet: retry shortly",
                headers={"Retry-After": str(KEYS_UNAVAILABLE_RETRY_AFTER_SECONDS)},
            ) from None

    def announce(self) -> None:
        """Open access is never silent: one warning line at start."""
        if not self.requires_keys:
            logger.warning(
                "open access: no API keys are configured (API_KEYS_SECRET_ARN, API_KEYS), "
                "every caller gets the %s tier",
                self._open_tier.name,
            )


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
