"""The deployment file's shape: one frozen dataclass per TOML section.

Each key is declared once here, with its default and what it means; `load.py` builds these
from TOML and `validate.py` checks the values. Stacks translate them into construct props.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from service.contract import LOAD_BALANCER_IDLE_TIMEOUT_SECONDS, MeteringMode, ProviderMode

NatGateways = Literal["none", "single", "per_az"]
ApiAuth = Literal["keys", "open"]
ListenerProtocol = Literal["http", "https"]
CpuArchitecture = Literal["X86_64", "ARM64"]
NodeAutoscaler = Literal["cluster-autoscaler", "none"]


class ConfigError(Exception):
    """The configuration has problems; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """Where the deployment runs. Default: a new VPC with private subnets only, no internet."""

    vpc_cidr: str = "10.0.0.0/16"
    """The new VPC's range (ignored with `existing_vpc_id`, whose own range is used)."""
    private_subnet_cidrs: tuple[str, ...] = ("10.0.1.0/24", "10.0.2.0/24")
    """One private subnet per availability zone; at least two."""
    availability_zones: tuple[str, ...] = ()
    """The zone of each private subnet, in order. Default: the region's first available zones."""
    existing_vpc_id: str | None = None
    """Deploy into this VPC instead of creating one (with the three `existing_*` subnet fields)."""
    existing_private_subnet_ids: tuple[str, ...] = ()
    """Private subnets of the existing VPC, in at least two zones."""
    existing_private_route_table_ids: tuple[str, ...] = ()
    """Their route tables, for the S3 gateway endpoint."""
    create_vpc_endpoints: bool = True
    """Create the interface/gateway endpoints. Turn off only when the existing VPC has them."""
    nat_gateways: NatGateways = "none"
    """Internet egress for providers on the public internet: "single" (one NAT gateway, about
    $33/month plus $0.045/GB, no zone redundancy) or "per_az" (one per zone). Default: none."""
    public_subnet_cidrs: tuple[str, ...] = ()
    """Public subnets for the NAT gateways, one per zone; only with `nat_gateways`."""
    client_cidrs: tuple[str, ...] = ()
    """Networks allowed to reach the load balancer (peered VPCs, VPN). Default: the VPC's range."""
    flow_logs: bool = True
    """VPC Flow Logs (all traffic) of a new VPC to CloudWatch Logs, kept as long as the service's
    logs (`service.log_retention_days`)."""
    endpoint_principal_arns: tuple[str, ...] = ()
    """IAM roles, besides the deployment's own (and `eks.admin_role_arns`), allowed through the
    interface endpoints' policies: whoever runs Terraform, the AWS CLI or kubectl inside the
    VPC, whose calls the endpoints' private DNS draws in. Default: none."""
    existing_vpc_internet_egress: bool = False
    """With `existing_vpc_id`: the existing private route tables send 0.0.0.0/0 to that VPC's
    own NAT (checked at plan time), and tasks and pods may use it for HTTPS (a BYOP provider on
    the internet, an image outside this region's ECR). Default: no internet egress."""


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """The Hypernym container and how it scales."""

    image: str | None = None
    """Container image, pinned by tag or digest (ECR in the deployment's region unless NAT).
    Default, with a `[registry]` section: that repository's image tagged `image_tag`."""
    image_tag: str | None = None
    """The release to run from the `[registry]` repository (instead of `image`)."""
    cpu: int = 512
    """Fargate CPU units per task."""
    memory_mib: int = 1024
    """Fargate memory per task; must be a combination Fargate accepts for `cpu`."""
    cpu_architecture: CpuArchitecture = "X86_64"
    desired_count: int = 2
    """Tasks at creation; autoscaling owns the count afterwards."""
    min_count: int = 2
    max_count: int = 10
    cpu_target_percent: int = 70
    memory_target_percent: int = 80
    scale_out_cooldown_seconds: int = 30
    scale_in_cooldown_seconds: int = 300
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    workers: int = 1
    """Server worker processes per task."""
    log_retention_days: int = 30
    log_kms_key_arn: str | None = None
    """Encrypt the log group with this KMS key. Default: CloudWatch's own encryption."""
    stop_timeout_seconds: int = 120
    """Time between SIGTERM and SIGKILL, for in-flight requests to finish (Fargate max 120)."""
    health_check_grace_period_seconds: int = 60


