"""The BYOP and managed gateway token secrets' formats, and the upper bound on tokens requested
from the provider."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgspec
import pytest

from service.provider_secrets import RefreshingSecret, parse_byop_secret, parse_managed_api_key
from service.providers.base import ChatMessage, ChatRequest
from service.providers.client import InferenceClient
from service.providers.credentials import ProviderCredentials, StaticCredentials
from service.providers.errors import ProviderAuthError


def parse(fields: object, *, allow_plaintext: bool = False) -> ProviderCredentials:
    return parse_byop_secret(
        json.dumps(fields), embedding_model="e", allow_plaintext=allow_plaintext
    )


GOOD = {
    "provider_url": "https://llm.example.com/v1",
    "api_key": "sk-secret-value-0009",
    "model_name": "m",
}


def test_a_complete_secret_becomes_credentials() -> None:
    credentials = parse({**GOOD, "embeddings_url": "https://emb.example.com/v1"})
    assert (credentials.kind, credentials.model, credentials.embedding_model) == (
        "openai",
        "m",
        "e",
    )
    assert credentials.api_key == GOOD["api_key"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("not an object", "must be a JSON object"),
        ({"provider_url": "https://x.example.com"}, "lacks api_key, model_name"),
        (
            {**GOOD, "provider_url": "http://llm.example.com"},
            "provider_url: use https://",
        ),
        ({**GOOD, "provider_url": "https://169.254.169.254/"}, "link-local"),
        ({**GOOD, "provider_kind": "bedrock"}, "provider_kind must be one of openai, anthropic"),
        ({**GOOD, "provider_kind": "anthropic"}, "no embeddings API: set embeddings_url"),
        ({**GOOD, "embeddings_url": 7}, "must be strings"),
    ],
)
def test_a_bad_secret_is_named_without_its_values(fields: object, message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        parse(fields)
    assert GOOD["api_key"] not in str(error.value)


def test_a_secret_that_is_not_json_is_refused() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        parse_byop_secret("sk-raw-key", embedding_model="e", allow_plaintext=False)


GATEWAY = ProviderCredentials(base_url="http://one-api:8080", api_key="", model="m")


@pytest.mark.parametrize(
    "raw", ["mk-gateway-token-0001\n", '{"api_key": " mk-gateway-token-0001 "}']
)
def test_the_gateway_token_secret_is_the_raw_token_or_json_with_api_key(raw: str) -> None:
    credentials = parse_managed_api_key(raw, gateway=GATEWAY)
    assert credentials.api_key == "mk-gateway-token-0001"
    assert (credentials.base_url, credentials.model) == (GATEWAY.base_url, GATEWAY.model)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("mk-gateway token", "whitespace"),
        ('{"api_key": "mk-gateway-token-0001"', "not JSON"),
        ('{"token": "mk-gateway-token-0001"}', "lacks api_key"),
    ],
)
def test_a_bad_gateway_token_secret_is_named_without_its_value(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        parse_managed_api_key(raw, gateway=GATEWAY)
    assert "mk-gateway" not in str(error.value)


class RecordingUpstream:
    """Stands in for the HTTP client: records the payload, answers like chat completions."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    async def post_json(
        self, url: str, *, payload: dict[str, Any], answer_type: type, **_: Any
    ) -> Any:
        self.payloads.append(payload)
        if "system" in payload:  # Anthropic Messages
            return msgspec.convert({"content": [{"type": "text", "text": "ok"}]}, answer_type)
        return msgspec.convert({"choices": [{"message": {"content": "ok"}}]}, answer_type)


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_no_chat_call_asks_for_more_tokens_than_the_cap(kind: str) -> None:
    upstream = RecordingUpstream()
    credentials = ProviderCredentials(
        kind=kind,
        base_url="https://llm.example.com/v1",
        api_key="k",
        model="m",  # type: ignore[arg-type]
        embeddings_url="https://emb.example.com/v1",
    )
    client = InferenceClient(
        upstream,
        StaticCredentials(credentials),
        embedding_dimensions=8,
        max_output_tokens=512,  # type: ignore[arg-type]
    )
    message = (ChatMessage(role="user", content="hello"),)
    asyncio.run(client.chat(ChatRequest(system="s", messages=message, max_tokens=96_256)))
    asyncio.run(client.chat(ChatRequest(system="s", messages=message, max_tokens=300)))
    assert [payload["max_tokens"] for payload in upstream.payloads] == [512, 300]


class KeyCheckingUpstream(RecordingUpstream):
    """Refuses every key but ``valid_key`` with 401, as a provider does after a rotation."""

    def __init__(self, valid_key: str) -> None:
        super().__init__()
        self.valid_key = valid_key

    async def post_json(self, url: str, *, headers: dict[str, str], **rest: Any) -> Any:
        if headers.get("Authorization") != f"Bearer {self.valid_key}":
            raise ProviderAuthError("the provider refused the service's key (401)")
        return await super().post_json(url, headers=headers, **rest)


def test_a_refused_key_is_re_read_once_and_the_call_retried() -> None:
    stored = [json.dumps({**GOOD, "api_key": "sk-old-key-0010"})]
    secret = RefreshingSecret[ProviderCredentials](
        name="BYOP secret",
        read=lambda: stored[0],
        parse=lambda raw: parse_byop_secret(raw, embedding_model="e", allow_plaintext=False),
    )
    upstream = KeyCheckingUpstream("sk-new-key-0011")
    client = InferenceClient(upstream, secret, embedding_dimensions=8, max_output_tokens=64)  # type: ignore[arg-type]
    message = (ChatMessage(role="user", content="hello"),)

    async def scenario() -> str:
        await secret.refresh()
        stored[0] = json.dumps({**GOOD, "api_key": "sk-new-key-0011"})  # rotated, not yet re-read
        answer = await client.chat(ChatRequest(system="s", messages=message))
        upstream.valid_key = "sk-newer-key-0012"
        with pytest.raises(ProviderAuthError):  # a second refusal within 30 s is not retried
            await client.chat(ChatRequest(system="s", messages=message))
        return answer

    assert asyncio.run(scenario()) == "ok"
    assert secret.current().api_key == "sk-new-key-0011"


def test_static_credentials_pass_a_refusal_through() -> None:
    upstream = KeyCheckingUpstream("another-key-0013")
    credentials = ProviderCredentials(base_url="https://llm.example.com/v1", api_key="k", model="m")
    client = InferenceClient(
        upstream, StaticCredentials(credentials), embedding_dimensions=8, max_output_tokens=64
    )  # type: ignore[arg-type]
    with pytest.raises(ProviderAuthError):
        asyncio.run(client.embed(["text"]))
