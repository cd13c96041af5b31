"""A fake inference provider on 127.0.0.1: OpenAI-compatible chat + embeddings, Anthropic Messages.

For the captured inputs of hypernym-api.md §3 it answers with Hypernym's captured model output
(category, elements, details, reconstruction) and embeddings pinned so the captured similarities
come out; for any other input it answers something well-formed and deterministic (embeddings are
hashed bags of words, so a reconstruction resembles its original). Faults are injected through
:meth:`FakeProvider.inject` or the control endpoint ``POST /_fake/fault``.

In tests: ``with running_fake_provider() as fake: fake.url``. Standalone (benchmarks):
``python -m tests.fakes.fake_provider --port 9100 --latency-ms 200``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import json
import math
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from aiohttp import web

from tests.fakes import captures

FaultKind = Literal[
    "timeout",
    "rate_limit",
    "server_error",
    "malformed_json",
    "no_embeddings",
    "content_filter",
    "structured_refusal",
    "azure_content_filter",
    "flagged_prompt",
]
REFUSALS: dict[str, tuple[int, dict[str, Any]]] = {
    # OpenAI structured outputs: the model declines in message.refusal, content is null.
    "structured_refusal": (200, {}),
    # Azure OpenAI's content filter on the prompt: HTTP 400, error.code "content_filter".
    "azure_content_filter": (
        400,
        {
            "error": {
                "message": "The response was filtered due to the prompt triggering Azure "
                "OpenAI's content management policy.",
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {"code": "ResponsibleAIPolicyViolation"},
            }
        },
    ),
    # OpenAI's flagged prompt (reasoning models): HTTP 400, error.code "invalid_prompt".
    "flagged_prompt": (
        400,
        {
            "error": {
                "message": "Invalid prompt: your prompt was flagged as potentially violating "
                "our usage policy.",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_prompt",
            }
        },
    ),
}
"""The documented refusal forms besides finish_reason "content_filter", by fault kind."""
FAULT_KINDS: tuple[str, ...] = (
    "content_filter",
    "structured_refusal",
    "azure_content_filter",
    "flagged_prompt",
    "timeout",
    "rate_limit",
    "server_error",
    "malformed_json",
    "no_embeddings",
)
DEFAULT_DIMENSIONS = 768

FINANCIAL_ADVICE_TEXT = (
    "Suggestions about investing in high-yield funds: put a fixed share of every paycheck into "
    "diversified index funds, rebalance the portfolio once a year, and keep six months of "
    "expenses in cash before buying riskier assets such as high-yield bond funds."
)
FINANCIAL_CATEGORY = "Financial Analysis."
"""§3.5: the docs' excluded segment (category and 0.79 similarity to "investment advice")."""

PINNED_COSINES: tuple[tuple[str, str, float], ...] = (
    (captures.ESSAY_TEXT.strip(), captures.RECONSTRUCTION_5, 0.8452141284942627),
    (captures.ESSAY_TEXT.strip(), captures.RECONSTRUCTION_9, 0.8691549301147461),
    (captures.CATEGORY, "financial", 0.13671241700649261),
    (captures.CATEGORY, "investment", 0.16041812300682068),
    (FINANCIAL_CATEGORY, "investment advice", 0.79),
)
"""(anchor, text, cosine): the embeddings of these pairs have exactly the captured cosines."""


@dataclass
class Fault:
    kind: FaultKind
    remaining: int | None = None
    """Requests still to fail; None: until cleared."""
    retry_after_seconds: int = 1
    every_other: bool = False
    """Hit one request, let the next through, hit the next, ... (``remaining`` counts hits)."""
    _passing: bool = True


