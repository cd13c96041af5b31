"""Alarms and a dashboard of one deployment, ECS or EKS, notifying an encrypted SNS topic.

Alarms: the load balancer's own 5xx rate and the service's (target) 5xx rate, unhealthy targets,
p99 target response time, running tasks/pods below the minimum, scaling pinned at the maximum,
and the service's own signals: provider errors by class, p99 provider latency, metering failures.
The service publishes those as CloudWatch embedded metric format in its log lines
(service/metrics.py), so they need no endpoint or permission; names come from service/contract.py.

The topic is encrypted with a customer-managed key whose policy lets CloudWatch use it: alarms
cannot publish to a topic encrypted with the AWS-managed SNS key, whose policy cannot be changed
(docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
The key and topic policies admit only this deployment's alarms. Every alarm notifies the topic
when it fires and when it clears. The dashboard shows the design's metrics list (CPU and memory,
TargetResponseTime, HealthyHostCount, RequestCount) beside what is alarmed on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from modules.constructs.iam import account_administers_key, account_principal, policy_document
from modules.constructs.tags import name_tag
from service.contract import (
    DEPLOYMENT_DIMENSION,
    METERING_FAILURES_METRIC,
    METRICS_NAMESPACE,
    PROVIDER_ERROR_CLASSES,
    PROVIDER_ERRORS_METRIC,
    PROVIDER_LATENCY_METRIC,
)

ELB_NAMESPACE = "AWS/ApplicationELB"


@dataclass(frozen=True, kw_only=True)
class MetricSpec:
    """One CloudWatch metric: namespace, name, dimensions, and the statistic to show."""

    namespace: str
    name: str
    dimensions: Mapping[str, str]
    stat: str = "Average"
    label: str | None = None

    def widget_row(self) -> list[Any]:
        row: list[Any] = [self.namespace, self.name]
        for key, value in self.dimensions.items():
            row += [key, value]
        row.append({"stat": self.stat, "label": self.label or self.name})
        return row


@dataclass(frozen=True, kw_only=True)
class LoadBalancerTargets:
    """The load balancer in front of the service and its target group (ARN suffixes, the
    `LoadBalancer` and `TargetGroup` dimensions of AWS/ApplicationELB)."""

    load_balancer_arn_suffix: str
    target_group_arn_suffix: str


@dataclass(frozen=True, kw_only=True)
class RunningCount:
    """The metric of the running task/pod count, with the bounds autoscaling keeps it in."""

    metric: MetricSpec
    min_count: int
    max_count: int


@dataclass(frozen=True, kw_only=True)
class MonitoringProps:
    name: str
    """Prefix of the topic, key, alarm and dashboard names."""
    deployment_name: str
    """The `Deployment` dimension of the service's own metrics (its DEPLOYMENT_NAME)."""
    account_id: str
    partition: str
    region: str
    load_balancer: LoadBalancerTargets
    running: RunningCount
    utilization: Sequence[MetricSpec]
    """CPU and memory of the platform (ECS service; EKS nodes and pods), for the dashboard."""
    metering: bool
    """Whether the service calls AWS Marketplace (and metering failures are alarmed on)."""
    email_subscriptions: Sequence[str] = ()
    https_subscriptions: Sequence[str] = ()
    sqs_subscriptions: Sequence[str] = ()
    period_seconds: int
    evaluation_periods: int
    load_balancer_5xx_percent: int
    target_5xx_percent: int
    unhealthy_hosts: int
    target_response_p99_seconds: int
    provider_latency_p99_seconds: int
    provider_errors: int
    metering_failures: int
    scaling_at_max_minutes: int
    job_queue_name: str | None = None
    """The asynchronous jobs' queue, alarmed on when jobs wait for a worker; None: no jobs."""
    jobs_waiting_minutes: int


