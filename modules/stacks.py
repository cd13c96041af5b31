"""The stacks a deployment synthesizes, per platform.

Every stack derives from :class:`DeploymentStack` (AWS provider with the deployment's default
tags, its state backend, the Name-tag check). `PLATFORM_STACKS` maps `platform` to the function
that adds the platform's stacks to an app: ECS is one stack, `<name>-ecs`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cdktf import App, Aspects, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from modules import naming
from modules.alb import InternalLoadBalancer, LoadBalancerProps, listener_ports
from modules.backend import configure_backend
from modules.config import DeploymentConfig, ecr_repository, managed_api_port
from modules.ecs_service import FargateService, FargateServiceProps
from modules.iam import Role, RoleProps, service_trust_policy
from modules.network import (
    CONTAINER_ENDPOINTS,
    METERING_ENDPOINT,
    SECRETS_MANAGER_ENDPOINT,
    Network,
    NetworkProps,
)
from modules.security_groups import ServiceSecurityGroups, ServiceSecurityGroupsProps
from modules.tags import RequireNameTag, default_tags
from service.contract import (
    CONTAINER_PORT,
    HEALTH_PATH,
    HEALTHCHECK_COMMAND,
    ContainerEnvironment,
    container_environment,
)

CONTAINER_NAME = "hypernym-api"


class DeploymentStack(TerraformStack):
    """A stack of one deployment: `<deployment>-<unit>`, tagged, with its own state."""

    def __init__(self, scope: Construct, config: DeploymentConfig, unit: str) -> None:
        self.stack_name = naming.stack_name(config.name, unit)
        super().__init__(scope, self.stack_name)
        self.config = config
        AwsProvider(
            self,
            "aws",
            region=config.region,
            default_tags=[AwsProviderDefaultTags(tags=default_tags(config))],
        )
        configure_backend(self, config, self.stack_name)
        Aspects.of(self).add(RequireNameTag())
        self.account_id = DataAwsCallerIdentity(self, "caller").account_id
        self.partition = DataAwsPartition(self, "partition").partition

    def role(self, id: str, purpose: str, service: str, source_arn: str, description: str) -> Role:
        """A role for an AWS service, trusted only for this account's `source_arn` resources."""
        config = self.config
        return Role(
            self,
            id,
            props=RoleProps(
                name=naming.role_name(config.name, config.region, purpose),
                description=description,
                region=config.region,
                trust_policy=service_trust_policy(
                    service, account_id=self.account_id, source_arn=source_arn
                ),
            ),
        )

    def output(self, id: str, value: object, description: str) -> None:
        TerraformOutput(self, id, value=value, description=description)


def interface_endpoints(config: DeploymentConfig) -> dict[str, str]:
    """The interface endpoints the workload needs, with the reason for each."""
    endpoints = dict(CONTAINER_ENDPOINTS)
    if config.secrets_manager_used:
        endpoints.update(SECRETS_MANAGER_ENDPOINT)
    if config.marketplace.metering != "off":
        endpoints.update(METERING_ENDPOINT)
    return endpoints


def build_network(
    stack: DeploymentStack,
    extra_endpoints: Mapping[str, str] | None = None,
    private_subnet_tags: Mapping[str, str] | None = None,
) -> Network:
    """The deployment's network in `stack`, with the workload's endpoints plus `extra_endpoints`."""
    config, net = stack.config, stack.config.network
    flow_logs = None
    if net.flow_logs and not config.existing_vpc:
        flow_logs = stack.role(
            "flow-logs-role",
            "vpc-flow-logs",
            "vpc-flow-logs.amazonaws.com",
            f"arn:{stack.partition}:ec2:{config.region}:{stack.account_id}:vpc-flow-log/*",
            "VPC Flow Logs delivery to CloudWatch Logs",
        )
    return Network(
        stack,
        "network",
        props=NetworkProps(
            name=config.name,
            region=config.region,
            vpc_cidr=net.vpc_cidr,
            private_subnet_cidrs=net.private_subnet_cidrs,
            availability_zones=net.availability_zones,
            interface_endpoints={**interface_endpoints(config), **(extra_endpoints or {})},
            create_vpc_endpoints=net.create_vpc_endpoints,
            nat_gateways=net.nat_gateways,
            public_subnet_cidrs=net.public_subnet_cidrs,
            existing_vpc_id=net.existing_vpc_id,
            existing_private_subnet_ids=net.existing_private_subnet_ids,
            existing_private_route_table_ids=net.existing_private_route_table_ids,
            flow_logs=flow_logs,
            flow_log_retention_days=config.service.log_retention_days,
            private_subnet_tags=private_subnet_tags or {},
        ),
    )


def workload_environment(config: DeploymentConfig) -> dict[str, str]:
    """The container's environment, from the one contract shared with the Helm values."""
    inference, marketplace = config.inference, config.marketplace
    return container_environment(
        ContainerEnvironment(
            environment=config.environment,
            region=config.region,
            provider_mode=inference.mode,
            managed_api_url=inference.managed_api_url,
            managed_model=inference.managed_model,
            managed_api_key_secret_arn=inference.managed_api_key_secret_arn,
            byop_secret_arn=inference.byop_secret_arn,
            marketplace_product_code=marketplace.product_code,
            metering=marketplace.metering,
            log_level=config.service.log_level,
            workers=config.service.workers,
            # Outlive the load balancer's idle timeout, or it reuses a closed connection (a 502).
            keep_alive_seconds=config.load_balancer.idle_timeout_seconds + 10,
        )
    )


def upstreams(config: DeploymentConfig, vpc_cidr: str) -> tuple[tuple[str, int], ...]:
    """(CIDR, port) of the managed LLM gateway; none in BYOP mode."""
    inference = config.inference
    if inference.mode != "managed" or inference.managed_api_url is None:
        return ()
    port = managed_api_port(inference.managed_api_url)
    return tuple((cidr, port) for cidr in inference.managed_api_cidrs or (vpc_cidr,))


class EcsStack(DeploymentStack):
    """The whole ECS deployment: network, security groups, roles, load balancer, service."""

    def __init__(self, scope: Construct, config: DeploymentConfig) -> None:
        super().__init__(scope, config, "ecs")
        self.network = build_network(self)
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
                client_cidrs=config.network.client_cidrs,
                endpoint_security_group_id=(
                    network.endpoint_security_group.id if network.endpoint_security_group else None
                ),
                s3_prefix_list_id=network.s3_prefix_list_id,
                upstreams=upstreams(config, network.vpc_cidr),
                internet_https=network.internet_egress,
            ),
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
                health_check_path=HEALTH_PATH,
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
                image=svc.image,
                container_name=CONTAINER_NAME,
                container_port=CONTAINER_PORT,
                environment=workload_environment(config),
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
            ),
        )
        self._outputs()

    def _grant(self, config: DeploymentConfig) -> None:
        inference = config.inference
        repository = ecr_repository(config.service.image)
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
        if config.marketplace.metering != "off":
            self.task_role.grant_metering()

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


def ecs_stacks(app: App, config: DeploymentConfig) -> list[TerraformStack]:
    return [EcsStack(app, config)]


def eks_stacks(app: App, config: DeploymentConfig) -> list[TerraformStack]:
    # Imported here: modules.eks_stacks builds on DeploymentStack and build_network above.
    from modules.eks_stacks import eks_stacks as cluster_then_apps

    return cluster_then_apps(app, config)


PLATFORM_STACKS: dict[str, Callable[[App, DeploymentConfig], list[TerraformStack]]] = {
    "ecs": ecs_stacks,
    "eks": eks_stacks,
}
"""platform → the function adding its stacks to an app."""