class FakeProvider:
    """The fake's behaviour and what it saw; serve it with :func:`running_fake_provider`."""

    def __init__(self, *, latency_ms: float = 0.0) -> None:
        self.latency_ms = latency_ms
        self.fault: Fault | None = None
        self.authorizations: list[str] = []
        self.requested_dimensions: list[int | None] = []
        """The ``dimensions`` parameter of each embeddings request (None: not sent)."""
        self.calls: Counter[str] = Counter()
        self.cancelled: Counter[str] = Counter()
        """Requests abandoned by the caller while the fake was still answering, by endpoint."""
        self.embedding_size: int | None = None
        """Vectors of this size whatever ``dimensions`` asks (a provider that ignores it)."""
        self.url = ""
        """Base URL including /v1, set once serving."""
        self._pinned = _pinned_vectors()

    def inject(
        self,
        kind: FaultKind,
        *,
        count: int | None = None,
        retry_after_seconds: int = 1,
        every_other: bool = False,
    ) -> None:
        self.fault = Fault(
            kind=kind,
            remaining=count,
            retry_after_seconds=retry_after_seconds,
            every_other=every_other,
        )

    def clear(self) -> None:
        self.fault = None

    def reset(self) -> None:
        self.clear()
        self.authorizations.clear()
        self.requested_dimensions.clear()
        self.calls.clear()
        self.cancelled.clear()
        self.embedding_size = None

    def application(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/_fake/fault", self._set_fault)
        app.router.add_delete("/_fake/fault", self._clear_fault)
        app.router.add_get("/_fake/seen", self._seen)
        return app

    # -- faults ---------------------------------------------------------------------------

    def _take_fault(self, applies_to: set[str]) -> Fault | None:
        fault = self.fault
        if fault is None or fault.kind not in applies_to:
            return None
        if fault.every_other:
            fault._passing = not fault._passing
            if fault._passing:
                return None
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self.fault = None
        return fault

    async def _before(
        self, request: web.Request, endpoint: str, kinds: set[str]
    ) -> web.Response | Fault | None:
        self.calls[endpoint] += 1
        self.authorizations.append(
            request.headers.get("Authorization") or request.headers.get("x-api-key", "")
        )
        if self.latency_ms:
            try:
                await asyncio.sleep(self.latency_ms / 1000)
            except (
                asyncio.CancelledError
            ):  # the caller closed the connection (handler_cancellation)
                self.cancelled[endpoint] += 1
                raise
        fault = self._take_fault({"timeout", "rate_limit", "server_error"} | kinds)
        if fault is None:
            return None
        if fault.kind == "timeout":
            await asyncio.sleep(3600)
        if fault.kind == "rate_limit":
            return web.json_response(
                {"error": {"message": "Rate limit reached", "type": "rate_limit"}},
                status=429,
                headers={"Retry-After": str(fault.retry_after_seconds)},
            )
        if fault.kind == "server_error":
            return web.json_response({"error": {"message": "upstream exploded"}}, status=500)
        if fault.kind == "no_embeddings":
            return web.json_response({"error": {"message": "Not Found"}}, status=404)
        status, body = REFUSALS.get(fault.kind, (200, {}))
        if status != 200:
            return web.json_response(body, status=status)
        return fault

    # -- chat -----------------------------------------------------------------------------

    def _answer(
        self, body: dict[str, Any], *, schema: dict[str, Any] | None, malformed: bool
    ) -> str:
        user_messages = [
            m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"
        ]
        first = user_messages[0] if user_messages else ""
        if schema is None:
            return _reconstruction(first)
        if malformed:
            return '{"semantic_category": "Unclosed'
        details = schema.get("properties", {}).get("details", {})
        return json.dumps(_analysis(first, int(details.get("minItems", 0))))

    async def _chat_completions(self, request: web.Request) -> web.Response:
        early = await self._before(request, "chat", {"malformed_json", "content_filter", *REFUSALS})
        if isinstance(early, web.Response):
            return early
        body = await request.json()
        response_format = body.get("response_format") or {}
        schema = response_format.get("json_schema", {}).get("schema") if response_format else None
        filtered = early is not None and early.kind == "content_filter"
        declined = early is not None and early.kind == "structured_refusal"
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        if declined:
            message["refusal"] = "I'm sorry, I cannot assist with that request."
        elif not filtered:
            message["content"] = self._answer(body, schema=schema, malformed=early is not None)
        return web.json_response(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "content_filter" if filtered else "stop",
                        "message": message,
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    async def _messages(self, request: web.Request) -> web.Response:
        early = await self._before(request, "messages", {"malformed_json", "content_filter"})
        if isinstance(early, web.Response):
            return early
        body = await request.json()
        tools = body.get("tools") or []
        schema = tools[0].get("input_schema") if tools else None
        refused = early is not None and early.kind == "content_filter"
        content = self._answer(body, schema=schema, malformed=early is not None)
        if refused:
            blocks: list[dict[str, Any]] = []
        elif schema is not None and early is None:
            blocks = [
                {
                    "type": "tool_use",
                    "id": "toolu_fake",
                    "name": tools[0]["name"],
                    "input": json.loads(content),
                }
            ]
        else:
            blocks = [{"type": "text", "text": content}]
        return web.json_response(
            {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": body.get("model", "fake"),
                "content": blocks,
                "stop_reason": "refusal" if refused else "end_turn",
            }
        )

    # -- embeddings -----------------------------------------------------------------------

    async def _embeddings(self, request: web.Request) -> web.Response:
        early = await self._before(request, "embeddings", {"no_embeddings"})
        if isinstance(early, web.Response):
            return early
        body = await request.json()
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        self.requested_dimensions.append(body.get("dimensions"))
        dimensions = self.embedding_size or int(body.get("dimensions") or DEFAULT_DIMENSIONS)
        data = [
            {"object": "embedding", "index": i, "embedding": self.embedding(text, dimensions)}
            for i, text in enumerate(texts)
        ]
        # msgspec, not json: a benchmark's fake must not be the bottleneck (768 floats per text).
        return web.Response(
            body=msgspec.json.encode(
                {"object": "list", "data": data, "model": body.get("model", "fake")}
            ),
            content_type="application/json",
        )

    @functools.lru_cache(maxsize=4096)  # noqa: B019 (one fake per test session; texts repeat)
    def embedding(self, text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
        pinned = self._pinned.get(text.strip())
        if pinned is not None:
            return _padded(pinned, dimensions)
        return _bag_of_words(text, dimensions)

    # -- control --------------------------------------------------------------------------

    async def _set_fault(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("kind") not in FAULT_KINDS:
            return web.json_response({"detail": f"kind must be one of {FAULT_KINDS}"}, status=400)
        self.inject(
            body["kind"],
            count=body.get("count"),
            retry_after_seconds=int(body.get("retry_after", 1)),
        )
        return web.json_response({"fault": body["kind"]})

    async def _clear_fault(self, _: web.Request) -> web.Response:
        self.clear()
        return web.json_response({"fault": None})

    async def _seen(self, _: web.Request) -> web.Response:
        return web.json_response({"authorization": self.authorizations, "calls": dict(self.calls)})


def _analysis(prompt: str, detail_count: int) -> dict[str, Any]:
    """Hypernym's captured output for the captured texts, else a deterministic stand-in."""
    paragraph = prompt.split("Paragraph:\n", 1)[-1].strip()
    if paragraph == captures.ESSAY_TEXT.strip() and detail_count in (5, 9):
        elements, details = (
            (captures.ELEMENTS_5, captures.DETAILS_5)
            if detail_count == 5
            else (captures.ELEMENTS_9, captures.DETAILS_9)
        )
        return {
            "semantic_category": captures.CATEGORY,
            "elements": list(elements),
            "details": list(details),
        }
    if paragraph == captures.SHORT_TEXT:
        category = captures.SHORT_CATEGORY
    elif paragraph == FINANCIAL_ADVICE_TEXT:
        category = FINANCIAL_CATEGORY
    elif paragraph.startswith(captures.ESSAY_TEXT.strip()[:60]):
        category = captures.CATEGORY
    else:
        category = " ".join(paragraph.split()[:4]).rstrip(".,;:") + " overview."
    answer: dict[str, Any] = {"semantic_category": category}
    if detail_count:
        words = re.findall(r"[A-Za-z][A-Za-z'-]+", paragraph) or ["text"]
        chunk = max(1, math.ceil(len(words) / detail_count))
        answer["elements"] = [words[(i * chunk) % len(words)].lower() for i in range(detail_count)]
        answer["details"] = [
            " ".join(words[i * chunk : (i + 1) * chunk]) or words[-1] for i in range(detail_count)
        ]
    return answer


def _reconstruction(prompt: str) -> str:
    hyper = prompt.split("Hyperstring:\n", 1)[-1].strip()
    if hyper == captures.HYPERSTRING_5:
        return captures.RECONSTRUCTION_5
    if hyper == captures.HYPERSTRING_9:
        return captures.RECONSTRUCTION_9
    category, _, details = hyper.partition("::")
    sentences = [entry.partition("=")[2] for entry in details.split(";") if entry]
    return " ".join([category.strip(), *(s.strip().rstrip(".") + "." for s in sentences)])


def _pinned_vectors() -> dict[str, list[float]]:
    """Unit vectors on distinct axes: each pinned text = c·anchor + sqrt(1-c²)·its own axis."""
    vectors: dict[str, list[float]] = {}
    axes: dict[str, int] = {}

    def axis(text: str) -> int:
        return axes.setdefault(text, len(axes))

    for anchor, _, _ in PINNED_COSINES:
        axis(anchor)
    for anchor, text, cos in PINNED_COSINES:
        own = axis(text)
        vectors[anchor] = _unit_on(axis(anchor))
        vector = _unit_on(own)
        vector[own] = math.sqrt(1 - cos * cos)
        vector[axis(anchor)] = cos
        vectors[text] = vector
    return vectors


def _unit_on(index: int, size: int = 32) -> list[float]:
    vector = [0.0] * size
    vector[index] = 1.0
    return vector


def _padded(vector: list[float], dimensions: int) -> list[float]:
    return (vector + [0.0] * dimensions)[:dimensions]


def _bag_of_words(text: str, dimensions: int) -> list[float]:
    """Hashed word counts in the upper dimensions (clear of the pinned axes), unit length."""
    vector = [0.0] * dimensions
    span = max(1, dimensions - 32)
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        slot = (
            32
            + int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big") % span
        )
        vector[min(slot, dimensions - 1)] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


@contextmanager
def running_fake_provider(*, latency_ms: float = 0.0, port: int = 0) -> Iterator[FakeProvider]:
    """Serve a :class:`FakeProvider` on 127.0.0.1 from a background thread; stop it on exit."""
    fake = FakeProvider(latency_ms=latency_ms)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(
        fake.application(), access_log=None, shutdown_timeout=1.0, handler_cancellation=True
    )
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", port)
        loop.run_until_complete(site.start())
        bound = runner.addresses[0][1]
        fake.url = f"http://127.0.0.1:{bound}/v1"
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="fake-provider", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the fake provider did not start within 10 s")
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    arguments = parser.parse_args()
    fake = FakeProvider(latency_ms=arguments.latency_ms)
    print(f"fake provider on http://127.0.0.1:{arguments.port}/v1", flush=True)
    web.run_app(
        fake.application(),
        host="127.0.0.1",
        port=arguments.port,
        access_log=None,
        print=None,
        shutdown_timeout=1.0,
        handler_cancellation=True,
    )


if __name__ == "__main__":
    main()
