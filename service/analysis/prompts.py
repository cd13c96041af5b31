"""What the model is asked, and the shape its answers must have."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from service.providers.base import ChatMessage, ChatRequest, JsonSchema

ANALYSIS_SYSTEM = (
    "You compress paragraphs into a semantic category and covariant details. "
    "The semantic category is a short, abstract 5-6 word noun phrase ending with a period that "
    "states what stays constant in the paragraph. Each element is a 1-3 word label of a subject, "
    "object or role that varies; its detail is a short predicate-like fragment about that "
    "element, without repeating the element. Use only information from the paragraph. "
    "Answer with the JSON object only."
)
RECONSTRUCTION_SYSTEM = (
    "Synthesize the compressed details into one clear, concise paragraph using only the given "
    "information, no preamble. A hyperstring is 'Category::0=detail;1=detail;...'."
)


class AnalysisOutput(msgspec.Struct, kw_only=True):
    semantic_category: str
    elements: list[str] = []
    details: list[str] = []


class InvalidOutputError(ValueError):
    """The model's answer does not have the requested shape; the message says how."""


def analysis_request(paragraph: str, detail_count: int, *, temperature: float = 0.2) -> ChatRequest:
    if detail_count:
        ask = (
            f"Give the semantic category, exactly {detail_count} elements and exactly "
            f"{detail_count} details (detail i belongs to element i), as JSON with keys "
            "semantic_category, elements, details."
        )
    else:
        ask = "Give only the semantic category, as JSON with the key semantic_category."
    return ChatRequest(
        system=ANALYSIS_SYSTEM,
        messages=(ChatMessage(role="user", content=f"{ask}\n\nParagraph:\n{paragraph}"),),
        output_schema=JsonSchema(name="hypernym_analysis", schema=analysis_schema(detail_count)),
        temperature=temperature,
        max_tokens=256 + 96 * detail_count,
    )


def analysis_schema(detail_count: int) -> dict[str, Any]:
    properties: dict[str, Any] = {"semantic_category": {"type": "string", "minLength": 1}}
    if detail_count:
        strings = {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": detail_count,
            "maxItems": detail_count,
        }
        properties |= {"elements": strings, "details": strings}
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def reconstruction_request(hyperstring: str, detail_count: int) -> ChatRequest:
    return ChatRequest(
        system=RECONSTRUCTION_SYSTEM,
        messages=(ChatMessage(role="user", content=f"Hyperstring:\n{hyperstring}"),),
        temperature=0.3,
        max_tokens=200 + 80 * detail_count,
    )


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_analysis(answer: str, detail_count: int) -> AnalysisOutput:
    """The analysis in ``answer`` (a fenced code block is tolerated), or InvalidOutputError."""
    fenced = _FENCE.match(answer)
    text = fenced.group(1) if fenced else answer
    try:
        output = msgspec.json.decode(text, type=AnalysisOutput)
    except msgspec.ValidationError as error:
        raise InvalidOutputError(f"wrong JSON shape: {error}") from error
    except msgspec.DecodeError as error:
        raise InvalidOutputError("not a JSON object") from error
    if not output.semantic_category.strip():
        raise InvalidOutputError("semantic_category is empty")
    if detail_count and (
        len(output.elements) != detail_count or len(output.details) != detail_count
    ):
        raise InvalidOutputError(
            f"expected {detail_count} elements and {detail_count} details, got "
            f"{len(output.elements)} and {len(output.details)}"
        )
    if any(not item.strip() for item in (*output.elements, *output.details)):
        raise InvalidOutputError("an element or detail is empty")
    return output


def parse_reconstruction(answer: str) -> str:
    text = answer.strip()
    if not text:
        raise InvalidOutputError("the reconstruction is empty")
    return text
