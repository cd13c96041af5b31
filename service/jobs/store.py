"""The AWS side of jobs and cached results: one DynamoDB table, the queue and its dead-letter
queue, one S3 bucket. boto3 is blocking, so every call runs in this store's own thread pool,
never on the event loop (and never in the loop's default pool, which the secret refresher uses).

Table items, by partition key ``pk``:

- ``job#<id>``: ``owner`` (SHA-256 of the key that began it), ``status``, ``tier``,
  ``hashed_api_key``, ``request_id``, ``mode``, ``total_paragraphs``, ``completed_paragraphs``,
  ``attempts``, ``last_error``, ``error``, ``processing_time``, the request and (when completed)
  the result as blobs, and ``expires_at`` (the table's TTL attribute);
- ``cache#<digest>``: one cached analysis as a blob, and ``expires_at``;
- ``trial#<digest>``: one comprehensive trial's compression as a blob, and ``expires_at``.

A blob is zlib-compressed JSON, kept in the item when it fits under :data:`INLINE_LIMIT_BYTES`,
else in S3 under the item's key (DynamoDB's item limit is 400 KB, names and other attributes
included; a 100,000-character text with embeddings compresses to about 1 MB).
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from botocore.config import Config
from botocore.exceptions import ClientError

from service.settings import AsyncJobSettings

T = TypeVar("T")

JobStatus = Literal["pending", "processing", "completed", "failed"]

INLINE_LIMIT_BYTES = 300_000
"""A compressed blob up to this size stays in its DynamoDB item (400 KB limit, with headroom
for the other attributes); a larger one goes to S3."""

COMPRESSION_LEVEL = 6

BATCH_GET_KEYS = 100
"""DynamoDB's limit of keys per BatchGetItem."""
BATCH_ATTEMPTS = 4
"""Reads of a batch's unprocessed keys before the rest count as not cached."""

_CLIENT_CONFIG = Config(
    connect_timeout=3, read_timeout=30, retries={"max_attempts": 4, "mode": "standard"}
)


@dataclass(frozen=True, kw_only=True)
class JobRecord:
    """A job as the table holds it (blobs not read)."""

    job_id: str
    owner: str
    status: JobStatus
    tier: str
    hashed_api_key: str | None
    request_id: str
    mode: str
    total_paragraphs: int
    completed_paragraphs: int
    estimated_time: int
    attempts: int
    error: str | None
    last_error: str | None
    processing_time: float | None
    created_at: float
    item: dict[str, Any]
    """The raw item, for reading its blobs."""


@dataclass(frozen=True, kw_only=True)
class QueueMessage:
    job_id: str
    receipt: str
    receive_count: int


