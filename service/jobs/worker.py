"""The worker every replica runs beside its HTTP server: it takes job ids from the queue and
runs the same analysis as ``/analyze_sync``.

- At most ``ASYNC_WORKER_CONCURRENCY`` jobs at once; it long-polls only for free slots.
- A received message stays invisible for ``ASYNC_VISIBILITY_TIMEOUT_SECONDS``, extended every
  third of that while its job runs: a replica that dies stops extending, the message returns
  and another replica runs the job again (nothing is lost; the result is written once).
- Progress is written as paragraphs finish (at most twice a second per job).
- A job that fails for a reason a retry cannot change (the provider refused the text, the
  tier's deadline passed) is marked failed at once. Any other failure is noted on the job and
  the message returns after a backoff; after the queue's maxReceiveCount SQS moves it to the
  dead-letter queue, whose messages every worker turns into ``failed`` with the last reason.
- Completion is a conditional write: a job completed by two replicas (a message delivered
  twice) stores one result and is metered once.
- On SIGTERM (readiness "not draining" cleared) it stops polling at once; running jobs get the
  drain time to finish, then they are cancelled and their messages returned to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import msgspec
from litestar import Litestar

from service.analysis.pipeline import Analysis, EmptyTextError
from service.analysis.tiers import TIERS, deadline_seconds
from service.api.job_schemas import JobResults, Summary
from service.api.requests import (
    analysis_options,
    deadline_passed_detail,
    request_echo,
    requested_timeout,
)
from service.api.responses import analysis_response
from service.api.schemas import AnalyzeRequest
from service.jobs.cache import Analyzer
from service.jobs.store import JobRecord, JobStore, QueueMessage
from service.metering import Metering
from service.providers.base import Provider
from service.providers.errors import ContentRefusedError
from service.providers.http import shared_retry_after_budget
from service.readiness import NOT_DRAINING, Readiness
from service.settings import Settings

logger = logging.getLogger(__name__)

POLL_WAIT_SECONDS = 5
"""Long-poll wait: short enough that a stopping replica's last poll returns quickly (its
messages are then handed back at once), long enough to cost little (12 empty polls a minute)."""

PROGRESS_INTERVAL_SECONDS = 0.5
MAX_RETRY_DELAY_SECONDS = 30
DRAIN_CHECK_SECONDS = 0.2


class PermanentJobError(Exception):
    """The job cannot succeed on a retry; ``str()`` is the client's one-line reason."""