@dataclass(frozen=True, kw_only=True)
class InferenceConfig:
    """Where the service sends its LLM calls."""

    mode: ProviderMode = "managed"
    managed_api_url: str | None = None
    """Managed mode: the OpenAI-compatible gateway's URL."""
    managed_model: str | None = None
    managed_api_key_secret_arn: str | None = None
    """Managed mode: Secrets Manager secret holding the gateway token (the raw token, or JSON
    with `api_key`); the service reads it itself (`MANAGED_API_KEY_SECRET_ARN`)."""
    managed_api_cidrs: tuple[str, ...] = ()
    """Where the gateway lives, for the task's egress rule. Default: the VPC's range."""
    byop_secret_arn: str | None = None
    """BYOP mode: Secrets Manager secret with provider_url, api_key, model_name."""
    secret_kms_key_arn: str | None = None
    """Customer-managed KMS key encrypting the secret, if any (adds kms:Decrypt)."""

    @property
    def service_secret_arns(self) -> dict[str, str]:
        """Purpose -> ARN of the secrets the service reads with its own role (ECS task role,
        EKS IRSA role): the gateway token or the BYOP credentials."""
        secrets = {
            "gateway-token": self.managed_api_key_secret_arn,
            "byop-secret": self.byop_secret_arn,
        }
        return {purpose: arn for purpose, arn in secrets.items() if arn is not None}


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    """Who may call the API. The choice is explicit: `keys_secret_arn`, or `auth = "open"`."""

    auth: ApiAuth = "keys"
    """"keys": callers send a key from `keys_secret_arn` (`X-API-Key` or `Authorization:
    Bearer`), which also gives their tier; "open": no key, every caller gets the service's
    open-access tier (only callers in `network.client_cidrs` reach the internal load balancer;
    synthesis warns)."""
    keys_secret_arn: str | None = None
    """Secrets Manager secret holding a JSON object of API key to tier ("basic", "standard",
    "northstar"); the service reads it with its own role and re-reads it periodically, so an
    added, rotated or revoked key takes effect without a redeploy. Required with auth "keys"."""
    keys_kms_key_arn: str | None = None
    """Customer-managed KMS key encrypting that secret, if any (adds kms:Decrypt)."""


@dataclass(frozen=True, kw_only=True)
class MarketplaceConfig:
    product_code: str | None = None
    metering: MeteringMode = "register"
    """"register" (RegisterUsage at start), "hourly" (MeterUsage), or "off"."""
    metering_endpoint: bool = True
    """Reach Marketplace metering through an interface VPC endpoint (`metering.marketplace`,
    looked up at plan time). false: through the NAT gateways, for a region that does not offer
    the endpoint service (`network.nat_gateways` needed)."""


@dataclass(frozen=True, kw_only=True)
class LoadBalancerConfig:
    """The internal Application Load Balancer in front of the service."""

    protocol: ListenerProtocol = "http"
    """"https" listens on 443 with `certificate_arn` and redirects 80 to it."""
    certificate_arn: str | None = None
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    """TLS 1.2+ policies only."""
    idle_timeout_seconds: int = LOAD_BALANCER_IDLE_TIMEOUT_SECONDS
    """LLM calls can exceed the AWS default of 60 s; the service's keep-alive follows it."""
    deregistration_delay_seconds: int = 120
    """How long a stopping task keeps serving in-flight requests before SIGTERM."""
    deletion_protection: bool = True
    access_logs_bucket: str | None = None
    """S3 bucket for access logs. Default: none."""


@dataclass(frozen=True, kw_only=True)
class StateConfig:
    """Remote state: one S3 object per stack, locked with an S3 lock file."""

    bucket: str
    region: str | None = None
    """Default: the deployment's region."""
    key_prefix: str | None = None
    """Default: the deployment name; the key is `<prefix>/<stack>.tfstate`."""
    kms_key_id: str | None = None


