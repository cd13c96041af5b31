"""/analyze_begin and /analyze_status on DynamoDB, SQS and S3 (the moto server), over HTTP.

The real service runs with its worker against the fake provider; every replica here is its own
process, sharing one table and queue as replicas do in production.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import captures
from tests.fakes.fake_provider import FakeProvider
from tests.harness.jobs import job_resources
from tests.harness.moto import MotoServer
from tests.service.conftest import API_KEYS, BASIC_KEY, NORTHSTAR_KEY, STANDARD_KEY, managed_env
from tests.service.runner import ServiceProcess, running_service

STANDARD = {"X-API-Key": STANDARD_KEY}
TWO_PARAGRAPHS = captures.ESSAY_TEXT + "\n\nA second paragraph about lighthouses and ships."
VOLATILE = ("request_id", "timestamp", "processing_time", "parallel_metrics")
"""What differs between two runs of the same analysis (ids and clocks)."""


def job_env(fake: FakeProvider, resources: dict[str, str], **overrides: str) -> dict[str, str]:
    return managed_env(fake, API_KEYS=API_KEYS, **resources, **overrides)


@pytest.fixture
def resources(moto_server: MotoServer) -> dict[str, str]:
    return job_resources(moto_server)


@pytest.fixture
def replica(
    fake: FakeProvider, resources: dict[str, str], tmp_path: Path
) -> Iterator[ServiceProcess]:
    """One replica with the result cache off (each job really runs)."""
    env = job_env(fake, resources, RESULT_CACHE_TTL_SECONDS="0")
    with running_service(env, tmp_path / "replica.log") as service:
        yield service


def begin(
    service: ServiceProcess, body: dict[str, Any], headers: dict[str, str] = STANDARD
) -> dict[str, Any]:
    reply = service.request("POST", "/analyze_begin", body, headers=headers)
    assert reply.status == 202, reply.body
    return reply.json()


def status(
    service: ServiceProcess, job_id: str, headers: dict[str, str] = STANDARD
) -> dict[str, Any]:
    reply = service.request("GET", f"/analyze_status/{job_id}", headers=headers)
    assert reply.status == 200, reply.body
    return reply.json()


def wait_for(
    service: ServiceProcess, job_id: str, states: set[str], *, seconds: float = 30.0
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        current = status(service, job_id)
        if current["status"] in states:
            return current
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} not {states} within {seconds} s: {current}")


def without_volatile(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_volatile(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [without_volatile(v) for v in value]
    return value


def test_a_job_completes_with_the_sync_results_and_only_its_key_reads_it(
    replica: ServiceProcess,
) -> None:
    body = {"essay_text": TWO_PARAGRAPHS, "params": {"min_compression_ratio": 0.5}}

    started = begin(replica, body)

    assert started["status"] == "pending"
    assert started["analysis_id"] == started["task_id"]
    assert started["mode"] == "partial"
    assert isinstance(started["estimated_time"], int)
    job_id = started["analysis_id"]
    first = status(replica, job_id)
    assert first["status"] in {"pending", "processing", "completed"}
    assert first["progress"]["total_paragraphs"] == 2
    assert 0.0 <= first["progress_fraction"] <= 1.0
    done = wait_for(replica, job_id, {"completed", "failed"})
    assert done["status"] == "completed", done
    assert done["progress"] == {
        "percent_complete": 100.0,
        "completed_paragraphs": 2,
        "total_paragraphs": 2,
    }
    assert done["processing_time"] > 0
    results = done["results"]
    assert done["result"] == results
    sync = replica.request("POST", "/analyze_sync", body, headers=STANDARD).json()
    summary = results.pop("summary")
    assert without_volatile(results) == without_volatile(sync["results"])
    segments = sync["results"]["response"]["segments"]
    assert summary == {
        "total_segments": 2,
        "compressed_segments": sum(s["was_compressed"] for s in segments),
        "average_compression_ratio": pytest.approx(
            sum(s["compression_ratio"] for s in segments) / 2
        ),
        "average_semantic_similarity": pytest.approx(
            sum(s["semantic_similarity"] for s in segments) / 2
        ),
    }
    # Another key, no key, an unknown id and a malformed one: the same 404.
    other = replica.request("GET", f"/analyze_status/{job_id}", headers={"X-API-Key": BASIC_KEY})
    unknown = replica.request(
        "GET", "/analyze_status/00000000-0000-4000-8000-000000000000", headers=STANDARD
    )
    malformed = replica.request("GET", "/analyze_status/not-an-id", headers=STANDARD)
    assert other.status == unknown.status == malformed.status == 404
    assert other.json() == unknown.json() == malformed.json()
    assert replica.request("GET", f"/analyze_status/{job_id}").status == 401


def test_begin_applies_the_sync_validation_and_tier_rules(replica: ServiceProcess) -> None:
    assert (
        replica.request("POST", "/analyze_begin", {"essay_text": " \n "}, headers=STANDARD).status
        == 400
    )
    assert replica.request("POST", "/analyze_begin", {"text": "x"}, headers=STANDARD).status == 400
    comprehensive = {"essay_text": "Short text.", "params": {"analysis_mode": "comprehensive"}}
    assert begin(replica, comprehensive)["mode"] == "partial"  # standard: downgraded
    northstar = begin(replica, comprehensive, headers={"X-API-Key": NORTHSTAR_KEY})
    assert northstar["mode"] == "comprehensive"


def test_a_failing_provider_sends_the_job_to_the_dead_letter_queue_and_failed(
    replica: ServiceProcess, fake: FakeProvider, moto_server: MotoServer, resources: dict[str, str]
) -> None:
    fake.inject("server_error")

    job_id = begin(replica, {"essay_text": captures.ESSAY_TEXT})["analysis_id"]
    failed = wait_for(replica, job_id, {"completed", "failed"}, seconds=60)

    assert failed["status"] == "failed"
    assert "failed after 2 attempts" in failed["error"]
    assert "500" in failed["error"] or "provider" in failed["error"]
    assert "results" not in failed
    sqs = moto_server.client("sqs")
    for queue in ("ASYNC_QUEUE_URL", "ASYNC_DEAD_LETTER_QUEUE_URL"):
        attributes = sqs.get_queue_attributes(
            QueueUrl=resources[queue], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "0", queue


def test_a_cache_hit_answers_sync_and_async_without_a_provider_call(
    fake: FakeProvider, resources: dict[str, str], tmp_path: Path
) -> None:
    body = {"essay_text": captures.ESSAY_TEXT, "params": {"min_compression_ratio": 0.5}}
    comprehensive = {"essay_text": TWO_PARAGRAPHS, "params": {"analysis_mode": "comprehensive"}}
    northstar = {"X-API-Key": NORTHSTAR_KEY}
    env = job_env(fake, resources, COMPREHENSIVE_TRIALS="3")
    with running_service(env, tmp_path / "cached.log") as service:
        trials = service.request("POST", "/analyze_sync", comprehensive, headers=northstar).json()
        trials_again = service.request(
            "POST", "/analyze_sync", comprehensive, headers=northstar
        ).json()
        fake.calls.clear()
        first = service.request("POST", "/analyze_sync", body, headers=STANDARD).json()
        calls = sum(fake.calls.values())
        assert calls > 0
        assert "cache_hit" not in first["results"]["metadata"]

        again = service.request("POST", "/analyze_sync", body, headers=STANDARD).json()
        job_id = begin(service, body)["analysis_id"]
        done = wait_for(service, job_id, {"completed", "failed"})
        other_params = service.request(
            "POST",
            "/analyze_sync",
            {**body, "params": {"min_compression_ratio": 0.4}},
            headers=STANDARD,
        ).json()

    assert trials["results"]["metadata"]["cache_hit"] is False
    assert trials_again["results"]["metadata"]["cache_hit"] is True
    assert without_volatile(trials_again["results"]["response"]) == without_volatile(
        trials["results"]["response"]
    )  # every trial, as computed
    assert again["results"]["metadata"]["cache_hit"] is True
    assert done["results"]["metadata"]["cache_hit"] is True
    assert without_volatile(again["results"]["response"]) == without_volatile(
        first["results"]["response"]
    )
    assert "cache_hit" not in other_params["results"]["metadata"]
    assert sum(fake.calls.values()) == 2 * calls  # the hits cost nothing, the new params did


LIGHTHOUSES = (
    "Lighthouses guided ships along dangerous coasts for centuries, first with open fires and "
    "later with oil lamps, clockwork lenses and electric beacons that keepers tended through "
    "long winter nights, until automation replaced the keepers in the late twentieth century."
)
"""A paragraph long enough for compression (and so for trials)."""


def test_comprehensive_trials_are_cached_one_by_one(
    fake: FakeProvider, resources: dict[str, str], tmp_path: Path
) -> None:
    northstar = {"X-API-Key": NORTHSTAR_KEY}

    def comprehensive(text: str) -> dict[str, Any]:
        body = {"essay_text": text, "params": {"analysis_mode": "comprehensive"}}
        reply = service.request("POST", "/analyze_sync", body, headers=northstar)
        assert reply.status == 200, reply.body
        return reply.json()["results"]

    env = job_env(fake, resources, COMPREHENSIVE_TRIALS="3")
    with running_service(env, tmp_path / "trials.log") as service:
        alone = comprehensive(captures.ESSAY_TEXT)
        fake.calls.clear()
        edited = comprehensive(captures.ESSAY_TEXT + "\n\n" + LIGHTHOUSES)
        edited_calls = dict(fake.calls)
        fake.calls.clear()
        second_alone = comprehensive(LIGHTHOUSES)
        second_calls = dict(fake.calls)

    # A new text: no whole-analysis hit, but the paragraph seen before costs no chat call.
    assert edited["metadata"]["cache_hit"] is False
    assert edited_calls == {"chat": 2 * 3, "embeddings": 2}  # 3 new trials; 1 embed/paragraph
    assert second_calls == {"embeddings": 1}  # every trial cached by the edited text's request
    assert second_alone["metadata"]["cache_hit"] is False
    first, second = edited["response"]["segments"]
    assert without_volatile(first) == without_volatile(alone["response"]["segments"][0])
    assert without_volatile(second) == without_volatile(second_alone["response"]["segments"][0])
    assert len(second["trials"]) == 3


def test_a_cache_that_cannot_be_read_costs_a_recomputation_never_the_request(
    fake: FakeProvider, resources: dict[str, str], tmp_path: Path
) -> None:
    body = {"essay_text": captures.ESSAY_TEXT, "params": {"analysis_mode": "comprehensive"}}
    env = job_env(
        fake, {**resources, "ASYNC_JOBS_TABLE": "no-such-table"}, COMPREHENSIVE_TRIALS="3"
    )
    with running_service(env, tmp_path / "no-cache.log") as service:
        replies = [
            service.request(
                "POST", "/analyze_sync", body, headers={"X-API-Key": NORTHSTAR_KEY}
            ).json()
            for _ in range(2)
        ]
        log = service.log_path.read_text()

    assert [r["results"]["metadata"]["cache_hit"] for r in replies] == [False, False]
    assert fake.calls["chat"] == 2 * (2 * 3)  # both computed every trial
    for what in (
        "result cache read",
        "trial cache read",
        "trial cache write",
        "result cache write",
    ):
        assert f"{what} failed" in log, what


def test_a_replica_killed_mid_job_loses_nothing(
    fake: FakeProvider, moto_server: MotoServer, tmp_path: Path
) -> None:
    fake.latency_ms = 400  # each paragraph takes >1 s: time to kill the first replica mid-job
    # Spare receives: on a loaded machine a 3 s visibility can lapse once before extending.
    resources = job_resources(moto_server, max_receive_count=5)
    env = job_env(
        fake,
        resources,
        RESULT_CACHE_TTL_SECONDS="0",
        ASYNC_VISIBILITY_TIMEOUT_SECONDS="3",
        LOG_LEVEL="info",
    )
    essay = "\n\n".join(
        f"Paragraph {i} about the harbour and its ships at dusk." * 3 for i in range(6)
    )
    body = {"essay_text": essay}
    basic = {"X-API-Key": BASIC_KEY}  # two paragraphs at once: three rounds
    with running_service(env, tmp_path / "first.log") as first:
        job_id = begin(first, body, headers=basic)["analysis_id"]
        deadline = time.monotonic() + 20
        while status(first, job_id, basic)["status"] != "processing":
            assert time.monotonic() < deadline, "the first replica never started the job"
            time.sleep(0.05)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
    with running_service(env, tmp_path / "second.log") as second:
        deadline = time.monotonic() + 40
        while (current := status(second, job_id, basic))["status"] not in {"completed", "failed"}:
            assert time.monotonic() < deadline, current
            time.sleep(0.1)
    assert current["status"] == "completed", current
    assert current["results"]["summary"]["total_segments"] == 6
    assert "job completed" in second.log()


def test_sigterm_returns_a_job_that_outlasts_the_drain_and_another_replica_finishes_it(
    fake: FakeProvider, moto_server: MotoServer, tmp_path: Path
) -> None:
    fake.latency_ms = 400
    resources = job_resources(moto_server, max_receive_count=5)
    env = job_env(
        fake,
        resources,
        RESULT_CACHE_TTL_SECONDS="0",
        DRAIN_TIMEOUT_SECONDS="1",  # far shorter than the job
        LOG_LEVEL="info",
    )
    essay = "\n\n".join(f"Paragraph {i} on the tides of the northern reef." * 3 for i in range(6))
    basic = {"X-API-Key": BASIC_KEY}
    with running_service(env, tmp_path / "stopping.log") as first:
        job_id = begin(first, {"essay_text": essay}, headers=basic)["analysis_id"]
        deadline = time.monotonic() + 20
        while status(first, job_id, basic)["status"] != "processing":
            assert time.monotonic() < deadline, "the first replica never started the job"
            time.sleep(0.05)
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(30) == 0
    assert "go back to the queue" in first.log()
    with running_service(env, tmp_path / "taking-over.log") as second:
        deadline = time.monotonic() + 40
        while (current := status(second, job_id, basic))["status"] not in {"completed", "failed"}:
            assert time.monotonic() < deadline, current
            time.sleep(0.1)
    assert current["status"] == "completed", current
