"""Provider credentials and where they come from.

A provider call asks its :class:`CredentialsSource` for ``current()`` credentials every time, so
a rotated BYOP key takes effect on the next call without a restart. :class:`ByopCredentials` is
the one model of a customer's provider, whether it comes from the BYOP secret or from
``UPSTREAM_*`` variables.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol, get_args
from urllib.parse import urlsplit

from msgspec import Meta

from service.environment import SettingsGroup

ProviderKind = Literal["openai", "anthropic"]
PROVIDER_KINDS: tuple[ProviderKind, ...] = get_args(ProviderKind)


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


class ByopCredentials(SettingsGroup, frozen=True, kw_only=True):
    """A bring-your-own provider as the customer describes it: the BYOP secret's JSON object,
    or the ``UPSTREAM_<FIELD>`` (or ``BYOP_<FIELD>``) variables, ``<FIELD>`` a field name in
    upper case. Both sources fill these fields and check them with :meth:`problems`."""

    provider_url: Annotated[
        str, Meta(description="the provider's API base URL, https (`/v1` added when no path)")
    ]
    api_key: Annotated[
        str, Meta(description="the provider's API key (a secret)", extra={"secret": True})
    ]
    model_name: Annotated[str, Meta(description="the chat model")]
    provider_kind: Annotated[
        ProviderKind | None,
        Meta(
            description="`openai` (chat completions) or `anthropic` (Messages); default: "
            "from the URL's host"
        ),
    ] = None
    embeddings_url: Annotated[
        str | None,
        Meta(
            description="an OpenAI-compatible embeddings API base URL; required for "
            "`anthropic` (it has none); default: the chat provider"
        ),
    ] = None
    embeddings_api_key: Annotated[
        str | None,
        Meta(
            description="the key for the embeddings URL (a secret); default: the API key",
            extra={"secret": True},
        ),
    ] = None

    @property
    def kind(self) -> ProviderKind:
        return self.provider_kind or guess_provider_kind(self.provider_url)

    def problems(self, *, allow_plaintext: bool, name: Callable[[str], str]) -> list[str]:
        """Why this provider must not be used, one line each (empty: it may). ``name`` spells a
        field as its source does; no value is echoed but a refused URL."""
        problems = []
        for field, url in (
            ("provider_url", self.provider_url),
            ("embeddings_url", self.embeddings_url),
        ):
            problem = url and provider_url_problem(url, allow_plaintext=allow_plaintext)
            if problem:
                problems.append(f"{name(field)}: {problem}")
        if self.kind == "anthropic" and not self.embeddings_url:
            problems.append(
                f"an anthropic provider has no embeddings API: set {name('embeddings_url')} "
                f"(an OpenAI-compatible /v1 base URL) and {name('embeddings_api_key')}"
            )
        return problems

    def credentials(self, *, embedding_model: str) -> ProviderCredentials:
        return ProviderCredentials(
            kind=self.kind,
            base_url=self.provider_url,
            api_key=self.api_key,
            model=self.model_name,
            embeddings_url=self.embeddings_url,
            embeddings_api_key=self.embeddings_api_key,
            embedding_model=embedding_model,
        )


def byop_variable_names(field: str) -> tuple[str, ...]:
    """The environment's spellings of a :class:`ByopCredentials` field: ``UPSTREAM_<FIELD>``
    (CloudFormation and Helm), else ``BYOP_<FIELD>`` (Terraform)."""
    return (f"UPSTREAM_{field.upper()}", f"BYOP_{field.upper()}")