class JobStore:
    """Jobs, queue and cache on AWS (endpoint, region and credentials from boto3's chain:
    the task or IRSA role; ``AWS_ENDPOINT_URL`` in tests)."""

    def __init__(self, settings: AsyncJobSettings, *, region: str | None) -> None:
        # Settings require all four together (or none, and then there is no store).
        assert settings.table is not None
        assert settings.queue_url is not None
        assert settings.dead_letter_queue_url is not None
        assert settings.bucket is not None
        self.settings = settings
        self._table = settings.table
        self._queue = settings.queue_url
        self._dead_letters = settings.dead_letter_queue_url
        self._bucket = settings.bucket
        self._region = region
        # Long polls hold a thread each (queue and dead-letter queue), every running job may
        # write progress, read or write a blob, and requests read status at the same time.
        self._executor = ThreadPoolExecutor(
            max_workers=8 + 2 * settings.worker_concurrency, thread_name_prefix="jobs-aws"
        )
        self._clients: dict[str, Any] = {}

    async def open(self) -> None:
        """Create the boto3 clients (importing boto3 takes ~0.3 s: in a thread)."""
        await self._run(self._make_clients)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _make_clients(self) -> None:
        import boto3  # noqa: PLC0415 - only a service with async jobs pays for boto3's import

        session = boto3.session.Session(region_name=self._region)
        for name in ("dynamodb", "sqs", "s3"):
            self._clients[name] = session.client(name, config=_CLIENT_CONFIG)

    async def _run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(call, *args, **kwargs))

    @property
    def _dynamodb(self) -> Any:
        return self._clients["dynamodb"]

    @property
    def _sqs(self) -> Any:
        return self._clients["sqs"]

    # -- blobs ----------------------------------------------------------------------------

    def _put_blob(self, pk: str, name: str, data: bytes) -> dict[str, Any]:
        """The item attributes that hold ``data``: inline, or a pointer to an S3 object."""
        compressed = zlib.compress(data, COMPRESSION_LEVEL)
        if len(compressed) <= INLINE_LIMIT_BYTES:
            return {name: {"B": compressed}}
        key = f"{pk.replace('#', '/')}/{name}.json.z"
        self._clients["s3"].put_object(Bucket=self._bucket, Key=key, Body=compressed)
        return {f"{name}_s3_key": {"S": key}}

    def _get_blob(self, item: dict[str, Any], name: str) -> bytes | None:
        if name in item:
            return zlib.decompress(item[name]["B"])
        pointer = item.get(f"{name}_s3_key")
        if pointer is None:
            return None
        body = self._clients["s3"].get_object(Bucket=self._bucket, Key=pointer["S"])["Body"]
        return zlib.decompress(body.read())

    async def blob(self, record: JobRecord, name: Literal["request", "result"]) -> bytes | None:
        return await self._run(self._get_blob, record.item, name)

    # -- jobs -----------------------------------------------------------------------------

    def _expiry(self, seconds: int) -> dict[str, str]:
        return {"N": str(int(time.time()) + seconds)}

    async def create(
        self,
        *,
        job_id: str,
        owner: str,
        request: bytes,
        tier: str,
        hashed_api_key: str | None,
        request_id: str,
        mode: str,
        total_paragraphs: int,
        estimated_time: int,
    ) -> None:
        """Write the pending job (never over an existing one), then enqueue its id."""
        pk = f"job#{job_id}"

        def create() -> None:
            item = {
                "pk": {"S": pk},
                "owner": {"S": owner},
                "status": {"S": "pending"},
                "tier": {"S": tier},
                "request_id": {"S": request_id},
                "mode": {"S": mode},
                "total_paragraphs": {"N": str(total_paragraphs)},
                "completed_paragraphs": {"N": "0"},
                "estimated_time": {"N": str(estimated_time)},
                "attempts": {"N": "0"},
                "created_at": {"N": repr(time.time())},
                "expires_at": self._expiry(self.settings.job_ttl_seconds),
                **self._put_blob(pk, "request", request),
            }
            if hashed_api_key is not None:
                item["hashed_api_key"] = {"S": hashed_api_key}
            self._dynamodb.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
            self._sqs.send_message(QueueUrl=self._queue, MessageBody=job_id)

        await self._run(create)

    async def get(self, job_id: str) -> JobRecord | None:
        """The job, or None when unknown or past its TTL (DynamoDB deletes lazily)."""

        def get() -> dict[str, Any] | None:
            answer = self._dynamodb.get_item(
                TableName=self._table, Key={"pk": {"S": f"job#{job_id}"}}, ConsistentRead=True
            )
            item: dict[str, Any] | None = answer.get("Item")
            return item

        item = await self._run(get)
        if item is None or int(item["expires_at"]["N"]) < time.time():
            return None
        return _record(job_id, item)

    def _update(
        self,
        job_id: str,
        assignments: dict[str, str],
        values: dict[str, Any],
        *,
        only_if: tuple[JobStatus, ...],
    ) -> bool:
        """``SET #attribute = expression, ...`` when the job's status is one of ``only_if``;
        False when it was not. Every attribute goes by an alias (``#name``): several names
        here (status, error, result, ...) are DynamoDB reserved words."""
        update = "SET " + ", ".join(f"#{name} = {value}" for name, value in assignments.items())
        states = {f":state_{state}": {"S": state} for state in only_if}
        condition = f"#status IN ({', '.join(states)})"
        referenced = set(re.findall(r"#(\w+)", f"{update} {condition}"))
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"job#{job_id}"}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={f"#{name}": name for name in referenced},
                ExpressionAttributeValues={**values, **states},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    async def start_attempt(self, job_id: str) -> bool:
        """Mark the job processing and count the attempt; False when it already finished."""
        return await self._run(
            self._update,
            job_id,
            {
                "status": ":processing",
                "attempts": "#attempts + :one",
                "completed_paragraphs": ":zero",
            },
            {":processing": {"S": "processing"}, ":one": {"N": "1"}, ":zero": {"N": "0"}},
            only_if=("pending", "processing"),
        )

    async def progress(self, job_id: str, completed_paragraphs: int) -> None:
        await self._run(
            self._update,
            job_id,
            {"completed_paragraphs": ":done"},
            {":done": {"N": str(completed_paragraphs)}},
            only_if=("processing",),
        )

    async def complete(self, job_id: str, result: bytes, processing_time: float) -> bool:
        """Store the result and mark the job completed; False when another attempt already
        finished it (so usage is metered once per job)."""

        def complete() -> bool:
            blob = self._put_blob(f"job#{job_id}", "result", result)
            ((name, value),) = blob.items()
            return self._update(
                job_id,
                {
                    "status": ":completed",
                    "processing_time": ":time",
                    name: ":blob",
                    "completed_paragraphs": "#total_paragraphs",
                },
                {
                    ":completed": {"S": "completed"},
                    ":time": {"N": repr(processing_time)},
                    ":blob": value,
                },
                only_if=("pending", "processing"),
            )

        return await self._run(complete)

    async def fail(self, job_id: str, error: str) -> bool:
        """Mark the job failed with ``error``; False when it had already finished."""
        return await self._run(
            self._update,
            job_id,
            {"status": ":failed", "error": ":error"},
            {":failed": {"S": "failed"}, ":error": {"S": error}},
            only_if=("pending", "processing"),
        )

    async def note_error(self, job_id: str, error: str) -> None:
        """Keep the latest attempt's failure: the reason a dead-lettered job reports."""
        await self._run(
            self._update,
            job_id,
            {"last_error": ":error"},
            {":error": {"S": error}},
            only_if=("processing",),
        )

    # -- queue ----------------------------------------------------------------------------

    def _receive(self, queue: str, *, count: int, wait_seconds: int) -> list[QueueMessage]:
        answer = self._sqs.receive_message(
            QueueUrl=queue,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=self.settings.visibility_timeout_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return [
            QueueMessage(
                job_id=message["Body"],
                receipt=message["ReceiptHandle"],
                receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
            )
            for message in answer.get("Messages", [])
        ]

    async def receive(self, *, count: int, wait_seconds: int) -> list[QueueMessage]:
        """Up to ``count`` job ids (long polling), hidden from others for the visibility timeout."""
        return await self._run(
            self._receive, self._queue, count=min(count, 10), wait_seconds=wait_seconds
        )

    async def receive_dead_letters(self, *, wait_seconds: int) -> list[QueueMessage]:
        return await self._run(
            self._receive, self._dead_letters, count=10, wait_seconds=wait_seconds
        )

    async def keep_hidden(self, message: QueueMessage, seconds: int) -> None:
        """Extend (or, with 0, end) the message's invisibility."""
        await self._run(
            self._sqs.change_message_visibility,
            QueueUrl=self._queue,
            ReceiptHandle=message.receipt,
            VisibilityTimeout=seconds,
        )

    async def done(self, message: QueueMessage) -> None:
        await self._run(
            self._sqs.delete_message, QueueUrl=self._queue, ReceiptHandle=message.receipt
        )

    async def dead_letter_done(self, message: QueueMessage) -> None:
        await self._run(
            self._sqs.delete_message, QueueUrl=self._dead_letters, ReceiptHandle=message.receipt
        )

    # -- result cache ---------------------------------------------------------------------

    async def cached(self, digest: str) -> bytes | None:
        def read() -> bytes | None:
            answer = self._dynamodb.get_item(
                TableName=self._table, Key={"pk": {"S": f"cache#{digest}"}}
            )
            item = answer.get("Item")
            if item is None or int(item["expires_at"]["N"]) < time.time():
                return None
            return self._get_blob(item, "result")

        return await self._run(read)

    async def cache(self, digest: str, result: bytes, ttl_seconds: int) -> None:
        pk = f"cache#{digest}"

        def write() -> None:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": pk},
                    "expires_at": self._expiry(ttl_seconds),
                    **self._put_blob(pk, "result", result),
                },
            )

        await self._run(write)

    async def cached_trials(self, digests: Sequence[str]) -> dict[str, bytes]:
        """The trials found, by digest; BatchGetItem, 100 keys a call."""

        def read(chunk: Sequence[str]) -> dict[str, bytes]:
            request = {self._table: {"Keys": [{"pk": {"S": f"trial#{d}"}} for d in chunk]}}
            found: dict[str, bytes] = {}
            for attempt in range(BATCH_ATTEMPTS):
                if attempt:
                    time.sleep(0.05 * 2**attempt)  # throttled: DynamoDB asks to back off
                answer = self._dynamodb.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self._table, []):
                    if int(item["expires_at"]["N"]) >= time.time():
                        blob = self._get_blob(item, "draft")
                        if blob is not None:
                            found[item["pk"]["S"].removeprefix("trial#")] = blob
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
            return found

        chunks = [digests[i : i + BATCH_GET_KEYS] for i in range(0, len(digests), BATCH_GET_KEYS)]
        found: dict[str, bytes] = {}
        for part in await asyncio.gather(*(self._run(read, chunk) for chunk in chunks)):
            found |= part
        return found

    async def cache_trials(self, drafts: Mapping[str, bytes], ttl_seconds: int) -> None:
        """One PutItem per trial, concurrently (BatchWriteItem would need the right to delete)."""

        def write(digest: str, draft: bytes) -> None:
            pk = f"trial#{digest}"
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": pk},
                    "expires_at": self._expiry(ttl_seconds),
                    **self._put_blob(pk, "draft", draft),
                },
            )

        await asyncio.gather(*(self._run(write, d, draft) for d, draft in drafts.items()))


def _record(job_id: str, item: dict[str, Any]) -> JobRecord:
    def text(name: str) -> str | None:
        value = item.get(name)
        return None if value is None else str(value["S"])

    def number(name: str) -> float | None:
        value = item.get(name)
        return None if value is None else float(value["N"])

    return JobRecord(
        job_id=job_id,
        owner=item["owner"]["S"],
        status=item["status"]["S"],
        tier=item["tier"]["S"],
        hashed_api_key=text("hashed_api_key"),
        request_id=item["request_id"]["S"],
        mode=item["mode"]["S"],
        total_paragraphs=int(item["total_paragraphs"]["N"]),
        completed_paragraphs=int(item["completed_paragraphs"]["N"]),
        estimated_time=int(item["estimated_time"]["N"]),
        attempts=int(item["attempts"]["N"]),
        error=text("error"),
        last_error=text("last_error"),
        processing_time=number("processing_time"),
        created_at=float(item["created_at"]["N"]),
        item=item,
    )
