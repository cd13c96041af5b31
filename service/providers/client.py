"""The provider implementation: OpenAI-compatible or Anthropic chat, OpenAI-compatible embeddings.

Which API a call speaks is decided per call from ``credentials.current()``, so a rotated BYOP
secret may even switch provider kind without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import msgspec

from service import metrics
from service.providers.base import ChatRequest
from service.providers.credentials import CredentialsSource, ProviderCredentials, api_base
from service.providers.errors import (
    ContentRefusedError,
    EmbeddingsUnsupportedError,
    EndpointNotFoundError,
    ProviderAuthError,
    ProviderError,
    ProviderFailedError,
)
from service.providers.http import UpstreamClient

T = TypeVar("T")

ANTHROPIC_VERSION = "2023-06-01"
ANTHROPIC_TOOL = "record"


class InferenceClient:
    """:class:`service.providers.base.Provider` over the shared :class:`UpstreamClient`."""

    def __init__(
        self,
        upstream: UpstreamClient,
        credentials: CredentialsSource,
        *,
        embedding_dimensions: int | None,
        max_output_tokens: int,
    ) -> None:
        self.upstream = upstream
        self.credentials = credentials
        self.embedding_dimensions = embedding_dimensions
        self.max_output_tokens = max_output_tokens
        """Upper bound on any call's ``max_tokens``, whatever the request asked for."""

    async def chat(self, request: ChatRequest) -> str:
        return await self._measured(
            "chat", self._with_current_key(lambda current: self._chat(current, request))
        )

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await self._measured(
            "embed", self._with_current_key(lambda current: self._embed(current, texts))
        )

    @staticmethod
    async def _measured(operation: str, call: Awaitable[T]) -> T:
        """``call``, with its latency and any failure written as metrics."""
        started = time.perf_counter()
        try:
            result = await call
        except ProviderError as error:
            metrics.provider_call(operation, (time.perf_counter() - started) * 1000, error)
            raise
        metrics.provider_call(operation, (time.perf_counter() - started) * 1000, None)
        return result

    async def _with_current_key(self, call: Callable[[ProviderCredentials], Awaitable[T]]) -> T:
        """A 401/403 may mean the key was rotated since the last read: re-read it, retry once."""
        try:
            return await call(self.credentials.current())
        except ProviderAuthError:
            if not await self.credentials.refresh_after_rejection():
                raise
            return await call(self.credentials.current())

    async def _chat(self, current: ProviderCredentials, request: ChatRequest) -> str:
        if current.kind == "anthropic":
            return await self._anthropic_chat(current, request)
        return await self._openai_chat(current, request)

    async def _embed(self, current: ProviderCredentials, texts: Sequence[str]) -> list[list[float]]:
        if current.kind == "anthropic" and not current.embeddings_url:
            raise EmbeddingsUnsupportedError(
                "the anthropic provider has no embeddings API and no embeddings endpoint is "
                "configured: set UPSTREAM_EMBEDDINGS_URL (or embeddings_url in the BYOP secret)"
            )
        base = api_base(current.embeddings_url or current.base_url)
        url = f"{base}/embeddings"
        payload: dict[str, Any] = {
            "model": current.embedding_model,
            "input": list(texts),
            "encoding_format": "float",
        }
        if self.embedding_dimensions is not None:
            payload["dimensions"] = self.embedding_dimensions
        what = "embeddings"
        with _at_host_of(url):
            try:
                answer = await self.upstream.post_json(
                    url,
                    headers=_bearer(current.embeddings_api_key or current.api_key),
                    payload=payload,
                    what=what,
                    answer_type=_Embeddings,
                )
            except EndpointNotFoundError as error:
                raise EmbeddingsUnsupportedError(
                    "the inference provider cannot embed (its embeddings endpoint is not "
                    "served), so similarities cannot be computed: configure an embeddings "
                    "endpoint (UPSTREAM_EMBEDDINGS_URL or EMBEDDINGS_URL)"
                ) from error
            return _embeddings(answer, count=len(texts), what=what)

    async def _openai_chat(self, current: ProviderCredentials, request: ChatRequest) -> str:
        url = f"{api_base(current.base_url)}/chat/completions"
        messages = [{"role": "system", "content": request.system}]
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        payload: dict[str, Any] = {
            "model": current.model,
            "messages": messages,
            "temperature": request.temperature,
            "max_tokens": min(request.max_tokens, self.max_output_tokens),
        }
        if request.output_schema is not None:
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.output_schema.name,
                    "schema": request.output_schema.schema,
                },
            }
        what = "chat completions"
        with _at_host_of(url):
            answer = await self.upstream.post_json(
                url,
                headers=_bearer(current.api_key),
                payload=payload,
                what=what,
                answer_type=_ChatCompletion,
            )
            choice = answer.choices[0] if answer.choices else None
            if choice is not None and choice.finish_reason == "content_filter":
                raise ContentRefusedError(f"the provider's content filter blocked {what}")
            if choice is not None and choice.message.refusal:
                # Structured outputs: the model declines in `refusal`, `content` stays null.
                raise ContentRefusedError(f"the model refused {what} on content grounds")
            if choice is None or choice.message.content is None:
                raise ProviderFailedError(f"the answer of {what} has no choices[0].message.content")
            return choice.message.content

    async def _anthropic_chat(self, current: ProviderCredentials, request: ChatRequest) -> str:
        url = f"{api_base(current.base_url)}/messages"
        payload: dict[str, Any] = {
            "model": current.model,
            "system": request.system,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": min(request.max_tokens, self.max_output_tokens),
        }
        if request.output_schema is not None:
            # Anthropic's structured output: a forced tool call whose input is the object.
            payload["tools"] = [
                {
                    "name": ANTHROPIC_TOOL,
                    "description": request.output_schema.name,
                    "input_schema": request.output_schema.schema,
                }
            ]
            payload["tool_choice"] = {"type": "tool", "name": ANTHROPIC_TOOL}
        headers = {"x-api-key": current.api_key, "anthropic-version": ANTHROPIC_VERSION}
        what = "messages"
        with _at_host_of(url):
            answer = await self.upstream.post_json(
                url, headers=headers, payload=payload, what=what, answer_type=_AnthropicMessage
            )
        if answer.stop_reason == "refusal":
            raise ContentRefusedError(f"the model refused {what} on content grounds")
        if request.output_schema is not None:
            for block in answer.content:
                if block.type == "tool_use" and block.input:
                    return bytes(block.input).decode()
        texts = [
            block.text
            for block in answer.content
            if block.type == "text" and block.text is not None
        ]
        if not texts and request.output_schema is None:
            raise ProviderFailedError(f"the answer of {what} has no text block")
        # Without a tool call the text is returned; the JSON repair step may still rescue it.
        return "".join(texts)


