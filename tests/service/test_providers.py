"""Each provider kind end to end: BYOP OpenAI-compatible (both env spellings), Anthropic."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import captures
from tests.fakes.fake_provider import FakeProvider
from tests.service.runner import running_service

PARAMS = {"min_compression_ratio": 0.5, "min_semantic_similarity": 0.8}


def byop_env(fake: FakeProvider, prefix: str, **extra: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "test",
        "INFERENCE_PROVIDER_MODE": "byop",
        f"{prefix}_PROVIDER_URL": fake.url,
        f"{prefix}_API_KEY": "byop-key-1",
        f"{prefix}_MODEL_NAME": "byop-model",
        "ALLOW_PLAINTEXT_PROVIDER": "true",
        "LOG_LEVEL": "warning",
        **extra,
    }


@pytest.mark.parametrize("prefix", ["UPSTREAM", "BYOP"])
def test_byop_openai_compatible_provider(fake: FakeProvider, tmp_path: Path, prefix: str) -> None:
    with running_service(byop_env(fake, prefix), tmp_path / "service.log") as service:
        reply = service.request(
            "POST", "/analyze_sync", {"essay_text": captures.ESSAY_TEXT, "params": PARAMS}
        )
    assert reply.status == 200
    body = reply.json()
    assert body["results"]["response"]["texts"]["suggested"] == captures.HYPERSTRING_5
    assert body["results"]["metadata"]["tokens"] == {"in": 236, "out": 84, "total": 320}
    assert set(fake.authorizations) == {"Bearer byop-key-1"}
    assert fake.calls["chat"] == 2
    assert fake.calls["embeddings"] == 1


def test_anthropic_messages_with_separate_embeddings_endpoint(
    fake: FakeProvider, tmp_path: Path
) -> None:
    env = byop_env(
        fake,
        "UPSTREAM",
        UPSTREAM_PROVIDER_KIND="anthropic",
        UPSTREAM_EMBEDDINGS_URL=fake.url,
        UPSTREAM_EMBEDDINGS_API_KEY="embed-key",
    )
    with running_service(env, tmp_path / "service.log") as service:
        reply = service.request(
            "POST", "/analyze_sync", {"essay_text": captures.ESSAY_TEXT, "params": PARAMS}
        )
        fake.inject("content_filter", count=1)
        refused = service.request("POST", "/analyze_sync", {"essay_text": captures.ESSAY_TEXT})
    assert refused.status == 408
    assert refused.json()["detail"] == "the model refused messages on content grounds"
    assert reply.status == 200, reply.body
    segment = reply.json()["results"]["response"]["segments"][0]
    assert segment["covariant_details"][0]["text"] == captures.DETAILS_5[0]
    assert segment["reconstructed"]["text"] == captures.RECONSTRUCTION_5
    assert segment["semantic_similarity"] == pytest.approx(0.8452141284942627, abs=1e-12)
    assert fake.calls["messages"] == 3  # analysis and reconstruction, then the refused one
    assert fake.calls["chat"] == 0
    # Chat authenticates with x-api-key, embeddings with their own bearer key.
    assert sorted(set(fake.authorizations)) == ["Bearer embed-key", "byop-key-1"]


def test_native_embedding_size_sends_no_dimensions(fake: FakeProvider, tmp_path: Path) -> None:
    """EMBEDDING_DIMENSIONS=0 is for providers that reject the parameter (ada-002, vLLM)."""
    env = byop_env(fake, "UPSTREAM", EMBEDDING_DIMENSIONS="0")
    with running_service(env, tmp_path / "service.log") as service:
        reply = service.request("POST", "/analyze_sync", {"essay_text": captures.ESSAY_TEXT})
    assert reply.status == 200, reply.body
    assert fake.requested_dimensions == [None]
    assert reply.json()["results"]["response"]["meta"]["embedding"]["dimensions"] == 768