class Worker:
    def __init__(
        self,
        *,
        store: JobStore,
        settings: Settings,
        analyzer: Analyzer,
        provider: Callable[[], Provider],
        metering: Metering,
        draining: Callable[[], bool],
    ) -> None:
        self._store = store
        self._settings = settings
        self._analyzer = analyzer
        self._provider = provider
        self._metering = metering
        self._draining = draining
        self._concurrency = settings.jobs.worker_concurrency
        self._visibility = settings.jobs.visibility_timeout_seconds
        self._jobs: dict[asyncio.Task[None], QueueMessage] = {}
        self._slot_free = asyncio.Event()
        self._stopping = asyncio.Event()
        self._stopped_at: float | None = None
        self._loops: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._poll(), name="jobs-poll"),
            asyncio.create_task(self._dead_letters(), name="jobs-dead-letters"),
            asyncio.create_task(self._watch_drain(), name="jobs-drain-watch"),
        ]

    def _stop(self) -> None:
        if not self._stopping.is_set():
            self._stopped_at = time.monotonic()
            self._stopping.set()
            logger.info("job worker: stopped polling", extra={"in_flight": len(self._jobs)})

    async def close(self) -> None:
        """Stop polling; give running jobs the rest of the drain time, then return them."""
        self._stop()
        assert self._stopped_at is not None
        poll, *others = self._loops
        for task in others:
            task.cancel()
        drain_end = self._stopped_at + self._settings.server.drain_timeout_seconds
        if self._jobs:
            await asyncio.wait(list(self._jobs), timeout=max(0.0, drain_end - time.monotonic()))
        unfinished = list(self._jobs)
        if unfinished:
            logger.warning(
                "job worker: %d job(s) still running at the end of the drain go back to the queue",
                len(unfinished),
            )
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        # The last long poll returns within its wait of the stop; its messages go straight back.
        poll_end = self._stopped_at + POLL_WAIT_SECONDS + 1
        await asyncio.wait([poll], timeout=max(0.0, poll_end - time.monotonic()))
        poll.cancel()  # a receive that hangs past that: its messages reappear after the timeout
        await asyncio.gather(*self._loops, return_exceptions=True)

    async def _watch_drain(self) -> None:
        while not self._stopping.is_set():
            if self._draining():
                self._stop()
                return
            await asyncio.sleep(DRAIN_CHECK_SECONDS)

    # -- polling --------------------------------------------------------------------------

    async def _poll(self) -> None:
        while not self._stopping.is_set():
            free = self._concurrency - len(self._jobs)
            if free <= 0:
                self._slot_free.clear()
                stopping = asyncio.create_task(self._stopping.wait())
                slot = asyncio.create_task(self._slot_free.wait())
                await asyncio.wait([stopping, slot], return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                slot.cancel()
                continue
            try:
                messages = await self._store.receive(count=free, wait_seconds=POLL_WAIT_SECONDS)
            except Exception:
                logger.warning("job worker: receiving from the queue failed", exc_info=True)
                await asyncio.sleep(POLL_WAIT_SECONDS)
                continue
            for message in messages:
                if self._stopping.is_set():
                    await self._return(message)
                    continue
                task = asyncio.create_task(self._handle(message), name=f"job-{message.job_id}")
                self._jobs[task] = message
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._jobs.pop(task, None)
        self._slot_free.set()

    async def _return(self, message: QueueMessage, delay: int = 0) -> None:
        with contextlib.suppress(Exception):
            await self._store.keep_hidden(message, delay)

    async def _dead_letters(self) -> None:
        """Dead-lettered jobs failed every attempt: mark them failed with the last reason."""
        while not self._stopping.is_set():
            try:
                messages = await self._store.receive_dead_letters(wait_seconds=POLL_WAIT_SECONDS)
                for message in messages:
                    record = await self._store.get(message.job_id)
                    if record is not None:
                        reason = record.last_error or "the analysis did not complete"
                        attempts = "attempt" if record.attempts == 1 else "attempts"
                        await self._store.fail(
                            message.job_id,
                            f"the analysis failed after {record.attempts} {attempts}: {reason}",
                        )
                    await self._store.dead_letter_done(message)
            except Exception:
                logger.warning("job worker: reading the dead-letter queue failed", exc_info=True)
                await asyncio.sleep(POLL_WAIT_SECONDS)

    # -- one job --------------------------------------------------------------------------

    async def _handle(self, message: QueueMessage) -> None:
        job_id = message.job_id
        try:
            record = await self._store.get(job_id)
            if record is None or not await self._store.start_attempt(job_id):
                await self._store.done(message)  # expired, unknown, or already finished
                return
            async with self._kept_hidden(message, job_id) as on_segment_done:
                await self._run(record, on_segment_done)
        except asyncio.CancelledError:
            await self._return(message)
            raise
        except PermanentJobError as error:
            logger.warning("job failed: %s", error, extra={"job_id": job_id})
            await self._store.fail(job_id, str(error))
            await self._store.done(message)
        except Exception as error:
            reason = str(error) or type(error).__name__
            logger.warning(
                "job attempt failed: %s",
                reason,
                extra={"job_id": job_id, "attempt": message.receive_count},
            )
            with contextlib.suppress(Exception):
                await self._store.note_error(job_id, reason)
            delay = min(MAX_RETRY_DELAY_SECONDS, 2 ** (message.receive_count - 1))
            await self._return(message, delay)
        else:
            await self._store.done(message)

    @asynccontextmanager
    async def _kept_hidden(
        self, message: QueueMessage, job_id: str
    ) -> AsyncIterator[Callable[[int, int], None]]:
        """While the job runs: the message's invisibility extended, progress written."""
        done = 0
        written = 0

        def on_segment_done(finished: int, _total: int) -> None:
            nonlocal done
            done = finished

        async def keep() -> None:
            nonlocal written
            extended = time.monotonic()
            while True:
                await asyncio.sleep(PROGRESS_INTERVAL_SECONDS)
                if done != written:
                    written = done
                    with contextlib.suppress(Exception):
                        await self._store.progress(job_id, written)
                if time.monotonic() - extended >= self._visibility / 3:
                    extended = time.monotonic()
                    with contextlib.suppress(Exception):
                        await self._store.keep_hidden(message, self._visibility)

        keeper = asyncio.create_task(keep())
        try:
            yield on_segment_done
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _run(self, record: JobRecord, on_segment_done: Callable[[int, int], None]) -> None:
        started = time.perf_counter()
        stored = await self._store.blob(record, "request")
        assert stored is not None  # written with the job
        data = msgspec.json.decode(stored, type=AnalyzeRequest)
        tier = TIERS[record.tier]  # type: ignore[index]
        analysis_settings = self._settings.analysis
        options = analysis_options(data, tier, analysis_settings)
        deadline = deadline_seconds(tier, requested_timeout(data))
        try:
            # One Retry-After budget for all of the job's provider calls, as for a sync call.
            with shared_retry_after_budget(self._settings.provider.max_retry_after_seconds):
                async with asyncio.timeout(deadline):
                    analysis, cache_hit = await self._analyzer.run(
                        data.essay_text, options, self._provider(), on_segment_done=on_segment_done
                    )
        except TimeoutError:
            raise PermanentJobError(deadline_passed_detail(data, tier, deadline)) from None
        except (ContentRefusedError, EmptyTextError) as error:
            raise PermanentJobError(str(error)) from None
        provider = self._settings.provider
        response = analysis_response(
            analysis=analysis,
            options=options,
            echo=request_echo(
                data,
                options,
                hashed_api_key=record.hashed_api_key,
                request_id=record.request_id,
                tier=tier.name,
            ),
            request_id=record.request_id,
            log_id=record.job_id.replace("-", ""),
            processing_time=time.perf_counter() - started,
            embedding_model=provider.embedding_model,
            embedding_dimensions=provider.requested_embedding_dimensions,
            cache_hit=cache_hit,
        )
        results = response.results
        job_results = JobResults(
            metadata=results.metadata,
            request=results.request,
            response=results.response,
            summary=summary(analysis),
        )
        processing_time = time.perf_counter() - started
        if await self._store.complete(
            record.job_id, msgspec.json.encode(job_results), processing_time
        ):
            self._metering.record_analysis(len(analysis.segments))
            logger.info(
                "job completed",
                extra={"job_id": record.job_id, "paragraphs": len(analysis.segments)},
            )


def summary(analysis: Analysis) -> Summary:
    segments = analysis.segments
    return Summary(
        total_segments=len(segments),
        compressed_segments=sum(s.was_compressed for s in segments),
        average_compression_ratio=sum(s.compression_ratio for s in segments) / len(segments),
        average_semantic_similarity=sum(s.semantic_similarity for s in segments) / len(segments),
    )


@asynccontextmanager
async def async_jobs(app: Litestar) -> AsyncIterator[None]:
    """Open the job store and run the worker (when the deployment has async jobs); at
    shutdown, after the HTTP drain, the worker hands back what it cannot finish."""
    store: JobStore | None = app.state.get("jobs")
    if store is None:
        yield
        return
    readiness: Readiness = app.state.readiness
    await store.open()
    worker = Worker(
        store=store,
        settings=app.state.settings,
        analyzer=app.state.analyzer,
        provider=lambda: app.state.provider,
        metering=app.state.metering,
        draining=lambda: NOT_DRAINING in readiness.unmet(),
    )
    worker.start()
    try:
        yield
    finally:
        await worker.close()
        store.close()
