"""The wire request to the domain: the body decoded strictly, effective options after tier
limits, and the request echo."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, HTTPException
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE
from msgspec import UNSET

from service.analysis.filters import PurposeFilter
from service.analysis.pipeline import AnalysisOptions
from service.analysis.tiers import Tier, allowed_detail_count, deadline_is_requested
from service.api.schemas import (
    FIELD_HINTS,
    AnalyzeParams,
    AnalyzeRequest,
    EchoParams,
    Filters,
    RequestEcho,
)
from service.settings import AnalysisSettings

JSON_MEDIA_TYPE = "application/json"


class InvalidBodyError(ValueError):
    """The body is not a valid analysis request; ``str(error)`` is the client's one-line detail."""


def check_body(body: bytes, content_type: str) -> None:
    """A body at all, declared as JSON."""
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        raise InvalidBodyError(
            f"the body must be JSON, sent with Content-Type: {JSON_MEDIA_TYPE} "
            f"(this request says {media_type or 'nothing'})"
        )
    if not body.strip():
        raise InvalidBodyError(
            "the request body is empty: send a JSON object with essay_text, the text to analyse"
        )


def decode_analyze_request(body: bytes, content_type: str) -> AnalyzeRequest:
    """The request, decoded strictly: JSON types exactly as the schema says (``1`` or ``"true"``
    is no boolean), declared as JSON, no nesting deeper than the decoder's recursion limit."""
    check_body(body, content_type)
    try:
        return msgspec.json.decode(body, type=AnalyzeRequest)
    except RecursionError:
        raise InvalidBodyError(
            "the request body is nested too deeply to be an analysis request: send a JSON "
            "object with essay_text, and optionally params and filters"
        ) from None
    except msgspec.ValidationError as error:
        raise InvalidBodyError(f"invalid request: {_validation_detail(error)}") from None
    except msgspec.DecodeError as error:
        raise InvalidBodyError(f"the request body is not valid JSON ({error})") from None


def _validation_detail(error: msgspec.ValidationError) -> str:
    """msgspec's "Expected `bool`, got `int` - at `$.params.include_embeddings`" as
    "params.include_embeddings: Expected `bool`, got `int`", with a hint where one helps."""
    message, _, where = str(error).partition(" - at `$")
    key = where.removesuffix("`").removeprefix(".")
    if not key:
        return message
    hint = FIELD_HINTS.get(key)
    return f"{key}: {message}" + (f" ({hint})" if hint else "")


class StrictBodyRequest(Request[Any, Any, Any]):
    """The analysis request's body, decoded strictly by :func:`decode_analyze_request` (Litestar
    would coerce ``1`` and ``"true"`` to booleans, accept any content type, and fail with a 500
    on deeply nested JSON); the handler's ``data`` is then that already-decoded request."""

    async def body(self) -> bytes:
        # Litestar reads the body first and takes an empty one for a missing ``data`` field.
        body = await super().body()
        try:
            check_body(body, self.headers.get("content-type", ""))
        except InvalidBodyError as error:
            raise ClientException(detail=str(error)) from None
        return body

    async def json(self) -> Any:
        try:
            return decode_analyze_request(await self.body(), self.headers.get("content-type", ""))
        except InvalidBodyError as error:
            raise ClientException(detail=str(error)) from None


def analysis_options(
    request: AnalyzeRequest, tier: Tier, settings: AnalysisSettings
) -> AnalysisOptions:
    """What the analysis runs with: northstar-only features silently dropped for other tiers
    (§3.4), filter thresholds defaulted, concurrency and trials from the tier."""
    params = request.params or AnalyzeParams()
    filters = request.filters or Filters()
    excludes = filters.purpose.exclude if filters.purpose is not UNSET else []
    comprehensive = params.analysis_mode == "comprehensive" and tier.comprehensive
    return AnalysisOptions(
        min_compression_ratio=params.min_compression_ratio,
        min_semantic_similarity=params.min_semantic_similarity,
        force_single_segment=params.force_single_segment,
        detail_count=allowed_detail_count(params.force_detail_count, tier),
        include_embeddings=params.include_embeddings and tier.embeddings,
        filters=tuple(
            PurposeFilter(
                label=entry.semantic_category.strip(),
                threshold=settings.default_filter_threshold
                if entry.min_semantic_similarity is UNSET
                else entry.min_semantic_similarity,
            )
            for entry in excludes
        ),
        trials=settings.comprehensive_trials if comprehensive else 1,
        max_concurrency=tier.concurrent_paragraphs,
    )


def require_input_size(request: AnalyzeRequest, settings: AnalysisSettings) -> None:
    """413 for an ``essay_text`` over ``MAX_INPUT_CHARS`` (sync and async alike)."""
    limit = settings.max_input_chars
    if len(request.essay_text) > limit:
        raise HTTPException(
            status_code=HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            detail=(
                f"essay_text has {len(request.essay_text)} characters; this service accepts at "
                f"most {limit} (MAX_INPUT_CHARS): split the text into several requests"
            ),
        )


def requested_timeout(request: AnalyzeRequest) -> int | None:
    params = request.params or AnalyzeParams()
    return None if params.timeout is UNSET else params.timeout


def deadline_passed_detail(request: AnalyzeRequest, tier: Tier, deadline: float) -> str:
    """What a client is told when its analysis outlived `deadline`, naming whose limit it was:
    its own `params.timeout` or the tier's."""
    whose_limit = (
        "the timeout the request set in params.timeout"
        if deadline_is_requested(tier, requested_timeout(request))
        else f"the {tier.name} tier's limit"
    )
    return (
        f"the analysis did not finish within {deadline} s ({whose_limit}): "
        "send fewer paragraphs per request or retry later"
    )


def request_echo(
    request: AnalyzeRequest,
    options: AnalysisOptions,
    *,
    hashed_api_key: str | None,
    request_id: str,
    tier: str,
) -> RequestEcho:
    """``results.request``: the text as sent, the filters as sent, the effective params;
    ``analysis_mode`` and ``timeout`` only when the client sent them."""
    params = request.params or AnalyzeParams()
    return RequestEcho(
        content=request.essay_text,
        filters=request.filters or Filters(),
        params=EchoParams(
            analysis_mode=params.analysis_mode,
            force_detail_count=options.detail_count,
            force_single_segment=options.force_single_segment,
            hashed_api_key=hashed_api_key,
            include_embeddings=options.include_embeddings,
            min_compression_ratio=options.min_compression_ratio,
            min_semantic_similarity=options.min_semantic_similarity,
            request_id=request_id,
            tier=tier,
            timeout=params.timeout,
        ),
    )
