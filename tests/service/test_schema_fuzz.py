"""Schema-driven fuzzing of /analyze_sync over real HTTP (hypothesis).

Bodies are drawn around the OpenAPI request schema: valid values, out-of-range and wrong-typed
values, unknown fields, and arbitrary JSON. Every reply must be documented for the operation,
never a 5xx, and match its schema in the served OpenAPI document.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.service.conftest import STANDARD_KEY
from tests.service.runner import ServiceProcess

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
)
any_json = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
unit = st.floats(0, 1)
essay = st.text(max_size=400) | st.lists(st.text(min_size=1, max_size=120), max_size=4).map(
    "\n\n".join
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Nine times in ten a fitting value, else any JSON at all."""
    return st.integers(0, 9).flatmap(lambda pick: strategy if pick else any_json)


params = st.fixed_dictionaries(
    {},
    optional={
        "min_compression_ratio": maybe(unit | st.floats(-2, 3)),
        "min_semantic_similarity": maybe(unit),
        "force_single_segment": maybe(st.booleans()),
        "force_detail_count": maybe(st.none() | st.integers(-3, 30)),
        "analysis_mode": maybe(st.sampled_from(["partial", "comprehensive", "fast"])),
        "timeout": maybe(st.integers(0, 1300)),
        "include_embeddings": maybe(st.booleans()),
        "unknown": any_json,
    },
)
exclude = st.fixed_dictionaries(
    {"semantic_category": maybe(st.text(min_size=0, max_size=30))},
    optional={"min_semantic_similarity": maybe(unit)},
)
filters = st.fixed_dictionaries(
    {},
    optional={
        "purpose": maybe(
            st.fixed_dictionaries({}, optional={"exclude": maybe(st.lists(exclude, max_size=3))})
        )
    },
)
bodies = maybe(
    st.fixed_dictionaries(
        {"essay_text": maybe(essay)},
        optional={"params": maybe(params), "filters": maybe(filters), "message_history": any_json},
    )
)
keys = st.sampled_from([{"X-API-Key": STANDARD_KEY}] * 8 + [{}, {"X-API-Key": "wrong"}])


@pytest.fixture(scope="module")
def validators(service: ServiceProcess) -> dict[str, jsonschema.Draft202012Validator]:
    document = service.request("GET", "/schema/openapi.json").json()
    responses = document["paths"]["/analyze_sync"]["post"]["responses"]
    result = {}
    for status, response in responses.items():
        (schema,) = (content["schema"] for content in response["content"].values())
        result[status] = jsonschema.Draft202012Validator(
            {**schema, "components": document["components"]}
        )
    return result


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, headers=keys)
def test_fuzzed_bodies_get_documented_non_5xx_replies(
    service: ServiceProcess, validators: dict[str, Any], body: Any, headers: dict[str, str]
) -> None:
    reply = service.request("POST", "/analyze_sync", body, headers=headers)
    event(f"HTTP {reply.status}")
    assert reply.status < 500, reply.body
    assert str(reply.status) in validators, (reply.status, reply.body)
    validators[str(reply.status)].validate(reply.json())
