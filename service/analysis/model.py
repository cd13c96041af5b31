"""Asking the model for output of a given shape, with one repair attempt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from service.analysis.prompts import InvalidOutputError
from service.providers.base import ChatMessage, ChatRequest, Provider
from service.providers.errors import ModelOutputError

T = TypeVar("T")
MAX_ECHOED_ANSWER_CHARS = 4000


async def ask(
    provider: Provider, request: ChatRequest, parse: Callable[[str], T], *, what: str
) -> T:
    """The parsed answer; an invalid one is sent back once with the problem, then 502."""
    answer = await provider.chat(request)
    try:
        return parse(answer)
    except InvalidOutputError as problem:
        repair = replace(
            request,
            messages=(
                *request.messages,
                ChatMessage(role="assistant", content=answer[:MAX_ECHOED_ANSWER_CHARS]),
                ChatMessage(
                    role="user",
                    content=(
                        f"That answer is not valid ({problem}). "
                        "Reply again with only the corrected "
                        "answer in the requested format."
                    ),
                ),
            ),
            temperature=0.0,
        )
    answer = await provider.chat(repair)
    try:
        return parse(answer)
    except InvalidOutputError as problem:
        raise ModelOutputError(
            f"the model's {what} was not in the requested format "
            f"after one repair attempt ({problem})"
        ) from None