class Monitoring(Construct):
    """Exposes `key`, `topic`, `alarms` (alarm key -> alarm) and `dashboard`."""

    def __init__(self, scope: Construct, id: str, *, props: MonitoringProps) -> None:
        super().__init__(scope, id)
        self._props = props
        self.key = KmsKey(
            self,
            "topic-key",
            description=f"{props.name}: encrypts the alarm topic",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=self._key_policy(),
            tags=name_tag(f"{props.name}-alarms"),
        )
        self.topic = SnsTopic(
            self,
            "topic",
            name=f"{props.name}-alarms",
            kms_master_key_id=self.key.arn,
            tags=name_tag(f"{props.name}-alarms"),
        )
        SnsTopicPolicy(self, "topic-policy", arn=self.topic.arn, policy=self._topic_policy())
        subscriptions = [
            *(("email", endpoint) for endpoint in props.email_subscriptions),
            *(("https", endpoint) for endpoint in props.https_subscriptions),
            *(("sqs", endpoint) for endpoint in props.sqs_subscriptions),
        ]
        for index, (protocol, endpoint) in enumerate(subscriptions):
            SnsTopicSubscription(
                self,
                f"subscription-{index}",
                topic_arn=self.topic.arn,
                protocol=protocol,
                endpoint=endpoint,
            )
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}
        self._load_balancer_alarms()
        self._capacity_alarms()
        self._service_alarms()
        self.dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=props.name,
            dashboard_body=json.dumps({"widgets": self._widgets()}),
        )

    # --- the key ---------------------------------------------------------------------------

    def _key_policy(self) -> str:
        props = self._props
        return policy_document(
            account_administers_key(
                partition=props.partition,
                account_id=props.account_id,
                sid="AccountAdministersTheKey",
            ),
            {
                "Sid": "CloudWatchAlarmsPublishToTheTopic",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": self._alarms_condition(),
            },
        )

    def _alarms_condition(self) -> dict[str, Any]:
        """Only this deployment's alarms, acting for this account (confused-deputy guard)."""
        props = self._props
        alarms = f"arn:{props.partition}:cloudwatch:{props.region}:{props.account_id}:alarm:"
        return {
            "StringEquals": {"aws:SourceAccount": props.account_id},
            "ArnLike": {"aws:SourceArn": f"{alarms}{props.name}-*"},
        }

    def _topic_policy(self) -> str:
        props = self._props
        return policy_document(
            {
                "Sid": "AccountManagesTheTopic",
                "Effect": "Allow",
                "Principal": {
                    "AWS": account_principal(partition=props.partition, account_id=props.account_id)
                },
                "Action": [
                    "sns:GetTopicAttributes",
                    "sns:SetTopicAttributes",
                    "sns:Subscribe",
                    "sns:ListSubscriptionsByTopic",
                    "sns:Publish",
                    "sns:DeleteTopic",
                ],
                "Resource": self.topic.arn,
            },
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": self.topic.arn,
                "Condition": self._alarms_condition(),
            },
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": self.topic.arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        )

    # --- alarms ----------------------------------------------------------------------------

    def _alarm(
        self,
        key: str,
        description: str,
        *,
        comparison: str,
        threshold: float,
        missing_data: str = "notBreaching",
        evaluation_periods: int | None = None,
        **metric: Any,
    ) -> None:
        props = self._props
        self.alarms[key] = CloudwatchMetricAlarm(
            self,
            f"alarm-{key}",
            alarm_name=f"{props.name}-{key}",
            alarm_description=description,
            comparison_operator=comparison,
            threshold=threshold,
            evaluation_periods=evaluation_periods or props.evaluation_periods,
            treat_missing_data=missing_data,
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            tags=name_tag(f"{props.name}-{key}"),
            **metric,
        )

    def _single(self, spec: MetricSpec, *, extended: bool = False) -> dict[str, Any]:
        """The alarm arguments of one metric and statistic (pNN: an extended statistic)."""
        statistic = {"extended_statistic": spec.stat} if extended else {"statistic": spec.stat}
        return {
            "namespace": spec.namespace,
            "metric_name": spec.name,
            "dimensions": dict(spec.dimensions),
            "period": self._props.period_seconds,
            **statistic,
        }

    def _rate(self, errors: str, requests: str) -> dict[str, Any]:
        """The alarm arguments of `errors` per `requests` of the load balancer, in percent."""
        dimensions = {"LoadBalancer": self._props.load_balancer.load_balancer_arn_suffix}

        def query(id: str, metric: str) -> CloudwatchMetricAlarmMetricQuery:
            return CloudwatchMetricAlarmMetricQuery(
                id=id,
                metric=CloudwatchMetricAlarmMetricQueryMetric(
                    namespace=ELB_NAMESPACE,
                    metric_name=metric,
                    dimensions=dimensions,
                    period=self._props.period_seconds,
                    stat="Sum",
                ),
            )

        return {
            "metric_query": [
                query("errors", errors),
                query("requests", requests),
                CloudwatchMetricAlarmMetricQuery(
                    id="rate",
                    expression="IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)",
                    label=f"{errors} per request (%)",
                    return_data=True,
                ),
            ]
        }

    def _load_balancer_alarms(self) -> None:
        props, lb = self._props, self._props.load_balancer
        self._alarm(
            "load-balancer-5xx",
            "The load balancer itself answers 5xx (no healthy target, timeouts, resets)",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=props.load_balancer_5xx_percent,
            **self._rate("HTTPCode_ELB_5XX_Count", "RequestCount"),
        )
        self._alarm(
            "target-5xx",
            "The service answers 5xx (provider failures, errors)",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=props.target_5xx_percent,
            **self._rate("HTTPCode_Target_5XX_Count", "RequestCount"),
        )
        self._alarm(
            "unhealthy-hosts",
            "Targets fail the load balancer's health check",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=props.unhealthy_hosts,
            **self._single(self._target_metric("UnHealthyHostCount", "Maximum")),
        )
        self._alarm(
            "target-response-p99",
            "p99 of the service's response time is above the threshold (seconds)",
            comparison="GreaterThanThreshold",
            threshold=props.target_response_p99_seconds,
            **self._single(
                MetricSpec(
                    namespace=ELB_NAMESPACE,
                    name="TargetResponseTime",
                    dimensions={"LoadBalancer": lb.load_balancer_arn_suffix},
                    stat="p99",
                ),
                extended=True,
            ),
        )

    def _target_metric(self, name: str, stat: str) -> MetricSpec:
        lb = self._props.load_balancer
        return MetricSpec(
            namespace=ELB_NAMESPACE,
            name=name,
            dimensions={
                "TargetGroup": lb.target_group_arn_suffix,
                "LoadBalancer": lb.load_balancer_arn_suffix,
            },
            stat=stat,
        )

    def _capacity_alarms(self) -> None:
        props, running = self._props, self._props.running
        minimum = MetricSpec(
            namespace=running.metric.namespace,
            name=running.metric.name,
            dimensions=running.metric.dimensions,
            stat="Minimum",
        )
        self._alarm(
            "running-below-minimum",
            f"Fewer than {running.min_count} tasks/pods run (no data counts as none)",
            comparison="LessThanThreshold",
            threshold=running.min_count,
            missing_data="breaching",
            **self._single(minimum),
        )
        self._alarm(
            "scaling-at-maximum",
            f"The service has run at its maximum of {running.max_count} tasks/pods for "
            f"{props.scaling_at_max_minutes} minutes: raise the maximum or the capacity",
            comparison="GreaterThanOrEqualToThreshold",
            threshold=running.max_count,
            evaluation_periods=props.scaling_at_max_minutes * 60 // props.period_seconds,
            **self._single(minimum),
        )
        if props.job_queue_name is not None:
            self._alarm(
                "jobs-waiting",
                f"Asynchronous jobs have waited {props.jobs_waiting_minutes} minutes with no "
                "worker free to take one: add replicas or worker concurrency",
                comparison="GreaterThanOrEqualToThreshold",
                threshold=1,
                evaluation_periods=props.jobs_waiting_minutes * 60 // props.period_seconds,
                **self._single(self._queue_metric("ApproximateNumberOfMessagesVisible", "Minimum")),
            )

    def _queue_metric(self, name: str, stat: str) -> MetricSpec:
        assert self._props.job_queue_name is not None
        return MetricSpec(
            namespace="AWS/SQS",
            name=name,
            dimensions={"QueueName": self._props.job_queue_name},
            stat=stat,
        )

    def _service_metric(
        self, name: str, stat: str, label: str | None = None, **dimensions: str
    ) -> MetricSpec:
        return MetricSpec(
            namespace=METRICS_NAMESPACE,
            name=name,
            dimensions={DEPLOYMENT_DIMENSION: self._props.deployment_name, **dimensions},
            stat=stat,
            label=label,
        )

    def _service_alarms(self) -> None:
        props = self._props
        for error_class in PROVIDER_ERROR_CLASSES:
            self._alarm(
                f"provider-errors-{error_class.replace('_', '-')}",
                f"Provider calls fail with {error_class} errors",
                comparison="GreaterThanOrEqualToThreshold",
                threshold=props.provider_errors,
                **self._single(
                    self._service_metric(PROVIDER_ERRORS_METRIC, "Sum", ErrorClass=error_class)
                ),
            )
        self._alarm(
            "provider-latency-p99",
            "p99 of one provider call is above the threshold (milliseconds)",
            comparison="GreaterThanThreshold",
            threshold=props.provider_latency_p99_seconds * 1000,
            **self._single(self._service_metric(PROVIDER_LATENCY_METRIC, "p99"), extended=True),
        )
        if props.metering:
            self._alarm(
                "metering-failures",
                "AWS Marketplace calls fail: usage may go unbilled or the pod stays not ready",
                comparison="GreaterThanOrEqualToThreshold",
                threshold=props.metering_failures,
                evaluation_periods=1,
                **self._single(self._service_metric(METERING_FAILURES_METRIC, "Sum")),
            )

    # --- the dashboard ---------------------------------------------------------------------

    def _widgets(self) -> list[dict[str, Any]]:
        props, lb, running = self._props, self._props.load_balancer, self._props.running
        at_lb = {"LoadBalancer": lb.load_balancer_arn_suffix}

        def elb(name: str, stat: str, label: str | None = None) -> MetricSpec:
            return MetricSpec(
                namespace=ELB_NAMESPACE, name=name, dimensions=at_lb, stat=stat, label=label
            )

        graphs: list[tuple[str, Sequence[MetricSpec], dict[str, Any]]] = [
            ("CPU and memory utilization (%)", props.utilization, {}),
            (
                "TargetResponseTime (s)",
                [elb("TargetResponseTime", "p50", "p50"), elb("TargetResponseTime", "p99", "p99")],
                {},
            ),
            (
                "HealthyHostCount / UnHealthyHostCount",
                [
                    self._target_metric("HealthyHostCount", "Minimum"),
                    self._target_metric("UnHealthyHostCount", "Maximum"),
                ],
                {},
            ),
            (
                "RequestCount and 5xx",
                [
                    elb("RequestCount", "Sum"),
                    elb("HTTPCode_ELB_5XX_Count", "Sum"),
                    elb("HTTPCode_Target_5XX_Count", "Sum"),
                ],
                {},
            ),
            (
                "Running tasks/pods",
                [running.metric],
                {
                    "annotations": {
                        "horizontal": [
                            {"label": "minimum", "value": running.min_count},
                            {"label": "maximum", "value": running.max_count},
                        ]
                    }
                },
            ),
            (
                "Provider latency (ms)",
                [
                    self._service_metric(PROVIDER_LATENCY_METRIC, "p50"),
                    self._service_metric(PROVIDER_LATENCY_METRIC, "p99"),
                ],
                {},
            ),
            (
                "Provider errors by class",
                [
                    self._service_metric(
                        PROVIDER_ERRORS_METRIC, "Sum", label=error_class, ErrorClass=error_class
                    )
                    for error_class in PROVIDER_ERROR_CLASSES
                ],
                {},
            ),
            (
                "Metering failures",
                [self._service_metric(METERING_FAILURES_METRIC, "Sum")],
                {},
            ),
        ]
        if props.job_queue_name is not None:
            graphs.append(
                (
                    "Asynchronous jobs waiting / running",
                    [
                        self._queue_metric("ApproximateNumberOfMessagesVisible", "Maximum"),
                        self._queue_metric("ApproximateNumberOfMessagesNotVisible", "Maximum"),
                    ],
                    {},
                )
            )
        widgets: list[dict[str, Any]] = [
            {
                "type": "alarm",
                "x": 0,
                "y": 0,
                "width": 24,
                "height": 3,
                "properties": {
                    "title": "Alarms",
                    "alarms": [alarm.arn for alarm in self.alarms.values()],
                },
            }
        ]
        for index, (title, metrics, extra) in enumerate(graphs):
            widgets.append(
                {
                    "type": "metric",
                    "x": (index % 3) * 8,
                    "y": 3 + (index // 3) * 6,
                    "width": 8,
                    "height": 6,
                    "properties": {
                        "title": title,
                        "region": props.region,
                        "view": "timeSeries",
                        "stacked": False,
                        "period": props.period_seconds,
                        "metrics": [spec.widget_row() for spec in metrics],
                        **extra,
                    },
                }
            )
        return widgets
