"""The service on ECS Fargate: cluster, log group, task definition, service, autoscaling.

Tasks run as user 1000 on a read-only root filesystem (a task-local volume on /tmp), with every
Linux capability dropped and an init process, in private subnets without public IPs. The
container health check runs in exec form (no shell, no curl). The service spreads tasks over
the zones, rolls back a failing deployment, and leaves its task count to autoscaling once it
exists.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws import appautoscaling_policy as scaling
from cdktf_cdktf_provider_aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification,
)
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster, EcsClusterSetting
from cdktf_cdktf_provider_aws.ecs_service import (
    EcsService,
    EcsServiceDeploymentCircuitBreaker,
    EcsServiceLoadBalancer,
    EcsServiceNetworkConfiguration,
)
from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionRuntimePlatform,
    EcsTaskDefinitionVolume,
)
from cdktf_cdktf_provider_aws.lb_listener import LbListener
from constructs import Construct

from modules.config.model import CpuArchitecture
from modules.constructs.iam import Role
from modules.constructs.tags import name_tag

CONTAINER_USER = "1000"
SCRATCH_VOLUME = "tmp"
SCRATCH_PATH = "/tmp"  # noqa: S108 - a task-local volume, the only writable path


@dataclass(frozen=True, kw_only=True)
class BacklogScaling:
    """Scale on a queue's backlog per running task (beside CPU and memory)."""

    queue_name: str
    messages_per_task: int
    """Target: visible messages divided by running tasks."""


@dataclass(frozen=True, kw_only=True)
class FargateServiceProps:
    name: str
    """Cluster, service and task family name; prefix of the other names."""
    region: str
    image: str
    container_name: str
    container_port: int
    environment: Mapping[str, str]
    """Plain environment variables (service/contract.py builds them)."""
    health_check_command: tuple[str, ...]
    """Exec-form command run inside the container."""
    execution_role: Role
    """Pulls the image, writes logs; gets log-write here."""
    task_role: Role
    """What the application itself may call."""
    subnet_ids: list[str]
    security_group_id: str
    target_group_arn: str
    listener: LbListener
    """The service is created after it, so the target group is attached to a load balancer."""
    log_group_name: str
    cpu: int
    memory_mib: int
    cpu_architecture: CpuArchitecture
    desired_count: int
    """Only at creation; afterwards autoscaling owns the count (Terraform ignores it)."""
    min_count: int
    max_count: int
    cpu_target_percent: int
    memory_target_percent: int
    scale_out_cooldown_seconds: int
    scale_in_cooldown_seconds: int
    log_retention_days: int
    log_kms_key_arn: str | None
    """None: CloudWatch Logs' own encryption."""
    stop_timeout_seconds: int
    health_check_grace_period_seconds: int
    container_insights: bool = True
    backlog_scaling: BacklogScaling | None = None
    """Also scale on a job queue's backlog per task (needs Container Insights' RunningTaskCount).
    Default: CPU and memory only."""


