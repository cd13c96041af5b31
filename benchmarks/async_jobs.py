"""Asynchronous jobs: how many jobs per second one replica's worker sustains against the fake
provider, and the latency a begin and a status read add over their AWS calls.

Runs the real service (``python -m service``, one replica, its worker) against the fake
provider (own process, fixed latency per call) with its table, queues and bucket on a moto
server, all on 127.0.0.1, result cache off so every job really runs. Prints:

* throughput: ``--jobs`` one-paragraph jobs begun at once, time until the queue is empty and
  every job completed, for each ``--worker-concurrency``;
* begin and status read (a completed one-paragraph job, its result included), p50/p99 over
  ``--samples`` sequential requests, alternated with the same AWS calls made directly with
  boto3 from this process (PutItem + SendMessage; consistent GetItem), and the difference.

moto stands in for DynamoDB and SQS: its own latencies are a local Python server's, not AWS's
(a few ms for DynamoDB, 10-20 ms for SQS in a region), so the "added" columns are the figures
that carry over.

Usage: .venv/bin/python -m benchmarks.async_jobs [--latency-ms 100] [--jobs 200]
       [--worker-concurrency 4 16] [--samples 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.fake_process import ONE_PARAGRAPH, fake_provider_process, upstream_calls
from benchmarks.service_latency import percentile
from tests.harness.jobs import job_resources
from tests.harness.moto import MotoServer, running_moto
from tests.service.runner import ServiceProcess, running_service

DRAIN_TIMEOUT_SECONDS = 600.0


def service_env(provider: str, resources: dict[str, str], concurrency: int) -> dict[str, str]:
    return {
        "INFERENCE_PROVIDER_MODE": "managed",
        "MANAGED_API_URL": provider,
        "LOG_LEVEL": "warning",
        "ENVIRONMENT": "benchmark",
        "RESULT_CACHE_TTL_SECONDS": "0",
        "ASYNC_WORKER_CONCURRENCY": str(concurrency),
        **resources,
    }


async def begin_all(url: str, count: int, text: str) -> list[str]:
    """``count`` begins from 16 clients at once; the job ids."""
    body = json.dumps({"essay_text": text})
    ids: list[str] = []
    remaining = iter(range(count))
    async with aiohttp.ClientSession() as session:

        async def client() -> None:
            for _ in remaining:
                async with session.post(
                    f"{url}/analyze_begin",
                    data=body,
                    headers={"Content-Type": "application/json"},
                ) as response:
                    if response.status != 202:
                        raise RuntimeError(f"begin answered {response.status}")
                    ids.append((await response.json())["analysis_id"])

        await asyncio.gather(*(client() for _ in range(16)))
    return ids


def queue_empty(moto: MotoServer, queue_url: str) -> bool:
    attributes = moto.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(value == "0" for value in attributes.values())


def throughput(
    moto: MotoServer, service: ServiceProcess, resources: dict[str, str], jobs: int
) -> float:
    """Jobs per second from the first begin until every job is completed."""
    started = time.perf_counter()
    ids = asyncio.run(begin_all(service.url, jobs, ONE_PARAGRAPH))
    deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
    while not queue_empty(moto, resources["ASYNC_QUEUE_URL"]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{jobs} jobs did not finish within {DRAIN_TIMEOUT_SECONDS} s")
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    statuses = {service.request("GET", f"/analyze_status/{i}").json()["status"] for i in ids}
    if statuses != {"completed"}:
        raise RuntimeError(f"jobs ended {statuses}, not all completed")
    return jobs / elapsed


def timed(
    call: Callable[[], Any], baseline: Callable[[], Any], samples: int
) -> tuple[list[float], list[float]]:
    """Latencies (ms) of ``call`` and ``baseline``, alternated so both see the same load."""
    latencies: tuple[list[float], list[float]] = ([], [])
    for _ in range(samples):
        for measured, into in zip((call, baseline), latencies, strict=True):
            started = time.perf_counter()
            measured()
            into.append((time.perf_counter() - started) * 1000)
    return latencies


def latency_rows(
    moto: MotoServer, service: ServiceProcess, resources: dict[str, str], samples: int
) -> list[tuple[str, list[float], list[float]]]:
    """(what, through the service, the AWS calls alone) for a begin and a status read."""
    table, queue = resources["ASYNC_JOBS_TABLE"], resources["ASYNC_QUEUE_URL"]
    dynamodb, sqs = moto.client("dynamodb"), moto.client("sqs")
    body = {"essay_text": ONE_PARAGRAPH}

    def begin() -> None:
        reply = service.request("POST", "/analyze_begin", body)
        assert reply.status == 202, reply.body

    def direct_begin() -> None:
        job = str(uuid.uuid4())
        dynamodb.put_item(
            TableName=table,
            Item={"pk": {"S": f"bench#{job}"}, "request": {"B": ONE_PARAGRAPH.encode()}},
            ConditionExpression="attribute_not_exists(pk)",
        )
        sqs.send_message(QueueUrl=queue, MessageBody=job)

    begun, direct = timed(begin, direct_begin, samples)
    sqs.purge_queue(QueueUrl=queue)  # the direct ones are no jobs
    job_id = service.request("POST", "/analyze_begin", body).json()["analysis_id"]
    deadline = time.monotonic() + 60
    while service.request("GET", f"/analyze_status/{job_id}").json()["status"] != "completed":
        if time.monotonic() > deadline:
            raise RuntimeError("the status job did not complete within 60 s")
        time.sleep(0.1)

    def status() -> None:
        reply = service.request("GET", f"/analyze_status/{job_id}")
        assert reply.status == 200, reply.body

    def direct_status() -> None:
        dynamodb.get_item(TableName=table, Key={"pk": {"S": f"job#{job_id}"}}, ConsistentRead=True)

    return [
        ("begin", begun, direct),
        ("status (completed)", *timed(status, direct_status, samples)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=100.0, help="fake provider per call")
    parser.add_argument("--jobs", type=int, default=200, help="jobs per throughput run")
    parser.add_argument("--worker-concurrency", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--samples", type=int, default=100, help="requests per latency row")
    arguments = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as scratch,
        running_moto(Path(scratch)) as moto,
        fake_provider_process(arguments.latency_ms) as provider,
    ):
        print(f"load average before the runs: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        print(
            f"fake provider latency per call: {arguments.latency_ms:.0f} ms "
            "(3 calls per one-paragraph job, 2 of them sequential)"
        )
        print("worker concurrency  jobs  jobs/s  provider calls/job")
        for concurrency in arguments.worker_concurrency:
            resources = job_resources(moto)
            env = service_env(provider, resources, concurrency)
            with running_service(env, Path(scratch) / f"service-{concurrency}.log") as service:
                calls = upstream_calls(provider)
                rate = throughput(moto, service, resources, arguments.jobs)
                per_job = (upstream_calls(provider) - calls) / arguments.jobs
                print(f"{concurrency:>18}  {arguments.jobs:>4}  {rate:6.2f}  {per_job:18.1f}")
        resources = job_resources(moto)
        env = service_env(provider, resources, arguments.worker_concurrency[0])
        with running_service(env, Path(scratch) / "service-latency.log") as service:
            print(
                "request              service p50/p99 ms  AWS calls alone p50/p99 ms  "
                "added p50/p99 ms"
            )
            rows = latency_rows(moto, service, resources, arguments.samples)
            for what, served, direct in rows:
                s50, s99 = percentile(served, 0.5), percentile(served, 0.99)
                d50, d99 = percentile(direct, 0.5), percentile(direct, 0.99)
                print(
                    f"{what:<19}  {s50:8.1f} / {s99:7.1f}  {d50:14.1f} / {d99:9.1f}  "
                    f"{s50 - d50:7.1f} / {s99 - d99:7.1f}"
                )
        print(f"load average after the runs: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
