"""POST /analyze_sync against the captured pairs of hypernym-api.md §3, over real HTTP.

The fake provider answers with Hypernym's captured model output, so every number that follows
from the text (tokens, ratios, totals, the suggested text) must equal the capture exactly.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any

import pytest

from service.analysis.tokens import count_tokens
from tests.fakes import captures
from tests.fakes.fake_provider import FINANCIAL_ADVICE_TEXT, FINANCIAL_CATEGORY, FakeProvider
from tests.service.conftest import BASIC_KEY, NORTHSTAR_KEY, STANDARD_KEY
from tests.service.runner import ServiceProcess

STANDARD = {"X-API-Key": STANDARD_KEY}


def analyze(
    service: ServiceProcess, body: dict[str, Any], headers: dict[str, str] = STANDARD
) -> dict[str, Any]:
    reply = service.request("POST", "/analyze_sync", body, headers=headers)
    assert reply.status == 200, reply.body
    return reply.json()


def test_basic_partial_analysis_matches_capture_3_1(
    service: ServiceProcess, fake: FakeProvider
) -> None:
    params = {
        "min_compression_ratio": 0.5,
        "min_semantic_similarity": 0.8,
        "analysis_mode": "partial",
    }
    body = analyze(service, {"essay_text": captures.ESSAY_TEXT, "params": params})

    assert set(body) == captures.CAPTURED_ENVELOPE_KEYS
    assert body["status"] == "success"
    assert body["tier"] == "standard"
    assert re.fullmatch(r"req-[0-9a-f-]{36}", body["request_id"])
    uuid.UUID(body["request_id"][4:])
    assert re.fullmatch(r"[0-9a-f]{32}", body["log_id"])
    assert isinstance(body["processing_time"], float)

    results = body["results"]
    metadata = results["metadata"]
    assert set(metadata) == captures.CAPTURED_METADATA_KEYS
    assert metadata["tokens"] == {
        "in": captures.TOKENS_IN,
        "out": captures.TOKENS_OUT_5,
        "total": captures.TOKENS_IN + captures.TOKENS_OUT_5,
    }
    assert metadata["version"] == "0.2.0"
    assert metadata["filters_applied"] is False
    assert metadata["excluded_segments_count"] == 0
    assert re.fullmatch(r"\d+\.\d\ds", metadata["processing_time"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", metadata["timestamp"])
    assert metadata["parallel_processing"] is True
    assert set(metadata["parallel_metrics"]) == captures.CAPTURED_PARALLEL_METRICS_KEYS
    assert metadata["parallel_metrics"]["total_paragraphs"] == 1
    assert metadata["parallel_metrics"]["max_concurrent_tasks"] == 1

    request = results["request"]
    assert request["content"] == captures.ESSAY_TEXT  # raw, trailing space kept
    assert request["filters"] == {}
    assert set(request["params"]) == captures.CAPTURED_PARAMS_KEYS
    assert request["params"] == {
        "analysis_mode": "partial",
        "force_detail_count": None,
        "force_single_segment": False,
        "hashed_api_key": hashlib.sha256(STANDARD_KEY.encode()).hexdigest()[:16],
        "include_embeddings": False,
        "min_compression_ratio": 0.5,
        "min_semantic_similarity": 0.8,
        "request_id": body["request_id"],
        "tier": "standard",
    }

    response = results["response"]
    assert response["meta"]["embedding"]["dimensions"] == 768
    assert response["texts"] == {
        "compressed": captures.HYPERSTRING_5,
        "suggested": captures.HYPERSTRING_5,
    }
    (segment,) = response["segments"]
    assert set(segment) == captures.CAPTURED_SEGMENT_KEYS
    assert segment["was_compressed"] is True
    assert segment["has_semantic_category"] is True
    assert segment["semantic_category"] == captures.CATEGORY
    assert segment["covariant_elements"] == [
        {str(i): e} for i, e in enumerate(captures.ELEMENTS_5, start=1)
    ]
    assert segment["covariant_details"] == [
        {"n": n, "text": d} for n, d in enumerate(captures.DETAILS_5)
    ]
    assert segment["original"] == {"text": captures.ESSAY_TEXT.strip()}
    assert segment["reconstructed"] == {"text": captures.RECONSTRUCTION_5}
    assert segment["compression_ratio"] == 0.3559322033898305  # 84 / 236, as captured
    assert segment["semantic_similarity"] == pytest.approx(0.8452141284942627, abs=1e-12)
    assert segment["min_compression_ratio"] == 0.5
    assert segment["min_semantic_similarity"] == 0.8
    assert segment["category_similarities"] == {}
    assert segment["excluded_by_filter"] is False
    assert segment["exclusion_reason"] is None


def test_nine_forced_details_fail_the_ratio_so_suggested_is_the_original_3_2(
    service: ServiceProcess,
) -> None:
    params = {
        "min_compression_ratio": 0.3,
        "min_semantic_similarity": 0.7,
        "force_detail_count": 9,
        "analysis_mode": "partial",
    }
    body = analyze(service, {"essay_text": captures.ESSAY_TEXT, "params": params})
    results = body["results"]
    assert results["metadata"]["tokens"] == {"in": 236, "out": 115, "total": 351}
    assert results["request"]["params"]["force_detail_count"] == 9
    (segment,) = results["response"]["segments"]
    assert len(segment["covariant_elements"]) == 9
    assert segment["covariant_elements"][0] == {"1": "quantum computing"}
    assert segment["covariant_elements"][8] == {"9": "quantum challenges"}
    assert segment["covariant_details"][1] == {
        "n": 1,
        "text": "use bits that represent either 0 or 1.",
    }
    assert segment["compression_ratio"] == 0.4872881355932203  # 115 / 236, as captured
    assert segment["semantic_similarity"] == pytest.approx(0.8691549301147461, abs=1e-12)
    assert results["response"]["texts"]["compressed"] == captures.HYPERSTRING_9
    assert results["response"]["texts"]["suggested"] == captures.ESSAY_TEXT.strip()


def test_filters_score_the_category_without_excluding_3_3(service: ServiceProcess) -> None:
    filters = {
        "purpose": {
            "exclude": [
                {"semantic_category": "financial", "min_semantic_similarity": 0.35},
                {"semantic_category": "investment", "min_semantic_similarity": 0.35},
            ]
        }
    }
    params = {"min_compression_ratio": 0.5, "min_semantic_similarity": 0.8, "force_detail_count": 5}
    body = analyze(
        service, {"essay_text": captures.ESSAY_TEXT, "params": params, "filters": filters}
    )
    results = body["results"]
    assert results["metadata"]["filters_applied"] is True
    assert results["metadata"]["excluded_segments_count"] == 0
    assert results["request"]["filters"] == filters
    assert "analysis_mode" not in results["request"]["params"]
    (segment,) = results["response"]["segments"]
    assert segment["category_similarities"] == pytest.approx(
        {"financial": 0.13671241700649261, "investment": 0.16041812300682068}, abs=1e-12
    )
    assert segment["excluded_by_filter"] is False
    assert segment["exclusion_reason"] is None
    assert results["response"]["texts"]["suggested"] == captures.HYPERSTRING_5


def test_standard_key_asking_for_northstar_features_is_silently_downgraded_3_4(
    service: ServiceProcess,
) -> None:
    params = {
        "min_compression_ratio": 0.5,
        "min_semantic_similarity": 0.8,
        "analysis_mode": "comprehensive",
        "timeout": 900,
        "force_detail_count": 15,
        "include_embeddings": True,
    }
    body = analyze(service, {"essay_text": captures.ESSAY_TEXT, "params": params})
    echo = body["results"]["request"]["params"]
    assert echo["analysis_mode"] == "comprehensive"
    assert echo["timeout"] == 900
    assert echo["force_detail_count"] is None
    assert echo["include_embeddings"] is False
    (segment,) = body["results"]["response"]["segments"]
    assert len(segment["covariant_details"]) == 5
    assert "trials" not in segment
    assert set(segment["original"]) == {"text"}
    assert body["results"]["metadata"]["tokens"]["out"] == 84


def test_filter_exclusion_drops_the_segment_from_suggested_only_3_5(
    service: ServiceProcess,
) -> None:
    text = captures.ESSAY_TEXT + "\n\n" + FINANCIAL_ADVICE_TEXT
    filters = {
        "purpose": {
            "exclude": [{"semantic_category": "investment advice", "min_semantic_similarity": 0.35}]
        }
    }
    body = analyze(service, {"essay_text": text, "filters": filters})
    results = body["results"]
    assert results["metadata"]["filters_applied"] is True
    assert results["metadata"]["excluded_segments_count"] == 1
    assert results["metadata"]["parallel_metrics"]["total_paragraphs"] == 2
    quantum, financial = results["response"]["segments"]
    assert quantum["excluded_by_filter"] is False
    assert financial["semantic_category"] == FINANCIAL_CATEGORY
    assert financial["excluded_by_filter"] is True
    assert financial["exclusion_reason"] == pytest.approx(
        {"filter_category": "investment advice", "similarity": 0.79, "threshold": 0.35}, abs=1e-12
    )
    texts = results["response"]["texts"]
    financial_hyperstring = texts["compressed"].split("\n\n")[1]
    assert financial_hyperstring.startswith(FINANCIAL_CATEGORY + "::")
    assert texts["suggested"] == captures.HYPERSTRING_5  # defaults 1.0/0.0 accept the hyperstring
    assert FINANCIAL_CATEGORY not in texts["suggested"]


def test_excluding_every_segment_leaves_suggested_empty(service: ServiceProcess) -> None:
    filters = {"purpose": {"exclude": [{"semantic_category": "investment advice"}]}}  # default 0.35
    body = analyze(service, {"essay_text": FINANCIAL_ADVICE_TEXT, "filters": filters})
    assert body["results"]["metadata"]["excluded_segments_count"] == 1
    assert body["results"]["response"]["texts"]["suggested"] == ""
    assert body["results"]["response"]["texts"]["compressed"].startswith(FINANCIAL_CATEGORY)


def test_too_short_text_gets_a_category_only_3_6(service: ServiceProcess) -> None:
    body = analyze(service, {"essay_text": captures.SHORT_TEXT})
    (segment,) = body["results"]["response"]["segments"]
    assert segment["was_compressed"] is False
    assert segment["semantic_category"] == captures.SHORT_CATEGORY
    assert segment["covariant_elements"] == []
    assert segment["covariant_details"] == []
    assert segment["compression_ratio"] == 1.0
    assert segment["semantic_similarity"] == 1.0
    assert segment["reconstructed"] is None
    texts = body["results"]["response"]["texts"]
    assert texts == {"compressed": captures.SHORT_TEXT, "suggested": captures.SHORT_TEXT}
    tokens = body["results"]["metadata"]["tokens"]
    assert tokens["in"] == tokens["out"] == 4
    assert tokens["total"] == 8


def test_paragraphs_become_segments_unless_one_segment_is_forced(service: ServiceProcess) -> None:
    paragraphs = [
        "Solar panels convert sunlight into electricity using photovoltaic cells made of silicon. "
        "Their efficiency has risen steadily while prices fell by an order of magnitude.",
        "Wind turbines capture kinetic energy from moving air and turn a generator. Offshore "
        "farms benefit from stronger and steadier winds than sites on land.",
        "Grid storage smooths the variable output of renewables. Batteries, pumped hydro and "
        "thermal storage each cover different durations and costs.",
    ]
    text = "\n\n".join(paragraphs)
    body = analyze(service, {"essay_text": text})
    segments = body["results"]["response"]["segments"]
    assert [s["original"]["text"] for s in segments] == paragraphs
    metadata = body["results"]["metadata"]
    assert metadata["parallel_metrics"]["total_paragraphs"] == 3
    assert 1 <= metadata["parallel_metrics"]["max_concurrent_tasks"] <= 3
    assert metadata["tokens"]["total"] == metadata["tokens"]["in"] + metadata["tokens"]["out"]
    hyperstrings = body["results"]["response"]["texts"]["compressed"].split("\n\n")
    for segment, paragraph, hyper in zip(segments, paragraphs, hyperstrings, strict=True):
        tokens = count_tokens(paragraph)
        assert segment["was_compressed"] is True
        # Under 1000 characters the detail count follows the tokens: min(4, (tokens - 10) // 8).
        assert len(segment["covariant_details"]) == min(4, (tokens - 10) // 8)
        assert segment["compression_ratio"] == count_tokens(hyper) / tokens
    assert metadata["tokens"]["in"] == count_tokens(text)
    assert metadata["tokens"]["out"] == sum(count_tokens(h) for h in hyperstrings)

    single = analyze(service, {"essay_text": text, "params": {"force_single_segment": True}})
    (segment,) = single["results"]["response"]["segments"]
    assert segment["original"]["text"] == text
    assert single["results"]["request"]["params"]["force_single_segment"] is True


def test_northstar_gets_forced_counts_and_embeddings(service: ServiceProcess) -> None:
    params = {"force_detail_count": 12, "include_embeddings": True}
    body = analyze(
        service,
        {"essay_text": captures.ESSAY_TEXT, "params": params},
        headers={"X-API-Key": NORTHSTAR_KEY},
    )
    assert body["tier"] == "northstar"
    assert body["results"]["request"]["params"]["force_detail_count"] == 12
    assert body["results"]["request"]["params"]["include_embeddings"] is True
    (segment,) = body["results"]["response"]["segments"]
    assert len(segment["covariant_details"]) == 12
    for text in (segment["original"], segment["reconstructed"]):
        assert text["embedding"]["dimensions"] == 768
        assert len(text["embedding"]["values"]) == 768


def test_unknown_fields_are_accepted_and_ignored(service: ServiceProcess) -> None:
    body = analyze(
        service,
        {
            "essay_text": captures.SHORT_TEXT,
            "message_history": "",
            "extra": {"x": 1},
            "params": {"surprise": True},
        },
    )
    assert body["status"] == "success"


def test_bearer_authorization_is_accepted_like_x_api_key(service: ServiceProcess) -> None:
    body = analyze(
        service,
        {"essay_text": captures.SHORT_TEXT},
        headers={"Authorization": f"Bearer {NORTHSTAR_KEY}"},
    )
    assert body["tier"] == "northstar"


def test_rate_limits_report_the_callers_tier(service: ServiceProcess) -> None:
    reply = service.request("GET", "/user/rate-limits", headers=STANDARD)
    assert reply.status == 200
    limits = reply.json()
    assert limits["tier"] == "standard"
    assert limits["requests_per_hour"] == 2000
    assert limits["concurrent_paragraphs"] == 6
    assert limits["recommended"] == {"max_workers": 6}
    assert limits["analysis_modes"] == ["partial"]
    northstar = service.request(
        "GET", "/user/rate-limits", headers={"X-API-Key": NORTHSTAR_KEY}
    ).json()
    assert northstar["concurrent_paragraphs"] == 128
    assert northstar["force_detail_count"] == {"min": 1, "max": None}
    basic = service.request("GET", "/user/rate-limits", headers={"X-API-Key": BASIC_KEY}).json()
    assert (basic["requests_per_hour"], basic["concurrent_paragraphs"]) == (1000, 2)
    assert basic["force_detail_count"] == {"min": 3, "max": 9}


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/analyze_begin"), ("GET", "/analyze_status/abc")]
)
def test_async_endpoints_answer_501_with_a_detail(
    service: ServiceProcess, method: str, path: str
) -> None:
    reply = service.request(
        method, path, {"essay_text": "x"} if method == "POST" else None, headers=STANDARD
    )
    assert reply.status == 501
    assert "analyze_sync" in reply.json()["detail"]


def test_northstar_comprehensive_mode_returns_every_trial_and_their_consensus(
    service: ServiceProcess, fake: FakeProvider
) -> None:
    params = {
        "analysis_mode": "comprehensive",
        "min_compression_ratio": 0.5,
        "min_semantic_similarity": 0.8,
    }
    body = analyze(
        service,
        {"essay_text": captures.ESSAY_TEXT, "params": params},
        headers={"X-API-Key": NORTHSTAR_KEY},
    )
    metadata = body["results"]["metadata"]
    assert (metadata["analysis_mode"], metadata["cache_hit"]) == ("comprehensive", False)
    assert metadata["tokens"] == {"in": 236, "out": 84, "total": 320}
    (segment,) = body["results"]["response"]["segments"]
    assert len(segment["trials"]) == 60  # COMPREHENSIVE_TRIALS default
    trial = segment["trials"][0]
    assert trial == {
        "semantic_category": captures.CATEGORY,
        "covariant_details": [{"n": n, "text": d} for n, d in enumerate(captures.DETAILS_5)],
        "hyperstring": captures.HYPERSTRING_5,
        "compression_ratio": 84 / 236,
        "recomposition_results": [
            {"text": captures.RECONSTRUCTION_5, "similarity": trial["avg_similarity"]}
        ],
        "avg_similarity": pytest.approx(0.8452141284942627, abs=1e-12),
    }
    assert segment["semantic_category"] == captures.CATEGORY
    assert segment["semantic_similarity"] == pytest.approx(0.8452141284942627, abs=1e-12)
    assert body["results"]["response"]["texts"]["suggested"] == captures.HYPERSTRING_5
    assert fake.calls["chat"] == 120  # an analysis and a reconstruction per trial
    assert fake.calls["embeddings"] == 1  # the original and all 60 reconstructions in one call


def test_segments_run_concurrently_up_to_the_tiers_limit(
    service: ServiceProcess, fake: FakeProvider
) -> None:
    paragraphs = [
        f"Paragraph {word} describes how a {word} system stores, moves and protects data for "
        "many users across several regions with careful replication."
        for word in ("first", "second", "third", "fourth", "fifth")
    ]
    fake.latency_ms = 50  # keep every segment in flight long enough to overlap
    try:
        basic = analyze(service, {"essay_text": "\n\n".join(paragraphs)}, {"X-API-Key": BASIC_KEY})
        standard = analyze(service, {"essay_text": "\n\n".join(paragraphs)})
    finally:
        fake.latency_ms = 0
    assert basic["results"]["metadata"]["parallel_metrics"]["max_concurrent_tasks"] == 2
    assert standard["results"]["metadata"]["parallel_metrics"]["max_concurrent_tasks"] == 5
