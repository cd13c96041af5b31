"""The service's own metrics, as CloudWatch embedded metric format (EMF) in its JSON log lines.

A log line with an ``_aws`` member (a timestamp in milliseconds and the metric directives:
namespace, dimension sets, metric names and units) is turned into metrics by CloudWatch Logs
itself, so the logs the platform already ships (the ECS ``awslogs`` driver, the EKS
observability add-on's Fluent Bit) carry them: no CloudWatch endpoint, no ``PutMetricData``
permission. The dimension and metric values are members of the same line.

What is measured, per provider call: its latency (retries included) and, when it fails, its
error class; per failed AWS Marketplace call: one metering failure. Names and the namespace come
from :mod:`service.contract`, where the alarms read them too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from service.contract import (
    DEPLOYMENT_DIMENSION,
    METERING_FAILURES_METRIC,
    METRICS_NAMESPACE,
    PROVIDER_ERRORS_METRIC,
    PROVIDER_LATENCY_METRIC,
    ProviderErrorClass,
)
from service.providers.errors import (
    ContentRefusedError,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimitedError,
    ProviderTimeoutError,
    ProviderUnreachableError,
)

METRICS_LOG_NAME = "service.metrics"
"""Written at INFO whatever LOG_LEVEL says (configure_logging keeps it there): metrics are not
debugging output."""

logger = logging.getLogger(METRICS_LOG_NAME)
_deployment = "hypernym"


def configure_metrics(deployment_name: str) -> None:
    """Set the ``Deployment`` dimension of every metric this process writes."""
    global _deployment  # noqa: PLW0603 - one value per process, like the log configuration
    _deployment = deployment_name


def error_class(error: ProviderError) -> ProviderErrorClass:
    """The alarm class of a provider failure (a refusal of credentials, a timeout, ...)."""
    if isinstance(error, ProviderTimeoutError):
        return "timeout"
    if isinstance(error, ProviderUnreachableError):
        return "unreachable"
    if isinstance(error, ProviderRateLimitedError):
        return "rate_limited"
    if isinstance(error, ProviderAuthError):
        return "auth"
    if isinstance(error, ContentRefusedError):
        return "content_refused"
    return "failed"


def provider_call(operation: str, latency_ms: float, error: ProviderError | None) -> None:
    """One provider call (``chat`` or ``embed``): its latency, and its error class if it failed."""
    _emit(
        f"provider {operation}",
        {PROVIDER_LATENCY_METRIC: ("Milliseconds", round(latency_ms, 1))},
        {"Operation": operation},
    )
    if error is not None:
        _emit(
            f"provider {operation} failed",
            {PROVIDER_ERRORS_METRIC: ("Count", 1)},
            {"ErrorClass": error_class(error)},
        )


def metering_failure(operation: str, code: str) -> None:
    """One AWS Marketplace call that failed (``code``: the AWS error code or exception name)."""
    _emit(
        f"metering {operation} failed",
        {METERING_FAILURES_METRIC: ("Count", 1)},
        {"Operation": operation},
        code=code,
    )


def _emit(
    message: str,
    metrics: dict[str, tuple[str, float]],
    breakdown: dict[str, str],
    **fields: str,
) -> None:
    """One EMF line: ``metrics`` (name -> unit, value) under the deployment alone and under the
    deployment with each ``breakdown`` dimension, so an alarm can use the total."""
    dimension_sets: Sequence[list[str]] = [
        [DEPLOYMENT_DIMENSION],
        *([DEPLOYMENT_DIMENSION, name] for name in breakdown),
    ]
    logger.info(
        message,
        extra={
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": METRICS_NAMESPACE,
                        "Dimensions": dimension_sets,
                        "Metrics": [
                            {"Name": name, "Unit": unit} for name, (unit, _) in metrics.items()
                        ],
                    }
                ],
            },
            DEPLOYMENT_DIMENSION: _deployment,
            **breakdown,
            **{name: value for name, (_, value) in metrics.items()},
            **fields,
        },
    )
