"""Work that stops when its client goes away: an analysis nobody waits for any more must not keep
calling the provider (each call costs the customer tokens)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from litestar.exceptions import HTTPException
from litestar.types import Receive

T = TypeVar("T")

CLIENT_CLOSED_REQUEST = 499
"""The request log's status for work abandoned because its client went away (nginx's code: no
response reaches that client)."""


class ClientGoneError(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            status_code=CLIENT_CLOSED_REQUEST,
            detail="the client closed the connection before the analysis finished",
        )


async def unless_disconnected(receive: Receive, work: Awaitable[T]) -> T:
    """``work``'s result; if the client disconnects first, ``work`` (and so every provider call
    it has in flight) is cancelled and :class:`ClientGoneError` raised. Call once the body was
    read: the next ASGI message is then the disconnect."""
    task = asyncio.ensure_future(work)

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        task.cancel()

    watcher = asyncio.create_task(watch())
    try:
        return await task
    except asyncio.CancelledError:
        if watcher.done() and not watcher.cancelled():
            raise ClientGoneError() from None
        raise  # the handler itself was cancelled (shutdown)
    finally:
        watcher.cancel()