@contextmanager
def _at_host_of(url: str) -> Iterator[None]:
    """A provider error raised inside names the provider's host, for the log (never the client's
    detail: the host is the deployment's internals)."""
    try:
        yield
    except ProviderError as error:
        error.provider_host = urlsplit(url).hostname
        raise


def _bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _embeddings(answer: _Embeddings, *, count: int, what: str) -> list[list[float]]:
    """The vectors of an embeddings answer, in input order, checked."""
    if len(answer.data) != count:
        raise ProviderFailedError(f"the answer of {what} does not hold {count} embeddings")
    vectors = [item.embedding for item in sorted(answer.data, key=lambda item: item.index)]
    if not vectors[0] or len({len(v) for v in vectors}) > 1:
        raise ProviderFailedError(f"the answer of {what} holds empty or mixed-size embeddings")
    return vectors


# The fields read from provider answers; msgspec validates them while decoding.


class _ChatMessage(msgspec.Struct):
    content: str | None = None
    refusal: str | None = None
    """OpenAI structured outputs: the model's reason for declining (``content`` is then null)."""


class _Choice(msgspec.Struct):
    message: _ChatMessage
    finish_reason: str | None = None


class _ChatCompletion(msgspec.Struct):
    choices: list[_Choice]


class _ContentBlock(msgspec.Struct):
    type: str
    text: str | None = None
    input: msgspec.Raw = msgspec.Raw()
    """A tool call's arguments, kept as raw JSON text: they are parsed by the analysis."""


class _AnthropicMessage(msgspec.Struct):
    content: list[_ContentBlock]
    stop_reason: str | None = None


class _EmbeddingItem(msgspec.Struct):
    embedding: list[float]
    index: int = 0


class _Embeddings(msgspec.Struct):
    data: list[_EmbeddingItem]
