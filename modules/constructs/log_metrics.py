"""The service's metrics from its log lines by CloudWatch Logs metric filters, where the log
shipper nests each line so that CloudWatch cannot read it as embedded metric format.

On EKS the CloudWatch Observability add-on's Fluent Bit parses each container line as JSON and
puts it under `log_processed` (its kubernetes filter: `Merge_Log_Key log_processed`), beside
`log` and the pod's metadata. Embedded metric format needs `_aws` at the root of the event, so
there the service's EMF lines (service/metrics.py) stay plain logs. These filters read the same
fields at their nested path and publish the same metrics (namespace, names, units, dimension
sets) that the alarms and the dashboard read, with no endpoint and no permission beyond the
log delivery that already exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_metric_filter import (
    CloudwatchLogMetricFilter,
    CloudwatchLogMetricFilterMetricTransformation,
)
from constructs import Construct

from service.contract import (
    DEPLOYMENT_DIMENSION,
    METERING_FAILURES_METRIC,
    METRICS_NAMESPACE,
    PROVIDER_ERRORS_METRIC,
    PROVIDER_LATENCY_METRIC,
)


@dataclass(frozen=True, kw_only=True)
class ServiceLogMetricsProps:
    name: str
    """Prefix of the filter names."""
    log_group_name: str
    """The log group the shipper writes the service's lines to."""
    line_path: str = "$.log_processed"
    """Where the shipper puts the service's JSON line. Default: Fluent Bit's Merge_Log_Key of
    the CloudWatch Observability add-on."""


class ServiceLogMetrics(Construct):
    """Exposes `filters` (metric name -> metric filter)."""

    def __init__(self, scope: Construct, id: str, *, props: ServiceLogMetricsProps) -> None:
        super().__init__(scope, id)
        line = props.line_path
        deployment = {DEPLOYMENT_DIMENSION: f"{line}.{DEPLOYMENT_DIMENSION}"}
        # (metric, unit, value, extra dimensions): the dimension sets the alarms read.
        metrics: tuple[tuple[str, str, str, dict[str, str]], ...] = (
            (PROVIDER_LATENCY_METRIC, "Milliseconds", f"{line}.{PROVIDER_LATENCY_METRIC}", {}),
            (PROVIDER_ERRORS_METRIC, "Count", "1", {"ErrorClass": f"{line}.ErrorClass"}),
            (METERING_FAILURES_METRIC, "Count", "1", {}),
        )
        self.filters = {
            metric: CloudwatchLogMetricFilter(
                self,
                metric,
                name=f"{props.name}-{metric}",
                log_group_name=props.log_group_name,
                pattern=f"{{ {line}.{metric} >= 0 }}",
                metric_transformation=CloudwatchLogMetricFilterMetricTransformation(
                    namespace=METRICS_NAMESPACE,
                    name=metric,
                    value=value,
                    unit=unit,
                    dimensions={**deployment, **extra},
                ),
            )
            for metric, unit, value, extra in metrics
        }
