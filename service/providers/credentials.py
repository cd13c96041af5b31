"""Provider credentials and where they come from.

A provider call asks its :class:`CredentialsSource` for ``current()`` credentials every time, so
a rotated BYOP key takes effect on the next call without a restart.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlsplit

ProviderKind = Literal["openai", "anthropic"]
PROVIDER_KINDS: tuple[ProviderKind, ...] = ("openai", "anthropic")


@dataclass(frozen=True, kw_only=True)
class ProviderCredentials:
    """One provider: the chat API and the embeddings API it uses.

    ``repr`` hides the keys, so credentials never reach a log line by accident.
    """

    kind: ProviderKind = "openai"
    """openai: ``/chat/completions`` + ``/embeddings``; anthropic: ``/messages`` for chat."""
    base_url: str
    """API base, e.g. ``https://api.openai.com/v1``. A base without a path gets ``/v1``."""
    api_key: str
    model: str
    embeddings_url: str | None = None
    """Base URL of an OpenAI-compatible embeddings API. Default: ``base_url`` (openai kind)."""
    embeddings_api_key: str | None = None
    """Key for ``embeddings_url``. Default: ``api_key``."""
    embedding_model: str = "text-embedding-3-small"

    def __repr__(self) -> str:
        return (
            f"ProviderCredentials(kind={self.kind!r}, base_url={self.base_url!r}, "
            f"model={self.model!r}, embeddings_url={self.embeddings_url!r})"
        )


class CredentialsSource(Protocol):
    """Where a provider gets its credentials; ``current()`` is called on every provider call."""

    def current(self) -> ProviderCredentials: ...

    async def refresh_after_rejection(self) -> bool:
        """The provider refused the key: re-read it; True when a different key is now in use."""
        ...


@dataclass(frozen=True)
class StaticCredentials:
    """Credentials fixed at start: managed mode, or BYOP from ``UPSTREAM_*`` variables."""

    credentials: ProviderCredentials

    def current(self) -> ProviderCredentials:
        return self.credentials

    async def refresh_after_rejection(self) -> bool:
        return False  # nothing to re-read: the 401/403 goes to the client


def guess_provider_kind(url: str) -> ProviderKind:
    """anthropic for Anthropic's API host, openai (the common protocol) for everything else."""
    host = urlsplit(url).hostname or ""
    return (
        "anthropic" if host == "api.anthropic.com" or host.endswith(".anthropic.com") else "openai"
    )


def api_base(url: str) -> str:
    """The API base with ``/v1`` when the URL has no path (``http://one-api:8080`` → ``…/v1``)."""
    trimmed = url.rstrip("/")
    return trimmed if urlsplit(trimmed).path else f"{trimmed}/v1"


def provider_url_problem(url: str, *, allow_plaintext: bool) -> str | None:
    """Why a BYOP provider URL is unsafe to call, or None (an SSRF guard on configuration).

    HTTPS only, and never a link-local address (instance metadata, ECS task credentials);
    ``allow_plaintext`` admits http:// and loopback for local runs and tests.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"{url!r} is not an http(s) URL with a host"
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        address = None
    if address is not None and (address.is_link_local or address.is_unspecified):
        return (
            f"{parts.hostname} is a link-local/unspecified address "
            "(instance metadata is never a provider)"
        )
    if allow_plaintext:
        return None
    if parts.scheme != "https":
        return "use https:// (set ALLOW_PLAINTEXT_PROVIDER=true only for local runs)"
    if (address is not None and address.is_loopback) or parts.hostname == "localhost":
        return (
            "a loopback provider is refused (set ALLOW_PLAINTEXT_PROVIDER=true only for local runs)"
        )
    return None
