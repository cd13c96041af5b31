"""What every stack of a deployment shares: the base stack, the network, the workload's env.

Every stack derives from :class:`DeploymentStack` (AWS provider with the deployment's default
tags, its state backend, the Name-tag check) except the EKS apps stack, which has no AWS
provider and uses :func:`s3_state` alone. Stacks translate the configuration into construct
props; the constructs never see the configuration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cdktf import Aspects, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from modules.config import DeploymentConfig, naming
from modules.config.derived import keep_alive_seconds, resource_tags, state_key
from modules.constructs.async_jobs import AsyncJobs, AsyncJobsProps
from modules.constructs.backend import S3StateProps, configure_backend
from modules.constructs.iam import Role, RoleProps, service_trust_policy
from modules.constructs.monitoring import (
    LoadBalancerTargets,
    MetricSpec,
    Monitoring,
    MonitoringProps,
    RunningCount,
)
from modules.constructs.network import (
    CONTAINER_ENDPOINTS,
    METERING_ENDPOINT,
    METERING_SERVICE,
    SECRETS_MANAGER_ENDPOINT,
    SQS_ENDPOINT,
    Network,
    NetworkProps,
)
from modules.constructs.tags import RequireNameTag
from service.contract import AsyncJobsEnvironment, ContainerEnvironment, container_environment


def s3_state(config: DeploymentConfig, stack_name: str) -> S3StateProps | None:
    """The stack's S3 state with a `[state]` section; None: local state."""
    if config.state is None:
        return None
    return S3StateProps(
        bucket=config.state.bucket,
        key=state_key(config, stack_name),
        region=config.state.region or config.region,
        kms_key_id=config.state.kms_key_id,
    )


def deployment_aws_provider(stack: TerraformStack, config: DeploymentConfig) -> AwsProvider:
    """The stack's AWS provider: the deployment's region, its tags on every resource."""
    return AwsProvider(
        stack,
        "aws",
        region=config.region,
        default_tags=[AwsProviderDefaultTags(tags=resource_tags(config))],
    )


class DeploymentStack(TerraformStack):
    """A stack of one deployment: `<deployment>-<unit>`, tagged, with its own state."""

    def __init__(self, scope: Construct, config: DeploymentConfig, unit: str) -> None:
        self.stack_name = naming.stack_name(config.name, unit)
        super().__init__(scope, self.stack_name)
        self.config = config
        deployment_aws_provider(self, config)
        configure_backend(self, self.stack_name, s3_state(config, self.stack_name))
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
    if config.marketplace.metering != "off" and config.marketplace.metering_endpoint:
        endpoints.update(METERING_ENDPOINT)
    if config.async_jobs.enabled:
        endpoints.update(SQS_ENDPOINT)
    return endpoints


def looked_up_endpoints(config: DeploymentConfig) -> dict[str, str]:
    """The workload's endpoints that not every region offers, to what the deployment can do
    instead (the plan's error message)."""
    if METERING_SERVICE not in interface_endpoints(config):
        return {}
    return {
        METERING_SERVICE: (
            'set `marketplace.metering = "off"`, or `marketplace.metering_endpoint = false` '
            "with `network.nat_gateways`, or choose `network.availability_zones` where it is "
            "(README: Metering endpoint by region)"
        )
    }


def deployment_buckets(config: DeploymentConfig, account_id: str) -> tuple[str, ...]:
    """The deployment's own buckets in its region (the S3 gateway serves only that region): the
    remote state's, and the asynchronous jobs' results."""
    state = config.state
    buckets = []
    if state is not None and (state.region or config.region) == config.region:
        buckets.append(state.bucket)
    if config.async_jobs.enabled:
        buckets.append(naming.jobs_bucket_name(config.name, account_id, config.region))
    return tuple(buckets)


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
            partition=stack.partition,
            deployment_buckets=deployment_buckets(config, stack.account_id),
            existing_vpc_internet_egress=net.existing_vpc_internet_egress,
            private_subnet_tags=private_subnet_tags or {},
            looked_up_endpoints=looked_up_endpoints(config),
            dynamodb_gateway=config.async_jobs.enabled,
        ),
    )


