"""Values a deployment derives from its configuration, each rule written once.

Stacks call these instead of repeating the rule: the ECS and EKS stacks both need the client
networks, the keep-alive, the managed gateway's address and the image's registry.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from modules.config import naming
from modules.config.model import DeploymentConfig
from service.contract import keep_alive_for

ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com"
    r"(\.cn)?/(?P<repository>[a-z0-9._/-]+)(?P<reference>:[\w.-]+|@sha256:[0-9a-f]{64})$"
)


ECR_REGISTRY = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?(/|$)"
)


def ecr_repository(image: str) -> tuple[str, str, str] | None:
    """(account, region, repository) of an ECR image URI; None for other registries."""
    match = ECR_IMAGE.match(image)
    return None if match is None else (match["account"], match["region"], match["repository"])


def managed_api_port(url: str) -> int:
    """The TCP port the managed gateway listens on, from its URL."""
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def client_cidrs(config: DeploymentConfig, vpc_cidr: str) -> tuple[str, ...]:
    """Networks allowed to reach the load balancer: the configured ones, else the VPC's range."""
    return config.network.client_cidrs or (vpc_cidr,)


def api_client_cidrs(config: DeploymentConfig, vpc_cidr: str) -> tuple[str, ...]:
    """Networks allowed to the EKS API on 443: the configured ones, else the VPC's range."""
    return config.eks.api_client_cidrs or (vpc_cidr,)


def internet_egress(config: DeploymentConfig) -> bool:
    """Whether tasks and pods have a route to the internet: NAT made here, or the existing
    VPC's own NAT when the configuration opts in."""
    net = config.network
    return net.nat_gateways != "none" or (config.existing_vpc and net.existing_vpc_internet_egress)


def ecr_chart_mirror_region(repository: str) -> str | None:
    """The region of an OCI chart repository in ECR (`oci://<account>.dkr.ecr.<region>...`)."""
    if not repository.startswith("oci://"):
        return None
    ecr = ECR_REGISTRY.match(repository.removeprefix("oci://"))
    return None if ecr is None else ecr["region"]


def managed_gateway_upstreams(
    config: DeploymentConfig, vpc_cidr: str
) -> tuple[tuple[str, int], ...]:
    """(CIDR, port) of the managed LLM gateway, the VPC's range unless configured; none in BYOP."""
    inference = config.inference
    if inference.mode != "managed" or inference.managed_api_url is None:
        return ()
    port = managed_api_port(inference.managed_api_url)
    return tuple((cidr, port) for cidr in inference.managed_api_cidrs or (vpc_cidr,))


def resource_tags(config: DeploymentConfig) -> dict[str, str]:
    """The tags of every resource of the deployment: the AWS provider's default tags, and what
    the node group and the load balancer controller put on what they create."""
    return naming.deployment_tags(config.name, config.environment, config.tags)


def keep_alive_seconds(config: DeploymentConfig) -> int:
    """The service's idle keep-alive for this deployment's load balancer idle timeout."""
    return keep_alive_for(config.load_balancer.idle_timeout_seconds)


def state_key(config: DeploymentConfig, stack_name: str) -> str:
    """The S3 object of a stack's state: `<key_prefix or name>/<stack>.tfstate`."""
    assert config.state is not None
    return f"{config.state.key_prefix or config.name}/{stack_name}.tfstate"


def registry_repository(config: DeploymentConfig) -> str:
    """The `[registry]` repository's name: as configured, else `<name>/hypernym-api`."""
    assert config.registry is not None
    return config.registry.repository or f"{config.name}/hypernym-api"


def ecr_domain(region: str, account_id: str) -> str:
    """The registry host of an account in a region (China regions end in .com.cn)."""
    suffix = ".cn" if region.startswith("cn-") else ""
    return f"{account_id}.dkr.ecr.{region}.amazonaws.com{suffix}"


def service_image(config: DeploymentConfig, account_id: str) -> str:
    """The image tasks and pods run: `service.image`, else the `[registry]` repository's image
    tagged `service.image_tag` (`account_id` is the deployment's account)."""
    if config.service.image is not None:
        return config.service.image
    assert config.service.image_tag is not None
    repository = registry_repository(config)
    return f"{ecr_domain(config.region, account_id)}/{repository}:{config.service.image_tag}"


def service_image_repository(
    config: DeploymentConfig, account_id: str
) -> tuple[str, str, str] | None:
    """(account, region, repository) of the image the service runs, when it is in ECR."""
    if config.service.image is None:
        return account_id, config.region, registry_repository(config)
    return ecr_repository(config.service.image)