class FargateService(Construct):
    """Exposes `cluster`, `log_group`, `task_definition`, `service`, `scaling_target`."""

    def __init__(self, scope: Construct, id: str, *, props: FargateServiceProps) -> None:
        super().__init__(scope, id)
        self.log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=props.log_group_name,
            retention_in_days=props.log_retention_days,
            kms_key_id=props.log_kms_key_arn,
            tags=name_tag(props.log_group_name),
        )
        props.execution_role.grant_log_write(self.log_group.arn)
        self.cluster = EcsCluster(
            self,
            "cluster",
            name=props.name,
            tags=name_tag(props.name),
            setting=[
                EcsClusterSetting(
                    name="containerInsights",
                    value="enabled" if props.container_insights else "disabled",
                )
            ],
        )
        self.task_definition = EcsTaskDefinition(
            self,
            "task",
            family=props.name,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(props.cpu),
            memory=str(props.memory_mib),
            runtime_platform=EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture=props.cpu_architecture
            ),
            execution_role_arn=props.execution_role.arn,
            task_role_arn=props.task_role.arn,
            volume=[EcsTaskDefinitionVolume(name=SCRATCH_VOLUME)],
            container_definitions=json.dumps([self._container(props, self.log_group.name)]),
            tags=name_tag(props.name),
        )
        self.service = EcsService(
            self,
            "service",
            name=props.name,
            cluster=self.cluster.arn,
            task_definition=self.task_definition.arn,
            launch_type="FARGATE",
            desired_count=props.desired_count,
            network_configuration=EcsServiceNetworkConfiguration(
                subnets=props.subnet_ids,
                security_groups=[props.security_group_id],
                assign_public_ip=False,
            ),
            load_balancer=[
                EcsServiceLoadBalancer(
                    target_group_arn=props.target_group_arn,
                    container_name=props.container_name,
                    container_port=props.container_port,
                )
            ],
            health_check_grace_period_seconds=props.health_check_grace_period_seconds,
            deployment_circuit_breaker=EcsServiceDeploymentCircuitBreaker(
                enable=True, rollback=True
            ),
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            availability_zone_rebalancing="ENABLED",
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            lifecycle=TerraformResourceLifecycle(ignore_changes=["desired_count"]),
            depends_on=[props.listener],
            tags=name_tag(props.name),
        )
        self._autoscale(props)

    @staticmethod
    def _container(props: FargateServiceProps, log_group_name: str) -> dict:
        container: dict = {
            "name": props.container_name,
            "image": props.image,
            "essential": True,
            "user": CONTAINER_USER,
            "readonlyRootFilesystem": True,
            "portMappings": [{"containerPort": props.container_port, "protocol": "tcp"}],
            "environment": [{"name": k, "value": v} for k, v in sorted(props.environment.items())],
            "mountPoints": [
                {"sourceVolume": SCRATCH_VOLUME, "containerPath": SCRATCH_PATH, "readOnly": False}
            ],
            "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
            "healthCheck": {
                "command": ["CMD", *props.health_check_command],
                "interval": 30,
                "timeout": 5,
                "retries": 3,
                "startPeriod": 60,
            },
            "stopTimeout": props.stop_timeout_seconds,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": log_group_name,
                    "awslogs-region": props.region,
                    "awslogs-stream-prefix": "ecs",
                },
            },
        }
        return container

    def _autoscale(self, props: FargateServiceProps) -> None:
        self.scaling_target = AppautoscalingTarget(
            self,
            "scaling-target",
            service_namespace="ecs",
            resource_id=f"service/{self.cluster.name}/{self.service.name}",
            scalable_dimension="ecs:service:DesiredCount",
            min_capacity=props.min_count,
            max_capacity=props.max_count,
            tags=name_tag(f"{props.name}-scaling"),
        )
        for metric, percent in (
            ("CPU", props.cpu_target_percent),
            ("Memory", props.memory_target_percent),
        ):
            AppautoscalingPolicy(
                self,
                f"scale-on-{metric.lower()}",
                name=f"{props.name}-{metric.lower()}",
                policy_type="TargetTrackingScaling",
                service_namespace=self.scaling_target.service_namespace,
                resource_id=self.scaling_target.resource_id,
                scalable_dimension=self.scaling_target.scalable_dimension,
                target_tracking_scaling_policy_configuration=(
                    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                        predefined_metric_specification=(
                            AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                                predefined_metric_type=f"ECSServiceAverage{metric}Utilization"
                            )
                        ),
                        target_value=percent,
                        scale_out_cooldown=props.scale_out_cooldown_seconds,
                        scale_in_cooldown=props.scale_in_cooldown_seconds,
                    )
                ),
            )
        if props.backlog_scaling is not None:
            self._scale_on_backlog(props, props.backlog_scaling)

    def _scale_on_backlog(self, props: FargateServiceProps, backlog: BacklogScaling) -> None:
        """Target tracking on metric math, as Application Auto Scaling documents for an SQS
        backlog per ECS task: visible messages (Sum) over RunningTaskCount (Average)."""
        spec = scaling.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecification  # noqa: E501 (generated type names)
        term = scaling.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetrics  # noqa: E501 (generated type names)
        stat = scaling.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStat  # noqa: E501 (generated type names)
        metric = scaling.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStatMetric  # noqa: E501 (generated type names)
        dimension = scaling.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStatMetricDimensions  # noqa: E501 (generated type names)
        AppautoscalingPolicy(
            self,
            "scale-on-backlog",
            name=f"{props.name}-job-backlog",
            policy_type="TargetTrackingScaling",
            service_namespace=self.scaling_target.service_namespace,
            resource_id=self.scaling_target.resource_id,
            scalable_dimension=self.scaling_target.scalable_dimension,
            target_tracking_scaling_policy_configuration=(
                AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                    customized_metric_specification=spec(
                        metrics=[
                            term(
                                id="messages",
                                label="Jobs waiting",
                                return_data=False,
                                metric_stat=stat(
                                    stat="Sum",
                                    metric=metric(
                                        namespace="AWS/SQS",
                                        metric_name="ApproximateNumberOfMessagesVisible",
                                        dimensions=[
                                            dimension(name="QueueName", value=backlog.queue_name)
                                        ],
                                    ),
                                ),
                            ),
                            term(
                                id="tasks",
                                label="Running tasks",
                                return_data=False,
                                metric_stat=stat(
                                    stat="Average",
                                    metric=metric(
                                        namespace="ECS/ContainerInsights",
                                        metric_name="RunningTaskCount",
                                        dimensions=[
                                            dimension(name="ClusterName", value=self.cluster.name),
                                            dimension(name="ServiceName", value=self.service.name),
                                        ],
                                    ),
                                ),
                            ),
                            term(
                                id="backlog_per_task",
                                label="Jobs waiting per task",
                                expression="messages / tasks",
                                return_data=True,
                            ),
                        ]
                    ),
                    target_value=backlog.messages_per_task,
                    scale_out_cooldown=props.scale_out_cooldown_seconds,
                    scale_in_cooldown=props.scale_in_cooldown_seconds,
                )
            ),
        )