def build_async_jobs(stack: DeploymentStack) -> AsyncJobs | None:
    """The asynchronous jobs' table, queues, bucket and key; None with `[async] enabled =
    false`. The bucket keeps objects one day past the longest TTL that can point at them."""
    config, jobs = stack.config, stack.config.async_jobs
    if not jobs.enabled:
        return None
    longest_ttl_hours = max(jobs.job_ttl_hours, jobs.result_cache_ttl_hours)
    return AsyncJobs(
        stack,
        "async-jobs",
        props=AsyncJobsProps(
            name=naming.jobs_name(config.name),
            account_id=stack.account_id,
            partition=stack.partition,
            region=config.region,
            bucket_name=naming.jobs_bucket_name(config.name, stack.account_id, config.region),
            visibility_timeout_seconds=jobs.visibility_timeout_seconds,
            max_receive_count=jobs.max_receive_count,
            retention_days=-(-longest_ttl_hours // 24) + 1,
        ),
    )


def grant_async_jobs(role: Role, jobs: AsyncJobs) -> None:
    """The service's role may run jobs on exactly these resources."""
    role.grant_async_jobs(
        table_arn=jobs.table.arn,
        queue_arn=jobs.queue.arn,
        dead_letter_queue_arn=jobs.dead_letter_queue.arn,
        bucket_arn=jobs.bucket.arn,
        kms_key_arn=jobs.key.arn,
    )


def workload_environment(config: DeploymentConfig, jobs: AsyncJobs | None) -> dict[str, str]:
    """The container's environment, from the one contract shared with the Helm values."""
    inference, marketplace = config.inference, config.marketplace
    return container_environment(
        ContainerEnvironment(
            environment=config.environment,
            region=config.region,
            provider_mode=inference.mode,
            deployment_name=config.name,
            managed_api_url=inference.managed_api_url,
            managed_model=inference.managed_model,
            managed_api_key_secret_arn=inference.managed_api_key_secret_arn,
            byop_secret_arn=inference.byop_secret_arn,
            api_keys_secret_arn=config.api.keys_secret_arn,
            marketplace_product_code=marketplace.product_code,
            metering=marketplace.metering,
            log_level=config.service.log_level,
            workers=config.service.workers,
            keep_alive_seconds=keep_alive_seconds(config),
            jobs=None if jobs is None else _jobs_environment(config, jobs),
        )
    )


def _jobs_environment(config: DeploymentConfig, jobs: AsyncJobs) -> AsyncJobsEnvironment:
    settings = config.async_jobs
    return AsyncJobsEnvironment(
        table=jobs.table.name,
        queue_url=jobs.queue.url,
        dead_letter_queue_url=jobs.dead_letter_queue.url,
        bucket=jobs.bucket.bucket,
        worker_concurrency=settings.worker_concurrency,
        visibility_timeout_seconds=settings.visibility_timeout_seconds,
        job_ttl_seconds=settings.job_ttl_seconds,
        result_cache_ttl_seconds=settings.result_cache_ttl_seconds,
    )


def build_monitoring(
    scope: Construct,
    config: DeploymentConfig,
    *,
    account_id: str,
    partition: str,
    load_balancer: LoadBalancerTargets,
    running: MetricSpec,
    utilization: Sequence[MetricSpec],
) -> Monitoring:
    """The deployment's alarms and dashboard, with the thresholds of `[monitoring]`."""
    mon, service = config.monitoring, config.service
    return Monitoring(
        scope,
        "monitoring",
        props=MonitoringProps(
            name=config.name,
            deployment_name=config.name,
            account_id=account_id,
            partition=partition,
            region=config.region,
            load_balancer=load_balancer,
            running=RunningCount(
                metric=running, min_count=service.min_count, max_count=service.max_count
            ),
            utilization=utilization,
            metering=config.marketplace.metering != "off",
            email_subscriptions=mon.email_subscriptions,
            https_subscriptions=mon.https_subscriptions,
            sqs_subscriptions=mon.sqs_subscriptions,
            period_seconds=mon.period_seconds,
            evaluation_periods=mon.evaluation_periods,
            load_balancer_5xx_percent=mon.load_balancer_5xx_percent,
            target_5xx_percent=mon.target_5xx_percent,
            unhealthy_hosts=mon.unhealthy_hosts,
            target_response_p99_seconds=mon.target_response_p99_seconds,
            provider_latency_p99_seconds=mon.provider_latency_p99_seconds,
            provider_errors=mon.provider_errors,
            metering_failures=mon.metering_failures,
            scaling_at_max_minutes=mon.scaling_at_max_minutes,
            job_queue_name=naming.jobs_name(config.name) if config.async_jobs.enabled else None,
            jobs_waiting_minutes=mon.jobs_waiting_minutes,
        ),
    )
