"""The service's own metrics: CloudWatch embedded metric format (EMF) lines in its JSON log, read
from the log of the real service (``python -m service``) driven over HTTP.

Each EMF line is checked against the format's rules (docs.aws.amazon.com/AmazonCloudWatch/latest/
monitoring/CloudWatch_Embedded_Metric_Format_Specification.html): one JSON object per line, an
``_aws`` member with an integer millisecond ``Timestamp`` and ``CloudWatchMetrics`` directives
(``Namespace``, ``Dimensions`` as arrays of dimension names, ``Metrics`` with ``Name`` and
``Unit``), every referenced dimension a string member of the line, every metric a number."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.contract import (
    DEPLOYMENT_DIMENSION,
    METERING_FAILURES_METRIC,
    METRICS_NAMESPACE,
    PROVIDER_ERRORS_METRIC,
    PROVIDER_LATENCY_METRIC,
)
from tests.fakes.fake_provider import FakeProvider
from tests.production.fake_metering import FakeMetering, running_fake_metering
from tests.production.service_env import analyze, managed_env, wait_until
from tests.service.runner import ServiceProcess, running_service

DEPLOYMENT = "hypernym-ops-test"
EMF_UNITS = {"Milliseconds", "Count"}
MAX_DIMENSIONS_PER_SET = 30


@pytest.fixture
def metering_api() -> Iterator[FakeMetering]:
    with running_fake_metering() as fake:
        fake.entitled = False  # RegisterUsage fails once, the service stays not ready
        yield fake


@pytest.fixture
def service(
    provider: FakeProvider, metering_api: FakeMetering, tmp_path: Path
) -> Iterator[ServiceProcess]:
    env = managed_env(
        provider,
        DEPLOYMENT_NAME=DEPLOYMENT,
        LOG_LEVEL="error",  # metrics lines are written whatever the level
        PROVIDER_MAX_ATTEMPTS="1",
        PROVIDER_READ_TIMEOUT_SECONDS="2",
        METERING="register",
        MARKETPLACE_PRODUCT_CODE="prod-metrics",
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        **metering_api.env(),
    )
    with running_service(env, tmp_path / "service.log") as running:
        yield running


def emf_lines(service: ServiceProcess) -> list[dict[str, Any]]:
    """Every log line with an ``_aws`` member, checked against the EMF rules."""
    found = []
    for text in service.log().splitlines():
        if '"_aws"' not in text:
            continue
        line = json.loads(text)  # the whole line is one JSON object, nothing before or after
        assert_valid_emf(line)
        found.append(line)
    return found


def assert_valid_emf(line: dict[str, Any]) -> None:
    metadata = line["_aws"]
    assert isinstance(metadata["Timestamp"], int)
    assert abs(metadata["Timestamp"] / 1000 - time.time()) < 600
    for directive in metadata["CloudWatchMetrics"]:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        assert directive["Namespace"] == METRICS_NAMESPACE
        for dimension_set in directive["Dimensions"]:
            assert 1 <= len(dimension_set) <= MAX_DIMENSIONS_PER_SET
            for name in dimension_set:
                assert isinstance(line[name], str), name
        for metric in directive["Metrics"]:
            assert set(metric) == {"Name", "Unit"}
            assert metric["Unit"] in EMF_UNITS
            assert isinstance(line[metric["Name"]], int | float), metric["Name"]


def metric_lines(lines: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    return [
        line
        for line in lines
        for directive in line["_aws"]["CloudWatchMetrics"]
        if any(m["Name"] == metric for m in directive["Metrics"])
    ]


def dimension_sets(line: dict[str, Any]) -> list[list[str]]:
    return [s for d in line["_aws"]["CloudWatchMetrics"] for s in d["Dimensions"]]


def test_provider_calls_metering_failures_and_error_classes_are_emf_lines(
    service: ServiceProcess, provider: FakeProvider, metering_api: FakeMetering
) -> None:
    # GIVEN a service whose Marketplace entitlement is refused
    wait_until(
        lambda: metric_lines(emf_lines(service), METERING_FAILURES_METRIC) != [],
        what="a metering failure line",
    )
    # WHEN one analysis succeeds and one meets a provider timeout
    assert analyze(service) == 200
    provider.inject("timeout")
    assert analyze(service) == 503
    provider.clear()
    lines = emf_lines(service)

    # THEN every provider call has its latency under the deployment, and by operation
    latencies = metric_lines(lines, PROVIDER_LATENCY_METRIC)
    assert {line["Operation"] for line in latencies} >= {"chat"}
    for line in latencies:
        assert line[DEPLOYMENT_DIMENSION] == DEPLOYMENT
        assert line[PROVIDER_LATENCY_METRIC] >= 0
        assert dimension_sets(line) == [[DEPLOYMENT_DIMENSION], [DEPLOYMENT_DIMENSION, "Operation"]]
    # the timed-out call took at least the read timeout
    assert max(line[PROVIDER_LATENCY_METRIC] for line in latencies) >= 2000
    # AND the failure is counted once, in its class
    (error,) = metric_lines(lines, PROVIDER_ERRORS_METRIC)
    assert error["ErrorClass"] == "timeout"
    assert error[PROVIDER_ERRORS_METRIC] == 1
    assert dimension_sets(error) == [[DEPLOYMENT_DIMENSION], [DEPLOYMENT_DIMENSION, "ErrorClass"]]
    # AND the refused RegisterUsage is a metering failure with its AWS error code
    (failure,) = metric_lines(lines, METERING_FAILURES_METRIC)
    assert failure[METERING_FAILURES_METRIC] == 1
    assert failure["Operation"] == "RegisterUsage"
    assert failure["code"] == "CustomerNotEntitledException"
    assert metering_api.outcomes("RegisterUsage") == ["CustomerNotEntitledException"]
