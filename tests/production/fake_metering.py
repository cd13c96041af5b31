"""A fault-injecting fake of the AWS Marketplace Metering API, served on 127.0.0.1.

moto implements only BatchMeterUsage of this service (not RegisterUsage or MeterUsage), so the
tests talk to this fake instead. It speaks the real wire protocol (AWS JSON 1.1,
``X-Amz-Target: AWSMPMeteringService.<Operation>``), so the service's real boto3 client is used
unchanged, pointed here by ``AWS_ENDPOINT_URL_MARKETPLACE_METERING``. It keeps MeterUsage's
semantics: one record per (hour, dimension); an identical resend is idempotent (same record id); a
different quantity for a stored hour is a DuplicateRequestException; a ClientToken reused with
other parameters is an IdempotencyConflictException.

Faults are queued and consumed one per call: ``throttle`` (400 ThrottlingException), ``error500``
(500 InternalServiceErrorException), ``lose_response`` (the record is stored, then the reply is
held past the client's read timeout), ``drop`` (the connection closes without a reply, nothing
stored). :meth:`FakeMetering.outage` closes the port altogether (connection refused).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

Fault = Literal["throttle", "error500", "lose_response", "drop"]


@dataclass(frozen=True)
class StoredRecord:
    hour: datetime
    dimension: str
    quantity: int
    record_id: str


class FakeMetering:
    def __init__(self, *, lost_response_seconds: float = 2.0) -> None:
        self.lost_response_seconds = lost_response_seconds
        self.faults: deque[Fault] = deque()
        self.entitled = True
        self.records: dict[tuple[datetime, str], StoredRecord] = {}
        self.calls: list[tuple[str, str]] = []
        """(operation, outcome) per call, outcome an error code or "ok"."""
        self._tokens: dict[str, tuple[object, ...]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment that points a boto3 meteringmarketplace client at this fake."""
        return {"AWS_ENDPOINT_URL_MARKETPLACE_METERING": self.endpoint}

    def metered_total(self, dimension: str) -> int:
        return sum(r.quantity for r in self.records.values() if r.dimension == dimension)

    def outcomes(self, operation: str) -> list[str]:
        return [outcome for op, outcome in self.calls if op == operation]

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
                status, reply, delay = fake._handle(operation, json.loads(body or b"{}"))
                if status == 0:  # "drop": close without answering
                    self.close_connection = True
                    return
                time.sleep(delay)
                payload = json.dumps(reply).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up waiting: that is the "lost response"
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @contextmanager
    def outage(self) -> Iterator[None]:
        """The endpoint refuses connections until the block ends."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def _handle(self, operation: str, params: dict[str, object]) -> tuple[int, object, float]:
        with self._lock:
            fault = self.faults.popleft() if self.faults else None
            status, reply, delay = self._answer(operation, params, fault)
            outcome = "ok" if status == 200 else str(reply.get("__type", "dropped"))
            self.calls.append((operation, f"{outcome}+lost" if delay else outcome))
            return status, reply, delay

    def _answer(  # noqa: PLR0911 - one return per simulated outcome
        self, operation: str, params: dict[str, object], fault: Fault | None
    ) -> tuple[int, dict[str, object], float]:
        if fault == "drop":
            return 0, {}, 0.0
        if fault == "throttle":
            return 400, _error("ThrottlingException", "Rate exceeded"), 0.0
        if fault == "error500":
            return 500, _error("InternalServiceErrorException", "Retry your request"), 0.0
        if not self.entitled:
            return 400, _error("CustomerNotEntitledException", "Not subscribed"), 0.0
        if operation == "RegisterUsage":
            return 200, {"Signature": "eyJhbGciOiJQUzI1NiJ9.e30.c2ln"}, 0.0
        if operation != "MeterUsage":
            return 400, _error("UnknownOperationException", operation), 0.0
        if params.get("DryRun"):
            return 400, _error("DryRunOperation", "Request would have succeeded"), 0.0
        status, reply = self._meter(params)
        return status, reply, self.lost_response_seconds if fault == "lose_response" else 0.0

    def _meter(self, params: dict[str, object]) -> tuple[int, dict[str, object]]:
        moment = datetime.fromtimestamp(float(str(params["Timestamp"])), UTC)
        hour = moment.replace(minute=0, second=0, microsecond=0)
        dimension, quantity = str(params["UsageDimension"]), int(str(params["UsageQuantity"]))
        token = str(params.get("ClientToken", ""))
        signature = (hour, dimension, quantity)
        if token and self._tokens.setdefault(token, signature) != signature:
            return 400, _error("IdempotencyConflictException", "ClientToken reused")
        stored = self.records.get((hour, dimension))
        if stored is None:
            stored = StoredRecord(hour, dimension, quantity, uuid.uuid4().hex)
            self.records[(hour, dimension)] = stored
        elif stored.quantity != quantity:
            return 400, _error("DuplicateRequestException", "Hour already metered")
        return 200, {"MeteringRecordId": stored.record_id}


def _error(code: str, message: str) -> dict[str, object]:
    return {"__type": code, "message": message}


@contextmanager
def running_fake_metering(**options: float) -> Iterator[FakeMetering]:
    fake = FakeMetering(**options)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
