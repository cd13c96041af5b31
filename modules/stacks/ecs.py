"""The ECS deployment: one stack, `<name>-ecs`.

Network, security groups, the execution and task roles, the internal load balancer and the
Fargate service, built from the deployment's configuration.
"""

from __future__ import annotations

from cdktf import App, TerraformStack
from constructs import Construct

from modules.config import DeploymentConfig, naming
from modules.config.derived import (
    client_cidrs,
    managed_gateway_upstreams,
    service_image,
    service_image_repository,
)
from modules.constructs.alb import InternalLoadBalancer, LoadBalancerProps, listener_ports
from modules.constructs.ecs_service import BacklogScaling, FargateService, FargateServiceProps
from modules.constructs.monitoring import LoadBalancerTargets, MetricSpec
from modules.constructs.security_groups import (
    Peer,
    ServiceSecurityGroups,
    ServiceSecurityGroupsProps,
)
from modules.stacks.base import (
    DeploymentStack,
    build_async_jobs,
    build_monitoring,
    build_network,
    grant_async_jobs,
    workload_environment,
)
from service.contract import CONTAINER_PORT, HEALTHCHECK_COMMAND, READY_PATH

CONTAINER_NAME = "hypernym-api"


class EcsStack(DeploymentStack):
    """The whole ECS deployment: network, security groups, roles, load balancer, service."""

    def __init__(self, scope: Construct, config: DeploymentConfig) -> None:
        super().__init__(scope, config, "ecs")
        self.network = build_network(self)
        self.async_jobs = build_async_jobs(self)
        network, lb, svc = self.network, config.load_balancer, config.service
        self.security_groups = ServiceSecurityGroups(
            self,
            "security-groups",
            props=ServiceSecurityGroupsProps(
                name=config.name,
                vpc_id=network.vpc_id,
                vpc_cidr=network.vpc_cidr,
                listener_ports=listener_ports(lb.protocol),
                container_port=CONTAINER_PORT,
                client_cidrs=client_cidrs(config, network.vpc_cidr),
                endpoint_security_group_id=(
                    network.endpoint_security_group.id if network.endpoint_security_group else None
                ),
                s3_prefix_list_id=network.s3_prefix_list_id,
                dynamodb_prefix_list_id=network.dynamodb_prefix_list_id,
                upstreams=managed_gateway_upstreams(config, network.vpc_cidr),
                internet_https=network.internet_egress,
            ),
        )
        network.admit_to_endpoints(
            "https-from-tasks",
            peer=Peer(security_group_id=self.security_groups.workload.id),
            description="AWS APIs from the service's tasks",
        )
        ecs_tasks = f"arn:{self.partition}:ecs:{config.region}:{self.account_id}:*"
        self.execution_role = self.role(
            "execution-role",
            "ecs-execution",
            "ecs-tasks.amazonaws.com",
            ecs_tasks,
            "ECS agent: pulls the image, writes logs",
        )
        self.task_role = self.role(
            "task-role",
            "ecs-task",
            "ecs-tasks.amazonaws.com",
            ecs_tasks,
            "The Hypernym service's own AWS calls",
        )
        self._grant(config)
        network.limit_endpoints_to(
            [self.execution_role.arn, self.task_role.arn, *config.network.endpoint_principal_arns]
        )
        self.load_balancer = InternalLoadBalancer(
            self,
            "load-balancer",
            props=LoadBalancerProps(
                name=naming.load_balancer_name(config.name),
                target_group_name=naming.target_group_name(config.name),
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                security_group_id=self.security_groups.load_balancer.id,
                target_port=CONTAINER_PORT,
                # Readiness, not liveness: a task that cannot serve leaves the rotation (and a
                # rollout of such tasks trips the circuit breaker); the container check stays
                # liveness, so ECS replaces only a hung process.
                health_check_path=READY_PATH,
                protocol=lb.protocol,
                certificate_arn=lb.certificate_arn,
                ssl_policy=lb.ssl_policy,
                idle_timeout_seconds=lb.idle_timeout_seconds,
                deregistration_delay_seconds=lb.deregistration_delay_seconds,
                deletion_protection=lb.deletion_protection,
                access_logs_bucket=lb.access_logs_bucket,
            ),
        )
        self.service = FargateService(
            self,
            "service",
            props=FargateServiceProps(
                name=config.name,
                region=config.region,
                image=service_image(config, self.account_id),
                container_name=CONTAINER_NAME,
                container_port=CONTAINER_PORT,
                environment=workload_environment(config, self.async_jobs),
                health_check_command=HEALTHCHECK_COMMAND,
                execution_role=self.execution_role,
                task_role=self.task_role,
                subnet_ids=network.private_subnet_ids,
                security_group_id=self.security_groups.workload.id,
                target_group_arn=self.load_balancer.target_group.arn,
                listener=self.load_balancer.listener,
                log_group_name=naming.log_group_name(config.name),
                cpu=svc.cpu,
                memory_mib=svc.memory_mib,
                cpu_architecture=svc.cpu_architecture,
                desired_count=svc.desired_count,
                min_count=svc.min_count,
                max_count=svc.max_count,
                cpu_target_percent=svc.cpu_target_percent,
                memory_target_percent=svc.memory_target_percent,
                scale_out_cooldown_seconds=svc.scale_out_cooldown_seconds,
                scale_in_cooldown_seconds=svc.scale_in_cooldown_seconds,
                log_retention_days=svc.log_retention_days,
                log_kms_key_arn=svc.log_kms_key_arn,
                stop_timeout_seconds=svc.stop_timeout_seconds,
                health_check_grace_period_seconds=svc.health_check_grace_period_seconds,
                backlog_scaling=None
                if self.async_jobs is None
                else BacklogScaling(
                    queue_name=self.async_jobs.queue.name,
                    messages_per_task=config.async_jobs.backlog_per_task,
                ),
            ),
        )
        at_service = {
            "ClusterName": self.service.cluster.name,
            "ServiceName": self.service.service.name,
        }
        self.monitoring = build_monitoring(
            self,
            config,
            account_id=self.account_id,
            partition=self.partition,
            load_balancer=LoadBalancerTargets(
                load_balancer_arn_suffix=self.load_balancer.load_balancer.arn_suffix,
                target_group_arn_suffix=self.load_balancer.target_group.arn_suffix,
            ),
            running=MetricSpec(
                namespace="ECS/ContainerInsights",
                name="RunningTaskCount",
                dimensions=at_service,
            ),
            utilization=[
                MetricSpec(
                    namespace="AWS/ECS",
                    name=metric,
                    dimensions=at_service,
                )
                for metric in ("CPUUtilization", "MemoryUtilization")
            ],
        )
        self._outputs()

    def _grant(self, config: DeploymentConfig) -> None:
        inference = config.inference
        repository = service_image_repository(config, self.account_id)
        if repository is not None:
            account, region, name = repository
            self.execution_role.grant_ecr_pull(
                f"arn:{self.partition}:ecr:{region}:{account}:repository/{name}"
            )
        # The service reads its secret itself (task role), so rotation needs no redeploy.
        for purpose, secret_arn in inference.service_secret_arns.items():
            self.task_role.grant_secret_read(
                f"{purpose}-read", secret_arn, inference.secret_kms_key_arn
            )
        api = config.api
        if api.keys_secret_arn is not None:
            self.task_role.grant_api_keys_read(api.keys_secret_arn, api.keys_kms_key_arn)
        if config.marketplace.metering != "off":
            self.task_role.grant_metering()
        if self.async_jobs is not None:
            grant_async_jobs(self.task_role, self.async_jobs)

    def _outputs(self) -> None:
        lb, service, network = self.load_balancer, self.service, self.network
        self.output("alb_dns_name", lb.load_balancer.dns_name, "Internal load balancer DNS name")
        self.output("alb_url", lb.url, "Base URL of the API inside the network")
        self.output("cluster_name", service.cluster.name, "ECS cluster")
        self.output("service_name", service.service.name, "ECS service")
        self.output("log_group_name", service.log_group.name, "Container logs")
        self.output("task_role_arn", self.task_role.arn, "Role the service runs with")
        self.output("execution_role_arn", self.execution_role.arn, "Role the ECS agent uses")
        self.output("vpc_id", network.vpc_id, "VPC")
        self.output("private_subnet_ids", network.private_subnet_ids, "Private subnets")
        if self.async_jobs is not None:
            self.output("jobs_table_name", self.async_jobs.table.name, "Asynchronous jobs table")
            self.output("jobs_queue_url", self.async_jobs.queue.url, "Asynchronous jobs queue")
        monitoring = self.monitoring
        self.output("alarm_topic_arn", monitoring.topic.arn, "SNS topic the alarms notify")
        self.output("dashboard_name", monitoring.dashboard.dashboard_name, "CloudWatch dashboard")


def ecs_stacks(app: App, config: DeploymentConfig) -> list[TerraformStack]:
    return [EcsStack(app, config)]