EKS_ADDON_NAMES = (
    "vpc-cni",
    "kube-proxy",
    "coredns",
    "metrics-server",
    "amazon-cloudwatch-observability",
)
"""The EKS add-ons every cluster gets (modules/constructs/eks_addons.py)."""


@dataclass(frozen=True, kw_only=True)
class EksConfig:
    """The EKS cluster (platform "eks" only)."""

    kubernetes_version: str = "1.35"
    """A version in EKS standard support (validate.EKS_STANDARD_SUPPORT_ENDS); past its end
    the tools warn, and AWS upgrades the control plane itself (README "Upgrading EKS")."""
    addon_versions: dict[str, str] = field(default_factory=dict)
    """Add-on name (EKS_ADDON_NAMES) -> pinned version (`v1.35.3-eksbuild.2`). Default: each
    add-on at EKS's default version for `kubernetes_version`, looked up at plan time."""
    endpoint_public_access: bool = False
    public_access_cidrs: tuple[str, ...] = ()
    """Required with `endpoint_public_access`; never 0.0.0.0/0."""
    admin_role_arns: tuple[str, ...] = ()
    """IAM roles given cluster-admin access entries."""
    node_instance_type: str = "t3.medium"
    node_min_count: int = 2
    node_desired_count: int = 2
    node_max_count: int = 10
    log_retention_days: int = 30
    namespace: str = "hypernym"
    service_account: str = "hypernym-api"
    node_autoscaler: NodeAutoscaler = "cluster-autoscaler"
    """What adds nodes when pods are Pending (the HPA asks for more than fit): the Kubernetes
    Cluster Autoscaler, resizing the node group within `node_min_count`..`node_max_count` (its
    image through an ECR pull-through cache of registry.k8s.io), or "none": the node group
    stays at `node_desired_count` unless resized by hand."""
    api_client_cidrs: tuple[str, ...] = ()
    """Networks allowed to reach the private Kubernetes API on 443: where the apps stack,
    kubectl and CI runners run (the VPC, a peered VPC, a VPN). Default: the VPC's range."""
    api_client_security_group_ids: tuple[str, ...] = ()
    """Security groups (e.g. a CI runner's, in this VPC) also allowed to the API on 443."""
    load_balancer_controller_chart_repository: str = "https://aws.github.io/eks-charts"
    """Where the apps stack fetches the AWS Load Balancer Controller chart: its public
    repository, or an OCI mirror (`oci://<account>.dkr.ecr.<region>.amazonaws.com/<path>`)."""


@dataclass(frozen=True, kw_only=True)
class RegistryConfig:
    """The image registry (stack `<name>-registry`): an ECR repository in the deployment's
    account and region, with immutable tags, scan on push and KMS encryption. With this
    section, the service runs `<repository>:<service.image_tag>` unless `service.image` is set."""

    repository: str | None = None
    """Repository name. Default: `<name>/hypernym-api`."""
    keep_releases: int = 20
    """Tagged images kept (the newest); older ones expire, so a rollback reaches this far."""
    untagged_expire_days: int = 1
    """Untagged images (left by interrupted or superseded pushes) expire after this many days."""
    replication_regions: tuple[str, ...] = ()
    """Copy every pushed image to ECR in these regions (deployments there pull locally).
    Replication is a setting of the account's registry in this region: it replaces any other."""
    kms_key_arn: str | None = None
    """Encrypt images with this KMS key. Default: a customer-managed key of the stack, rotated."""


TOML_KEY = "toml_key"
"""Field metadata: the TOML key of a field whose name cannot be it (`async` is a keyword)."""


