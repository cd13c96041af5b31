"""``POST /analyze_begin`` and ``GET /analyze_status/{id}``: thin handlers over
:mod:`service.jobs` (501 when the deployment has no async jobs)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, HTTPException, NotFoundException

from service.analysis.pipeline import EMPTY_TEXT_DETAIL
from service.analysis.segmentation import split_segments
from service.api.analysis import ANALYSIS_TAGS, ERROR_RESPONSES
from service.api.auth import Caller
from service.api.job_schemas import BeginResponse, JobResults, Progress, StatusResponse
from service.api.requests import analysis_options, require_input_size
from service.api.schemas import AnalysisMode, AnalyzeRequest
from service.jobs.estimate import estimated_seconds
from service.jobs.store import JobStore
from service.settings import Settings

ASYNC_OFF_DETAIL = (
    "asynchronous analysis is not enabled in this deployment ([async] enabled = false): "
    "use POST /analyze_sync"
)
UNKNOWN_JOB_DETAIL = "no analysis with this id: check the id returned by /analyze_begin"


def job_owner(caller: Caller) -> str:
    """Who may read a job: the key that began it (everyone alike under open access)."""
    return caller.hashed_api_key or "open"


def _store(request: Request[Any, Any, Any]) -> JobStore:
    store: JobStore | None = request.app.state.get("jobs")
    if store is None:
        raise HTTPException(status_code=501, detail=ASYNC_OFF_DETAIL)
    return store


@post(
    "/analyze_begin",
    operation_id="AnalyzeBegin",
    tags=ANALYSIS_TAGS,
    status_code=202,
    responses={**ERROR_RESPONSES},
)
async def analyze_begin(
    request: Request[Any, Any, Any],
    data: AnalyzeRequest,
    caller: NamedDependency[Caller],
    settings: NamedDependency[Settings],
) -> BeginResponse:
    """Start an analysis (the /analyze_sync body and rules); poll /analyze_status/{id}."""
    store = _store(request)
    require_input_size(data, settings.analysis)
    tier = caller.tier
    options = analysis_options(data, tier, settings.analysis)
    paragraphs = len(
        split_segments(data.essay_text, force_single_segment=options.force_single_segment)
    )
    if not paragraphs:
        raise ClientException(detail=EMPTY_TEXT_DETAIL)
    job_id = str(uuid.uuid4())
    mode: AnalysisMode = "comprehensive" if options.trials > 1 else "partial"
    estimate = estimated_seconds(paragraphs, options)
    await store.create(
        job_id=job_id,
        owner=job_owner(caller),
        request=msgspec.json.encode(data),
        tier=tier.name,
        hashed_api_key=caller.hashed_api_key,
        request_id=request.scope["state"]["request_id"],
        mode=mode,
        total_paragraphs=paragraphs,
        estimated_time=estimate,
    )
    return BeginResponse(
        analysis_id=job_id, task_id=job_id, status="pending", estimated_time=estimate, mode=mode
    )


@get(
    "/analyze_status/{analysis_id:str}",
    operation_id="AnalyzeStatus",
    tags=ANALYSIS_TAGS,
    responses={**ERROR_RESPONSES},
)
async def analyze_status(
    request: Request[Any, Any, Any], analysis_id: str, caller: NamedDependency[Caller]
) -> StatusResponse:
    """A job's status: progress while it runs, the results when completed, the error when
    failed. Only the key that began it can read it (404 for any other, as for an unknown id)."""
    store = _store(request)
    record = await store.get(analysis_id) if _plausible_id(analysis_id) else None
    if record is None or record.owner != job_owner(caller):
        raise NotFoundException(detail=UNKNOWN_JOB_DETAIL)
    total = record.total_paragraphs
    done = total if record.status == "completed" else record.completed_paragraphs
    reply = StatusResponse(
        analysis_id=analysis_id,
        task_id=analysis_id,
        status=record.status,
        mode="comprehensive" if record.mode == "comprehensive" else "partial",
        progress=Progress(
            percent_complete=round(100 * done / total, 1),
            completed_paragraphs=done,
            total_paragraphs=total,
        ),
        progress_fraction=done / total,
        estimated_time=record.estimated_time,
    )
    if record.status == "failed":
        reply.error = record.error or "the analysis failed"
    elif record.status == "completed":
        stored = await store.blob(record, "result")
        assert stored is not None  # completed is written together with the result
        results = msgspec.json.decode(stored, type=JobResults)
        reply.results = reply.result = results
        reply.processing_time = record.processing_time or 0.0
    return reply


def _plausible_id(analysis_id: str) -> bool:
    """Ids are UUIDs: anything else is unknown without a table read."""
    try:
        uuid.UUID(analysis_id)
    except ValueError:
        return False
    return True


JOB_HANDLERS = [analyze_begin, analyze_status]
