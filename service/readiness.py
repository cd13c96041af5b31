"""Readiness: named conditions that must all hold before the service takes traffic.

Components register the conditions they own, mark them met when ready and clear them when not
(a draining process clears "not draining"). ``/ready`` answers 200 only when every registered
condition is met, and names the unmet ones otherwise. It never calls the provider.
"""

from __future__ import annotations

CONFIG_LOADED = "config loaded"
PROVIDER_CLIENT_OPEN = "provider client open"
MARKETPLACE_ENTITLED = "AWS Marketplace entitlement"
NOT_DRAINING = "not draining"


class Readiness:
    def __init__(self) -> None:
        self._conditions: dict[str, bool] = {}

    def register(self, name: str) -> None:
        """Add a condition, initially unmet (registering twice keeps its state)."""
        self._conditions.setdefault(name, False)

    def met(self, name: str) -> None:
        """Mark a registered condition as holding."""
        self._require(name)
        self._conditions[name] = True

    def clear(self, name: str) -> None:
        """Mark a registered condition as no longer holding."""
        self._require(name)
        self._conditions[name] = False

    @property
    def ready(self) -> bool:
        return all(self._conditions.values())

    def unmet(self) -> list[str]:
        return [name for name, holds in self._conditions.items() if not holds]

    def _require(self, name: str) -> None:
        if name not in self._conditions:
            raise KeyError(f"readiness condition {name!r} was never registered")