@dataclass(frozen=True, kw_only=True)
class AsyncConfig:
    """Asynchronous analysis (`/analyze_begin`, `/analyze_status`) and the shared result cache:
    a DynamoDB table, an SQS queue with its dead-letter queue and an S3 bucket for large
    results, encrypted with one KMS key, reached through VPC endpoints. The TOML section is
    `[async]`."""

    enabled: bool = True
    """Off: none of it is created and the two endpoints answer 501."""
    worker_concurrency: int = 4
    """Jobs each task or pod runs at once."""
    visibility_timeout_seconds: int = 60
    """How soon a job whose task died is run by another (the worker extends it while alive)."""
    max_receive_count: int = 3
    """Attempts before a job goes to the dead-letter queue and reports failed."""
    job_ttl_hours: int = 24
    """How long a job and its result can be read."""
    result_cache: bool = True
    """Reuse results for the same text, parameters and model (sync and async)."""
    result_cache_ttl_hours: int = 24
    backlog_per_task: int = 8
    """ECS: scale out when waiting jobs per running task exceed this (beside CPU and memory)."""

    @property
    def job_ttl_seconds(self) -> int:
        return self.job_ttl_hours * 3600

    @property
    def result_cache_ttl_seconds(self) -> int:
        """0: no cache (the service's convention)."""
        return self.result_cache_ttl_hours * 3600 if self.result_cache else 0


@dataclass(frozen=True, kw_only=True)
class MonitoringConfig:
    """Alarms (to an encrypted SNS topic) and a CloudWatch dashboard of the deployment.

    An alarm fires when its metric is past the threshold for `evaluation_periods` consecutive
    periods of `period_seconds`; it notifies the topic when it fires and when it clears."""

    email_subscriptions: tuple[str, ...] = ()
    """Addresses mailed by the alarm topic (each confirms its subscription once)."""
    https_subscriptions: tuple[str, ...] = ()
    """HTTPS endpoints (chat webhooks, incident tools) the topic posts to."""
    sqs_subscriptions: tuple[str, ...] = ()
    """ARNs of SQS queues the topic delivers to (their policy must allow this topic)."""
    period_seconds: int = 60
    evaluation_periods: int = 5
    load_balancer_5xx_percent: int = 5
    """Load balancer 5xx (its own: no healthy target, timeouts) per request, in percent."""
    target_5xx_percent: int = 5
    """5xx answered by the service per request, in percent."""
    unhealthy_hosts: int = 1
    """Alarm when at least this many targets fail their health check."""
    target_response_p99_seconds: int = 45
    """p99 of the service's response time (an analysis waits on the LLM; tier deadline 60 s)."""
    provider_latency_p99_seconds: int = 30
    """p99 of one provider call (retries included)."""
    provider_errors: int = 5
    """Failed provider calls of one error class per period."""
    metering_failures: int = 1
    """Failed AWS Marketplace calls per period (a failure can mean unbilled usage)."""
    scaling_at_max_minutes: int = 15
    """Alarm when the service has run at its maximum task/pod count this long."""
    jobs_waiting_minutes: int = 10
    """Alarm when asynchronous jobs have waited this long with no worker free to take one
    (with `[async]` on): the replicas do not keep up with the queue."""


@dataclass(frozen=True, kw_only=True)
class DeploymentConfig:
    """Everything one deployment needs; stacks and constructs are built from this alone."""

    name: str
    """Prefix of every resource name and stack (lowercase letters, digits, hyphens)."""
    region: str
    platform: Literal["ecs", "eks"] = "ecs"
    environment: str = "production"
    tags: dict[str, str] = field(default_factory=dict)
    """Extra tags on every taggable resource."""
    network: NetworkConfig = field(default_factory=NetworkConfig)
    service: ServiceConfig
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    marketplace: MarketplaceConfig = field(default_factory=MarketplaceConfig)
    load_balancer: LoadBalancerConfig = field(default_factory=LoadBalancerConfig)
    state: StateConfig | None = None
    """Default: local state files next to each stack."""
    eks: EksConfig = field(default_factory=EksConfig)
    registry: RegistryConfig | None = None
    """Default: no registry stack; `service.image` names an image pushed elsewhere."""
    async_jobs: AsyncConfig = field(default_factory=AsyncConfig, metadata={TOML_KEY: "async"})
    """The `[async]` section."""
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)

    @property
    def existing_vpc(self) -> bool:
        return self.network.existing_vpc_id is not None

    @property
    def secrets_manager_used(self) -> bool:
        """Whether tasks read Secrets Manager (BYOP credentials, the gateway token, API keys)."""
        return bool(self.inference.service_secret_arns) or self.api.keys_secret_arn is not None
