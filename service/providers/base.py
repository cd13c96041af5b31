"""The provider interface the analysis uses: chat (optionally JSON-shaped) and embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable


@dataclass(frozen=True, kw_only=True)
class ChatMessage:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True, kw_only=True)
class JsonSchema:
    """Structured output: the provider is asked for a JSON object of this schema."""

    name: str
    schema: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class ChatRequest:
    system: str
    messages: tuple[ChatMessage, ...]
    output_schema: JsonSchema | None = None
    """None: free text. Otherwise the answer is the JSON object's text."""
    temperature: float = 0.2
    max_tokens: int = 1024


@runtime_checkable
class Provider(Protocol):
    async def chat(self, request: ChatRequest) -> str:
        """The model's answer text (the JSON text when ``output_schema`` is set)."""
        ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order."""
        ...
