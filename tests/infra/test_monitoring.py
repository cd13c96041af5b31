"""Alarms and dashboard of a deployment (modules/constructs/monitoring.py), on the synthesized
JSON of the ECS stack and the EKS apps stack.

Rules from AWS documentation encoded here: CloudWatch alarms publish to an SSE-encrypted topic
only with a customer-managed key whose policy allows cloudwatch.amazonaws.com kms:Decrypt and
kms:GenerateDataKey* (docs.aws.amazon.com/sns/latest/dg/sns-key-management.html); UnHealthyHostCount
and HealthyHostCount need both the TargetGroup and LoadBalancer dimensions, TargetResponseTime
and the HTTPCode counts the LoadBalancer dimension (Application Load Balancer CloudWatch metrics);
Container Insights publishes RunningTaskCount in ECS/ContainerInsights by ClusterName and
ServiceName, and namespace_number_of_running_pods in ContainerInsights by Namespace and
ClusterName.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.config import ConfigError, parse_config, validate
from modules.config.model import MonitoringConfig
from service.contract import (
    DEPLOYMENT_DIMENSION,
    METERING_FAILURES_METRIC,
    METRICS_NAMESPACE,
    PROVIDER_ERROR_CLASSES,
    PROVIDER_ERRORS_METRIC,
    PROVIDER_LATENCY_METRIC,
)
from tests.infra.conftest import example, varied
from tests.infra.synthesized import Body, Stack

DEFAULTS = MonitoringConfig()
ALARM_KEYS = {
    "load-balancer-5xx",
    "target-5xx",
    "unhealthy-hosts",
    "target-response-p99",
    "running-below-minimum",
    "scaling-at-maximum",
    *(f"provider-errors-{c.replace('_', '-')}" for c in PROVIDER_ERROR_CLASSES),
    "provider-latency-p99",
    "metering-failures",
    "jobs-waiting",
}
QUEUE = "arn:aws:sqs:eu-west-1:123456789012:hypernym-alarms"


@pytest.fixture(scope="module")
def eks_apps(synth_example: Callable[[str], Path]) -> Stack:
    return Stack.load(synth_example("eks-managed"), "hypernym-eks-eks-apps")


@pytest.fixture(scope="module")
def subscribed(synth_config: Callable[..., Path]) -> Stack:
    config = varied(
        example("ecs-managed"),
        monitoring={
            "email_subscriptions": ("ops@example.com",),
            "https_subscriptions": ("https://hooks.example.com/alarms",),
            "sqs_subscriptions": (QUEUE,),
            "target_response_p99_seconds": 20,
            "scaling_at_max_minutes": 30,
        },
    )
    return Stack.load(synth_config(config, "subscribed"), "hypernym-ecs")


def alarms(stack: Stack, name: str) -> dict[str, Body]:
    """Alarm key (the name without the deployment prefix) -> body."""
    return {
        body["alarm_name"].removeprefix(f"{name}-"): body
        for body in stack.resources("aws_cloudwatch_metric_alarm").values()
    }


def statement(policy: str, sid: str) -> Body:
    (found,) = [s for s in json.loads(policy)["Statement"] if s.get("Sid") == sid]
    return found


def test_the_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use(managed: Stack) -> None:
    key = managed.one("aws_kms_key", "monitoring")
    assert key["enable_key_rotation"] is True
    topic = managed.one("aws_sns_topic")
    assert topic["kms_master_key_id"] == managed.ref("aws_kms_key", "monitoring", "arn")
    grant = statement(key["policy"], "CloudWatchAlarmsPublishToTheTopic")
    assert grant["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(grant["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert grant["Condition"]["StringEquals"] == {
        "aws:SourceAccount": "${data.aws_caller_identity.caller.account_id}"
    }
    assert grant["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":alarm:hypernym-*")


def test_only_the_deployments_alarms_publish_and_only_over_tls(managed: Stack) -> None:
    policy = managed.one("aws_sns_topic_policy")["policy"]
    publish = statement(policy, "CloudWatchAlarmsPublish")
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Action"] == "sns:Publish"
    assert publish["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":alarm:hypernym-*")
    tls = statement(policy, "TlsOnly")
    assert tls["Effect"] == "Deny"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_alarm_of_the_issue_exists_and_notifies_the_topic_both_ways(managed: Stack) -> None:
    found = alarms(managed, "hypernym")
    assert set(found) == ALARM_KEYS
    topic = managed.ref("aws_sns_topic", "monitoring", "arn")
    for body in found.values():
        assert body["alarm_actions"] == [topic]
        assert body["ok_actions"] == [topic]
        assert body["tags"]["Name"] == body["alarm_name"]


def test_without_metering_there_is_no_metering_alarm(tokenless_managed: Stack) -> None:
    assert set(alarms(tokenless_managed, "hypernym")) == ALARM_KEYS - {"metering-failures"}


def test_5xx_rates_are_per_request_percentages_of_the_load_balancer(managed: Stack) -> None:
    lb = managed.ref("aws_lb", "load-balancer", "arn_suffix")
    found = alarms(managed, "hypernym")
    for key, errors, threshold in (
        ("load-balancer-5xx", "HTTPCode_ELB_5XX_Count", DEFAULTS.load_balancer_5xx_percent),
        ("target-5xx", "HTTPCode_Target_5XX_Count", DEFAULTS.target_5xx_percent),
    ):
        body = found[key]
        assert body["threshold"] == threshold
        assert body["evaluation_periods"] == DEFAULTS.evaluation_periods
        queries = {q["id"]: q for q in body["metric_query"]}
        assert queries["errors"]["metric"]["metric_name"] == errors
        assert queries["requests"]["metric"]["metric_name"] == "RequestCount"
        for id in ("errors", "requests"):
            metric = queries[id]["metric"]
            assert metric["namespace"] == "AWS/ApplicationELB"
            assert metric["dimensions"] == {"LoadBalancer": lb}
            assert metric["stat"] == "Sum"
            assert metric["period"] == DEFAULTS.period_seconds
        assert queries["rate"]["return_data"] is True
        assert "100 * FILL(errors, 0) / requests" in queries["rate"]["expression"]


def test_target_health_and_p99_response_time_use_their_metrics_dimensions(managed: Stack) -> None:
    lb = managed.ref("aws_lb", "load-balancer", "arn_suffix")
    group = managed.ref("aws_lb_target_group", "load-balancer", "arn_suffix")
    found = alarms(managed, "hypernym")
    unhealthy = found["unhealthy-hosts"]
    assert unhealthy["metric_name"] == "UnHealthyHostCount"
    assert unhealthy["dimensions"] == {"TargetGroup": group, "LoadBalancer": lb}
    assert unhealthy["threshold"] == DEFAULTS.unhealthy_hosts
    p99 = found["target-response-p99"]
    assert p99["metric_name"] == "TargetResponseTime"
    assert p99["extended_statistic"] == "p99"
    assert "statistic" not in p99
    assert p99["dimensions"] == {"LoadBalancer": lb}
    assert p99["threshold"] == DEFAULTS.target_response_p99_seconds


def test_task_count_alarms_bound_the_ecs_service_as_autoscaling_does(managed: Stack) -> None:
    found = alarms(managed, "hypernym")
    target = managed.one("aws_appautoscaling_target")
    dimensions = {
        "ClusterName": managed.ref("aws_ecs_cluster", "service", "name"),
        "ServiceName": managed.ref("aws_ecs_service", "service", "name"),
    }
    below = found["running-below-minimum"]
    assert (below["namespace"], below["metric_name"]) == (
        "ECS/ContainerInsights",
        "RunningTaskCount",
    )
    assert below["dimensions"] == dimensions
    assert below["comparison_operator"] == "LessThanThreshold"
    assert below["threshold"] == target["min_capacity"]
    assert below["treat_missing_data"] == "breaching"  # no tasks report no data
    pinned = found["scaling-at-maximum"]
    assert pinned["dimensions"] == dimensions
    assert pinned["statistic"] == "Minimum"  # at the maximum all along, not once
    assert pinned["threshold"] == target["max_capacity"]
    assert pinned["evaluation_periods"] * pinned["period"] == DEFAULTS.scaling_at_max_minutes * 60


def test_jobs_waiting_for_a_worker_alarm_on_the_jobs_queue(managed: Stack) -> None:
    waiting = alarms(managed, "hypernym")["jobs-waiting"]
    assert (waiting["namespace"], waiting["metric_name"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",  # waiting, not yet taken by a worker
    )
    queue = managed.one("aws_sqs_queue", "async-jobs_queue")
    assert waiting["dimensions"] == {"QueueName": queue["name"]}
    assert waiting["statistic"] == "Minimum"  # waiting all along, not once
    assert waiting["comparison_operator"] == "GreaterThanOrEqualToThreshold"
    assert waiting["threshold"] == 1
    assert waiting["evaluation_periods"] * waiting["period"] == DEFAULTS.jobs_waiting_minutes * 60
    assert waiting["treat_missing_data"] == "notBreaching"  # an idle queue reports nothing
    _, names = dashboard_metrics(managed)
    assert {"ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible"} <= names


def test_without_async_jobs_there_is_no_queue_alarm(synth_config: Callable[..., Path]) -> None:
    config = varied(example("ecs-managed"), async_jobs={"enabled": False})
    stack = Stack.load(synth_config(config, "async-off"), "hypernym-ecs")
    assert set(alarms(stack, "hypernym")) == ALARM_KEYS - {"jobs-waiting"}
    _, names = dashboard_metrics(stack)
    assert "ApproximateNumberOfMessagesVisible" not in names


def test_service_alarms_read_the_metrics_the_service_writes(managed: Stack) -> None:
    found = alarms(managed, "hypernym")
    environment = {e["name"]: e["value"] for e in managed.container()["environment"]}
    deployment = {DEPLOYMENT_DIMENSION: environment["DEPLOYMENT_NAME"]}
    assert deployment == {DEPLOYMENT_DIMENSION: "hypernym"}
    for error_class in PROVIDER_ERROR_CLASSES:
        body = found[f"provider-errors-{error_class.replace('_', '-')}"]
        assert (body["namespace"], body["metric_name"]) == (
            METRICS_NAMESPACE,
            PROVIDER_ERRORS_METRIC,
        )
        assert body["dimensions"] == {**deployment, "ErrorClass": error_class}
        assert body["statistic"] == "Sum"
        assert body["threshold"] == DEFAULTS.provider_errors
        assert body["treat_missing_data"] == "notBreaching"  # no error, no EMF line
    latency = found["provider-latency-p99"]
    assert latency["metric_name"] == PROVIDER_LATENCY_METRIC
    assert latency["dimensions"] == deployment
    assert latency["extended_statistic"] == "p99"
    assert latency["threshold"] == DEFAULTS.provider_latency_p99_seconds * 1000  # milliseconds
    metering = found["metering-failures"]
    assert metering["metric_name"] == METERING_FAILURES_METRIC
    assert metering["dimensions"] == deployment
    assert metering["evaluation_periods"] == 1  # one failed call may be unbilled usage


def test_subscriptions_and_thresholds_come_from_the_configuration(subscribed: Stack) -> None:
    subscriptions = {
        (s["protocol"], s["endpoint"])
        for s in subscribed.resources("aws_sns_topic_subscription").values()
    }
    assert subscriptions == {
        ("email", "ops@example.com"),
        ("https", "https://hooks.example.com/alarms"),
        ("sqs", QUEUE),
    }
    found = alarms(subscribed, "hypernym")
    assert found["target-response-p99"]["threshold"] == 20
    assert found["scaling-at-maximum"]["evaluation_periods"] == 30


def test_no_subscription_without_configured_endpoints(managed: Stack) -> None:
    assert managed.resources("aws_sns_topic_subscription") == {}


def dashboard_metrics(stack: Stack) -> tuple[list[Body], set[str]]:
    body = json.loads(stack.one("aws_cloudwatch_dashboard")["dashboard_body"])
    names = {
        row[1]
        for w in body["widgets"]
        if w["type"] == "metric"
        for row in w["properties"]["metrics"]
    }
    return body["widgets"], names


def test_the_dashboard_shows_the_designs_metrics_and_every_alarm(managed: Stack) -> None:
    widgets, names = dashboard_metrics(managed)
    design = {"CPUUtilization", "MemoryUtilization", "TargetResponseTime", "HealthyHostCount"}
    assert design | {"RequestCount"} <= names
    assert {PROVIDER_LATENCY_METRIC, PROVIDER_ERRORS_METRIC, METERING_FAILURES_METRIC} <= names
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    arns = {
        managed.ref("aws_cloudwatch_metric_alarm", f"alarm-{key}_", "arn") for key in ALARM_KEYS
    }
    assert set(alarm_widget["properties"]["alarms"]) == arns
    for widget in widgets:  # the dashboard grid is 24 wide
        assert widget["x"] + widget["width"] <= 24


# --- EKS: the apps stack, on the ALB the controller creates ---------------------------------------


def test_eks_apps_stack_finds_the_controllers_alb_by_its_tags_after_the_release(
    eks_apps: Stack,
) -> None:
    release = eks_apps.ref("helm_release", "hypernym", "name")
    load_balancer = eks_apps.data("aws_lb")
    ((_, lb),) = load_balancer.items()
    assert lb["tags"] == {
        "elbv2.k8s.aws/cluster": "hypernym-eks",
        "ingress.k8s.aws/stack": f"hypernym/{release}",
        "ingress.k8s.aws/resource": "LoadBalancer",
    }
    ((_, group),) = eks_apps.data("aws_lb_target_group").items()
    assert group["tags"] == {
        "elbv2.k8s.aws/cluster": "hypernym-eks",
        "ingress.k8s.aws/stack": f"hypernym/{release}",
    }
    (release_id,) = [n for n in eks_apps.resources("helm_release") if n.startswith("hypernym")]
    for body in (lb, group):
        assert body["depends_on"] == [f"helm_release.{release_id}"]


def test_eks_alarms_use_the_alb_and_the_pod_count(eks_apps: Stack) -> None:
    found = alarms(eks_apps, "hypernym-eks")
    assert set(found) == ALARM_KEYS
    lb = next(iter(eks_apps.data("aws_lb")))
    group = next(iter(eks_apps.data("aws_lb_target_group")))
    assert found["unhealthy-hosts"]["dimensions"] == {
        "TargetGroup": f"${{data.aws_lb_target_group.{group}.arn_suffix}}",
        "LoadBalancer": f"${{data.aws_lb.{lb}.arn_suffix}}",
    }
    below = found["running-below-minimum"]
    assert (below["namespace"], below["metric_name"]) == (
        "ContainerInsights",
        "namespace_number_of_running_pods",
    )
    assert below["dimensions"] == {"Namespace": "hypernym", "ClusterName": "hypernym-eks"}
    values = json.loads(eks_apps.one("helm_release", "hypernym")["values"][0])
    assert below["threshold"] == values["autoscaling"]["minReplicas"]
    assert found["scaling-at-maximum"]["threshold"] == values["autoscaling"]["maxReplicas"]
    assert values["env"]["DEPLOYMENT_NAME"] == "hypernym-eks"
    assert found["provider-latency-p99"]["dimensions"] == {DEPLOYMENT_DIMENSION: "hypernym-eks"}
    assert found["jobs-waiting"]["dimensions"] == {"QueueName": "hypernym-eks-jobs"}


def test_eks_dashboard_shows_node_and_pod_utilization(eks_apps: Stack) -> None:
    _, names = dashboard_metrics(eks_apps)
    assert {
        "node_cpu_utilization",
        "node_memory_utilization",
        "pod_cpu_utilization",
        "pod_memory_utilization",
        "namespace_number_of_running_pods",
        "TargetResponseTime",
        "HealthyHostCount",
    } <= names


# --- configuration -----------------------------------------------------------------------------


IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hypernym-api:1.0"
MINIMAL = {
    "name": "ops",
    "region": "eu-west-1",
    "service": {"image": IMAGE},
    "inference": {"managed_api_url": "http://gateway.internal:4000/v1"},
    "marketplace": {"metering": "off"},
    "api": {"keys_secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keys-AbCdEf"},
}


def problems(**changes: Any) -> list[str]:
    """The problems of a minimal configuration with these `[monitoring]` values."""
    config = parse_config(MINIMAL, source="test")
    changed = dataclasses.replace(
        config, monitoring=dataclasses.replace(config.monitoring, **changes)
    )
    return validate(changed)


def test_the_defaults_are_valid() -> None:
    assert problems() == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"period_seconds": 45}, "`monitoring.period_seconds` = 45: use a multiple of 60"),
        ({"evaluation_periods": 2000}, "`monitoring.evaluation_periods` = 2000: use 1 to 1440"),
        ({"evaluation_periods": 0}, "`monitoring.evaluation_periods` = 0: use 1 to 1440"),
        (
            {"period_seconds": 300, "scaling_at_max_minutes": 12},
            "`monitoring.scaling_at_max_minutes` = 12: use whole periods of 300 s",
        ),
        (
            {"jobs_waiting_minutes": 2000},
            "`monitoring.jobs_waiting_minutes` = 2000: use whole periods of 60 s, at most a day",
        ),
        ({"target_5xx_percent": 0}, "`monitoring.target_5xx_percent` = 0: use a percentage"),
        ({"provider_errors": 0}, "`monitoring.provider_errors` = 0: use at least 1"),
        (
            {"email_subscriptions": ("ops",)},
            "`monitoring.email_subscriptions`: 'ops' is not an email address",
        ),
        (
            {"https_subscriptions": ("http://hooks.example.com",)},
            "is not an https:// URL",
        ),
        (
            {"sqs_subscriptions": ("arn:aws:sqs:us-east-1:123456789012:q",)},
            "`monitoring.sqs_subscriptions` is in us-east-1, the deployment in eu-west-1",
        ),
    ],
)
def test_errors_when_a_monitoring_value_is_out_of_range(
    changes: dict[str, Any], expected: str
) -> None:
    (problem,) = problems(**changes)
    assert expected in problem


def test_an_unknown_monitoring_key_is_named() -> None:
    data = {**MINIMAL, "monitoring": {"emails": ["ops@example.com"]}}
    with pytest.raises(ConfigError, match=r"unknown key `monitoring\.emails`"):
        parse_config(data, source="test")


# --- EKS: the service's metrics from the nested log lines -----------------------------------------


@pytest.fixture(scope="module")
def eks_cluster(synth_example: Callable[[str], Path]) -> Stack:
    return Stack.load(synth_example("eks-managed"), "hypernym-eks-eks-cluster")


def test_eks_container_logs_go_to_a_log_group_made_before_the_add_on(eks_cluster: Stack) -> None:
    config = example("eks-managed")
    group = eks_cluster.one("aws_cloudwatch_log_group", "container-insights-application")
    assert group["name"] == "/aws/containerinsights/hypernym-eks/application"
    assert group["retention_in_days"] == config.service.log_retention_days
    (observability,) = [
        body
        for body in eks_cluster.resources("aws_eks_addon").values()
        if body["addon_name"] == "amazon-cloudwatch-observability"
    ]
    group_id = eks_cluster.ref("aws_cloudwatch_log_group", "container-insights-application")[2:-4]
    assert group_id in observability["depends_on"]


def test_eks_metric_filters_publish_what_the_service_alarms_read(
    eks_cluster: Stack, eks_apps: Stack
) -> None:
    # Fluent Bit nests the line under log_processed: EMF needs `_aws` at the root.
    group = eks_cluster.ref("aws_cloudwatch_log_group", "container-insights-application", "name")
    published = set()
    for body in eks_cluster.resources("aws_cloudwatch_log_metric_filter").values():
        assert body["log_group_name"] == group
        transformation = body["metric_transformation"]
        metric = transformation["name"]
        assert body["pattern"] == f"{{ $.log_processed.{metric} >= 0 }}"
        assert transformation["namespace"] == METRICS_NAMESPACE
        assert transformation["dimensions"][DEPLOYMENT_DIMENSION] == "$.log_processed.Deployment"
        published.add((metric, frozenset(transformation["dimensions"])))
    assert published == {
        (PROVIDER_LATENCY_METRIC, frozenset({DEPLOYMENT_DIMENSION})),
        (PROVIDER_ERRORS_METRIC, frozenset({DEPLOYMENT_DIMENSION, "ErrorClass"})),
        (METERING_FAILURES_METRIC, frozenset({DEPLOYMENT_DIMENSION})),
    }
    read = {
        (body["metric_name"], frozenset(body["dimensions"]))
        for body in alarms(eks_apps, "hypernym-eks").values()
        if body.get("namespace") == METRICS_NAMESPACE
    }
    assert read == published
