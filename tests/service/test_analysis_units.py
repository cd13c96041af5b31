"""The analysis as plain functions: no HTTP, no provider."""

from __future__ import annotations

import math

import msgspec
import pytest

from service.analysis.filters import PurposeFilter, apply_filters, cosine
from service.analysis.hyperstring import clean_fragment, hyperstring, suggested_uses_hyperstring
from service.analysis.prompts import InvalidOutputError, analysis_schema, parse_analysis
from service.analysis.segmentation import split_segments
from service.analysis.tiers import (
    TIERS,
    allowed_detail_count,
    deadline_is_requested,
    deadline_seconds,
)
from service.analysis.tokens import count_tokens
from service.analysis.trials import Draft, Trial, consensus_trial, trial_temperatures
from service.analysis.zones import Zone, automatic_detail_count, plan_segment
from service.api.requests import deadline_passed_detail
from service.api.schemas import AnalyzeRequest
from tests.fakes import captures


def test_o200k_counts_match_the_captures() -> None:
    assert count_tokens(captures.ESSAY_TEXT) == 236
    assert count_tokens(captures.HYPERSTRING_5) == 84
    assert count_tokens(captures.HYPERSTRING_9) == 115
    assert count_tokens("<|endoftext|>") == 7  # special-token text in user input is plain text


def test_hyperstring_format() -> None:
    assert hyperstring(captures.CATEGORY, captures.DETAILS_5) == captures.HYPERSTRING_5
    assert hyperstring("Cat.", ["a", "b"]) == "Cat.::0=a;1=b"
    assert clean_fragment(" one;\n two::three ") == "one, two:three"


@pytest.mark.parametrize(
    ("ratio", "similarity", "expected"),
    [
        (0.3559322033898305, 0.8452141284942627, True),  # §3.1 with thresholds 0.5 / 0.8
        (
            0.4872881355932203,
            0.8691549301147461,
            False,
        ),  # §3.2 with thresholds 0.3 / 0.7 (ratio fails)
    ],
)
def test_suggested_rule_on_the_captures(ratio: float, similarity: float, expected: bool) -> None:
    thresholds = (0.5, 0.8) if expected else (0.3, 0.7)
    assert (
        suggested_uses_hyperstring(
            was_compressed=True,
            compression_ratio=ratio,
            semantic_similarity=similarity,
            min_compression_ratio=thresholds[0],
            min_semantic_similarity=thresholds[1],
        )
        is expected
    )


def test_defaults_always_accept_a_compressed_segment_and_never_an_uncompressed_one() -> None:
    assert suggested_uses_hyperstring(
        was_compressed=True,
        compression_ratio=1.0,
        semantic_similarity=0.0,
        min_compression_ratio=1.0,
        min_semantic_similarity=0.0,
    )
    assert not suggested_uses_hyperstring(
        was_compressed=False,
        compression_ratio=1.0,
        semantic_similarity=1.0,
        min_compression_ratio=1.0,
        min_semantic_similarity=0.0,
    )


def test_segmentation_splits_on_blank_lines_and_keeps_raw_text() -> None:
    segments = split_segments("One two.  \n \nThree four. \n\n\n  \n", force_single_segment=False)
    assert [(s.raw, s.text) for s in segments] == [
        ("One two.  ", "One two."),
        ("Three four. ", "Three four."),
    ]
    assert [s.text for s in split_segments("a\n\nb", force_single_segment=True)] == ["a\n\nb"]
    assert split_segments(" \n\n ", force_single_segment=False) == []


@pytest.mark.parametrize(
    ("chars", "tokens", "k"), [(1515, 236, 5), (3001, 700, 6), (200, 40, 3), (90, 17, 0)]
)
def test_automatic_detail_count(chars: int, tokens: int, k: int) -> None:
    assert automatic_detail_count(chars=chars, tokens=tokens) == k


def test_zones() -> None:
    assert (
        plan_segment("Test text to process", tokens=4, forced_detail_count=None).zone is Zone.MICRO
    )
    assert (
        plan_segment("one two three four five six", tokens=6, forced_detail_count=None).zone
        is Zone.INSUFFICIENT_TOKENS
    )
    # A forced k still needs 8 + 8k + 2 tokens.
    words = " ".join(["word"] * 30)
    assert plan_segment(words, tokens=33, forced_detail_count=3).zone is Zone.INSUFFICIENT_TOKENS
    assert plan_segment(words, tokens=34, forced_detail_count=3).detail_count == 3


@pytest.mark.parametrize(
    ("tier", "requested", "allowed"),
    [
        ("standard", 15, None),
        ("standard", 9, 9),
        ("standard", 2, None),
        ("basic", 3, 3),
        ("northstar", 15, 15),
        ("northstar", 0, None),
        ("northstar", None, None),
    ],
)
def test_forced_detail_count_is_clamped_by_tier(
    tier: str, requested: int | None, allowed: int | None
) -> None:
    assert allowed_detail_count(requested, TIERS[tier]) == allowed  # type: ignore[index]


def test_deadline_by_tier() -> None:
    assert deadline_seconds(TIERS["standard"], 900) == 60
    assert deadline_seconds(TIERS["northstar"], None) == 600
    assert deadline_seconds(TIERS["northstar"], 5000) == 1200
    assert deadline_seconds(TIERS["northstar"], 2) == 2


def test_the_deadline_is_the_requests_own_only_where_the_tier_takes_it() -> None:
    assert deadline_is_requested(TIERS["northstar"], 2)
    assert not deadline_is_requested(TIERS["northstar"], None)
    assert not deadline_is_requested(TIERS["northstar"], 5000)  # capped: the tier's limit
    assert not deadline_is_requested(TIERS["standard"], 60)  # ignored, though equal


def test_a_passed_deadline_names_whose_limit_it_was_for_sync_and_async_alike() -> None:
    own = msgspec.convert({"essay_text": "x", "params": {"timeout": 2}}, AnalyzeRequest)
    tiers = msgspec.convert({"essay_text": "x"}, AnalyzeRequest)
    assert "(the timeout the request set in params.timeout)" in deadline_passed_detail(
        own, TIERS["northstar"], 2
    )
    assert "(the standard tier's limit)" in deadline_passed_detail(tiers, TIERS["standard"], 60)


def test_filters_exclude_on_the_best_label_at_or_over_its_threshold() -> None:
    category = [1.0, 0.0, 0.0]
    labels = {"a": [0.5, math.sqrt(0.75), 0.0], "b": [0.8, 0.6, 0.0], "c": [0.0, 0.0, 1.0]}
    outcome = apply_filters(
        category,
        labels,
        [
            PurposeFilter(label="a", threshold=0.5),
            PurposeFilter(label="b", threshold=0.9),
            PurposeFilter(label="c", threshold=0.0),
        ],
    )
    assert outcome.category_similarities == pytest.approx({"a": 0.5, "b": 0.8, "c": 0.0})
    assert outcome.exclusion is not None
    assert (outcome.exclusion.filter_category, outcome.exclusion.threshold) == ("a", 0.5)


def test_cosine_is_clipped_to_unit_interval() -> None:
    assert cosine([1.0, 0.0], [-1.0, 0.0]) == 0.0
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0
    assert cosine([2.0, 0.0], [3.0, 0.0]) == 1.0


def test_model_output_parsing() -> None:
    fenced = '```json\n{"semantic_category": "C.", "elements": ["a"], "details": ["d"]}\n```'
    assert parse_analysis(fenced, 1).details == ["d"]
    with pytest.raises(InvalidOutputError, match="expected 2 elements and 2 details, got 1 and 1"):
        parse_analysis('{"semantic_category": "C.", "elements": ["a"], "details": ["d"]}', 2)
    with pytest.raises(InvalidOutputError, match="not a JSON object"):
        parse_analysis("Sure! Here it is", 0)
    with pytest.raises(InvalidOutputError, match="semantic_category is empty"):
        parse_analysis('{"semantic_category": " "}', 0)
    assert analysis_schema(3)["properties"]["details"]["minItems"] == 3


def test_consensus_takes_the_most_common_category_then_the_best_reconstruction() -> None:
    def trial(category: str, similarity: float) -> Trial:
        draft = Draft(
            semantic_category=category,
            elements=(),
            details=(),
            hyperstring=category,
            tokens_out=1,
            reconstruction=category,
        )
        return Trial(draft=draft, similarity=similarity, reconstruction_vector=[1.0])

    trials = [trial("A.", 0.9), trial("B.", 0.5), trial("b.", 0.7), trial("B.", 0.6)]
    assert consensus_trial(trials) is trials[2]
    assert trial_temperatures(1) == [0.2]
    assert trial_temperatures(5) == [0.2, 0.4, 0.6, 0.8, 1.0]
