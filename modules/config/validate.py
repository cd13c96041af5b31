"""What a structurally valid deployment must also satisfy: values, limits and combinations.

`validate(config)` returns every problem at once, one line each, naming the key and the fix;
`advisories(config, today=...)` what is valid but needs attention on that day (the command line
prints them as warnings; the date is its to read, so nothing here depends on the clock).
Each AWS limit checked here is declared once, with its source.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from urllib.parse import urlsplit

from modules.config import naming
from modules.config.derived import ecr_repository, internet_egress
from modules.config.model import (
    EKS_ADDON_NAMES,
    DeploymentConfig,
    EksConfig,
    MonitoringConfig,
    NetworkConfig,
)
from service.contract import DRAIN_TIMEOUT_SECONDS, SHUTDOWN_AFTER_DRAIN_SECONDS

EKS_STANDARD_SUPPORT_ENDS = {
    "1.33": date(2026, 7, 29),
    "1.34": date(2026, 12, 2),
    "1.35": date(2027, 3, 27),
}
"""EKS versions and the end of their standard support (EKS release calendar, read 2026-02-14).

Past that date a cluster with `support_type = STANDARD` is upgraded by AWS to the next version,
so the configured one would be a downgrade: the tools warn (never refuse: a destroy must still
synthesize). Add new versions as EKS ships them; a newer version is accepted with a warning.
"""

_KUBERNETES_VERSION = re.compile(r"^1\.(?P<minor>\d+)$")
_ADDON_VERSION = re.compile(r"^v(?P<major>\d+)\.(?P<minor>\d+)\.\d+-eksbuild\.\d+$")

FARGATE_MEMORY_MIB = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
"""The CPU units / memory (MiB) combinations Fargate accepts."""

LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
"""The retention periods CloudWatch Logs accepts."""

TLS12_POLICY_PREFIXES = (
    "ELBSecurityPolicy-TLS13-",
    "ELBSecurityPolicy-TLS-1-2-",
    "ELBSecurityPolicy-FS-1-2-",
)

_NAME = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
    r"(?P<account>\d{12}|):(?P<resource>.+)$"
)
ECR_REPOSITORY_NAME = re.compile(
    r"^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"
)
"""ECR CreateRepository: repositoryName, 2-256 characters of this pattern (API reference)."""
ECR_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
"""An image tag: up to 128 word characters, '.' or '-', not starting with either."""
ECR_REPLICATION_MAX_DESTINATIONS = 25
"""ECR private image replication: up to 25 unique destinations across all rules (user guide,
"Private image replication")."""
_IMAGE_REFERENCE = re.compile(r"^[^\s]+(:[\w.-]+|@sha256:[0-9a-f]{64})$")


def validate(config: DeploymentConfig) -> list[str]:
    """Every problem with a structurally valid configuration, one line each."""
    return [
        *_identity_problems(config),
        *_network_problems(config),
        *_service_problems(config),
        *_inference_problems(config),
        *_load_balancer_problems(config),
        *_eks_problems(config),
        *_registry_problems(config),
        *_node_autoscaler_problems(config),
        *_api_problems(config),
        *_async_problems(config),
        *_monitoring_problems(config),
    ]


def _identity_problems(config: DeploymentConfig) -> list[str]:
    problems = []
    if not _NAME.match(config.name):
        problems.append(
            f"`name` = {config.name!r}: use lowercase letters, digits and hyphens, "
            "starting with a letter"
        )
    if not _REGION.match(config.region):
        problems.append(f"`region` = {config.region!r} is not an AWS region name (e.g. eu-west-1)")
    if _NAME.match(config.name):
        problems += [f"`name`: {p}" for p in naming.length_problems(config.name, config.region)]
    if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", config.environment):
        problems.append("`environment` must be 1-64 letters, digits, '.', '_' or '-'")
    for key in config.tags:
        if key.lower().startswith("aws:"):
            problems.append(f"`tags.{key}`: the aws: prefix is reserved by AWS; rename the tag")
        if key in naming.RESERVED_TAG_KEYS:
            problems.append(f"`tags.{key}` is set by the deployment itself; remove it")
    if config.state is not None and config.state.region and not _REGION.match(config.state.region):
        problems.append(f"`state.region` = {config.state.region!r} is not an AWS region name")
    return problems


def _parse_network(value: str, key: str, problems: list[str]) -> ipaddress.IPv4Network | None:
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError:
        try:
            suggestion = ipaddress.IPv4Network(value, strict=False)
        except ValueError:
            problems.append(f"`{key}` = {value!r} is not an IPv4 CIDR (e.g. 10.0.1.0/24)")
        else:
            problems.append(f"`{key}` = {value!r} has host bits set; did you mean {suggestion}?")
        return None
    return network


def _network_problems(config: DeploymentConfig) -> list[str]:
    net = config.network
    problems: list[str] = []
    for key, values in (
        ("network.client_cidrs", net.client_cidrs),
        ("inference.managed_api_cidrs", config.inference.managed_api_cidrs),
    ):
        for value in values:
            _parse_network(value, key, problems)
    for arn in net.endpoint_principal_arns:
        problems += _arn_problems(arn, "network.endpoint_principal_arns", "iam", "")
    if net.existing_vpc_internet_egress and not config.existing_vpc:
        problems.append(
            "`network.existing_vpc_internet_egress` only applies with `network.existing_vpc_id`;"
            " a new VPC gets internet egress from `network.nat_gateways`"
        )
    if config.existing_vpc:
        return problems + _existing_vpc_problems(net)
    return problems + _new_vpc_problems(net) + _zone_problems(net, config.region)


def _existing_vpc_problems(net: NetworkConfig) -> list[str]:
    problems = [
        f"`network.{key}` only applies to a new VPC; remove it or `network.existing_vpc_id`"
        for key in ("availability_zones", "public_subnet_cidrs")
        if getattr(net, key)
    ]
    if net.nat_gateways != "none":
        problems.append(
            "`network.nat_gateways` only applies to a new VPC; an existing VPC's "
            "egress is managed outside this deployment"
        )
    if len(net.existing_private_subnet_ids) < 2:
        problems.append(
            "`network.existing_private_subnet_ids` needs at least 2 subnets in "
            "different availability zones"
        )
    if not net.existing_private_route_table_ids:
        problems.append(
            "`network.existing_private_route_table_ids` is required with an existing "
            "VPC (the S3 gateway endpoint attaches to them, or is checked to serve them; "
            "the NAT opt-in checks their default route)"
        )
    return problems


def _new_vpc_problems(net: NetworkConfig) -> list[str]:
    problems: list[str] = []
    if net.existing_private_subnet_ids or net.existing_private_route_table_ids:
        problems.append("`network.existing_private_*` need `network.existing_vpc_id`")
    if not net.create_vpc_endpoints:
        problems.append("`network.create_vpc_endpoints = false` only applies to an existing VPC")
    vpc = _parse_network(net.vpc_cidr, "network.vpc_cidr", problems)
    if vpc is not None and not 16 <= vpc.prefixlen <= 28:
        problems.append(f"`network.vpc_cidr` = {net.vpc_cidr}: AWS allows /16 to /28")
    if len(net.private_subnet_cidrs) < 2:
        problems.append(
            f"`network.private_subnet_cidrs` has {len(net.private_subnet_cidrs)} "
            "subnet(s); give at least 2 (one per availability zone)"
        )
    if net.nat_gateways == "none" and net.public_subnet_cidrs:
        problems.append(
            "`network.public_subnet_cidrs` needs `network.nat_gateways` "
            '("single" or "per_az"); public subnets exist only for NAT'
        )
    if net.nat_gateways != "none" and len(net.public_subnet_cidrs) != len(net.private_subnet_cidrs):
        problems.append(
            f"`network.nat_gateways` = {net.nat_gateways!r} needs one "
            "`network.public_subnet_cidrs` entry per private subnet"
        )
    return problems + _subnet_problems(net, vpc)


def _subnet_problems(net: NetworkConfig, vpc: ipaddress.IPv4Network | None) -> list[str]:
    """Subnets that don't parse, lie outside the VPC, are too small, or overlap each other."""
    problems: list[str] = []
    subnets = [
        (f"network.{kind}[{i}]", network)
        for kind in ("private_subnet_cidrs", "public_subnet_cidrs")
        for i, value in enumerate(getattr(net, kind))
        if (network := _parse_network(value, f"network.{kind}", problems)) is not None
    ]
    for key, subnet in subnets:
        if vpc is not None and not subnet.subnet_of(vpc):
            problems.append(f"`{key}` = {subnet} is outside the VPC {vpc}")
        if subnet.prefixlen > 28:
            problems.append(f"`{key}` = {subnet}: AWS subnets are /28 or larger")
    for i, (key, subnet) in enumerate(subnets):
        problems += [
            f"`{key}` = {subnet} overlaps `{other_key}` = {other}"
            for other_key, other in subnets[i + 1 :]
            if subnet.overlaps(other)
        ]
    return problems


def _zone_problems(net: NetworkConfig, region: str) -> list[str]:
    zones = net.availability_zones
    if not zones:
        return []
    problems = []
    if len(zones) != len(net.private_subnet_cidrs):
        problems.append("`network.availability_zones` must list one zone per private subnet")
    if len(set(zones)) != len(zones):
        problems.append("`network.availability_zones` repeats a zone; each subnet needs its own")
    return problems + [
        f"`network.availability_zones`: {zone!r} is not in {region}"
        for zone in zones
        if not zone.startswith(region)
    ]


def _arn_problems(arn: str | None, key: str, service: str, region: str | None) -> list[str]:
    """Problems with an ARN that must belong to `service` (and `region`, when given)."""
    if arn is None:
        return []
    match = _ARN.match(arn)
    if match is None or match["service"] != service:
        return [f"`{key}` = {arn!r} is not an ARN for {service}"]
    if region is not None and match["region"] != region:
        return [
            f"`{key}` is in {match['region']}, the deployment in {region}; use a {service} "
            f"resource in {region} (or replicate it there)"
        ]
    return []


def _service_problems(config: DeploymentConfig) -> list[str]:
    svc = config.service
    problems = []
    valid_memory = FARGATE_MEMORY_MIB.get(svc.cpu)
    if valid_memory is None:
        problems.append(
            f"`service.cpu` = {svc.cpu} is not a Fargate size; use one of "
            f"{', '.join(map(str, FARGATE_MEMORY_MIB))}"
        )
    elif svc.memory_mib not in valid_memory:
        step = valid_memory[1] - valid_memory[0]
        accepted = (
            ", ".join(map(str, valid_memory))
            if len(valid_memory) <= 3
            else f"{valid_memory[0]}-{valid_memory[-1]} in steps of {step}"
        )
        problems.append(
            f"`service.memory_mib` = {svc.memory_mib} is not valid with cpu {svc.cpu}; "
            f"Fargate accepts {accepted}"
        )
    problems += _count_problems("service", svc.min_count, svc.desired_count, svc.max_count)
    for key in ("cpu_target_percent", "memory_target_percent"):
        if not 1 <= getattr(svc, key) <= 100:
            problems.append(f"`service.{key}` must be between 1 and 100")
    for key in (
        "scale_out_cooldown_seconds",
        "scale_in_cooldown_seconds",
        "health_check_grace_period_seconds",
    ):
        if getattr(svc, key) < 0:
            problems.append(f"`service.{key}` must not be negative")
    shutdown = DRAIN_TIMEOUT_SECONDS + SHUTDOWN_AFTER_DRAIN_SECONDS
    if not shutdown <= svc.stop_timeout_seconds <= 120:
        problems.append(
            f"`service.stop_timeout_seconds` must be between {shutdown} (the service's "
            "drain and shutdown) and 120 (Fargate's limit)"
        )
    if svc.workers < 1:
        problems.append("`service.workers` must be at least 1")
    if svc.log_retention_days not in LOG_RETENTION_DAYS:
        problems.append(
            f"`service.log_retention_days` = {svc.log_retention_days} is not a "
            f"CloudWatch retention; use one of {', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    problems += _arn_problems(svc.log_kms_key_arn, "service.log_kms_key_arn", "kms", config.region)
    problems += _image_problems(config)
    return problems


def _count_problems(
    section: str, minimum: int, desired: int, maximum: int, prefix: str = ""
) -> list[str]:
    keys = [f"`{section}.{prefix}{k}_count`" for k in ("min", "desired", "max")]
    if minimum < 1:
        return [f"{keys[0]} must be at least 1"]
    if minimum > desired:
        return [f"{keys[0]} = {minimum} is greater than {keys[1]} = {desired}"]
    if desired > maximum:
        return [f"{keys[1]} = {desired} is greater than {keys[2]} = {maximum}"]
    return []


def _image_problems(config: DeploymentConfig) -> list[str]:
    image, tag = config.service.image, config.service.image_tag
    if image is not None and tag is not None:
        return ["`service.image` and `service.image_tag` are both set; keep one"]
    if image is None:
        return _image_tag_problems(config, tag)
    return _image_reference_problems(config, image)


def _image_reference_problems(config: DeploymentConfig, image: str) -> list[str]:
    if not _IMAGE_REFERENCE.match(image):
        return [f"`service.image` = {image!r} must be pinned by a tag or an @sha256 digest"]
    if image.endswith(":latest"):
        return [
            "`service.image` uses the tag `latest`; pin a version tag or a digest so every "
            "task runs the same image"
        ]
    if internet_egress(config) or not _REGION.match(config.region):
        return []  # the image may come from anywhere the egress path reaches
    egress_key = (
        "`network.existing_vpc_internet_egress = true` (its route tables send 0.0.0.0/0 to a NAT)"
        if config.existing_vpc
        else "`network.nat_gateways`"
    )
    ecr = ecr_repository(image)
    if ecr is None:
        return [
            "`service.image` is not in ECR, and the VPC has no internet egress; push it to "
            f"ECR in {config.region} or set {egress_key}"
        ]
    _, image_region, _ = ecr
    if image_region != config.region:
        return [
            f"`service.image` is in ECR {image_region}, reachable only over the internet; "
            f"replicate it to ECR in {config.region} or set {egress_key}"
        ]
    return []


def _image_tag_problems(config: DeploymentConfig, tag: str | None) -> list[str]:
    if config.registry is None or tag is None:
        return [
            "`service.image` is required, unless a `[registry]` section and "
            "`service.image_tag` name the image in the deployment's own repository"
        ]
    if not ECR_TAG.match(tag):
        return [f"`service.image_tag` = {tag!r}: use 1-128 letters, digits, '_', '.' or '-'"]
    if tag == "latest":
        return [
            "`service.image_tag` = 'latest': the repository's tags are immutable releases; "
            "name the release to run (e.g. 1.4.2)"
        ]
    return []


def _node_autoscaler_problems(config: DeploymentConfig) -> list[str]:
    if config.platform != "eks" or config.eks.node_autoscaler != "cluster-autoscaler":
        return []
    prefix = naming.pull_through_cache_prefix(config.name)
    if len(prefix) > naming.PULL_THROUGH_CACHE_PREFIX_MAX:
        return [
            f"`name`: the pull-through cache prefix {prefix!r} of the Cluster Autoscaler's image "
            f"is {len(prefix)} characters, ECR allows {naming.PULL_THROUGH_CACHE_PREFIX_MAX}; "
            f"shorten `name` by {len(prefix) - naming.PULL_THROUGH_CACHE_PREFIX_MAX}"
        ]
    return []


def _registry_problems(config: DeploymentConfig) -> list[str]:
    registry = config.registry
    if registry is None:
        return []
    problems = []
    if registry.repository is not None and not ECR_REPOSITORY_NAME.match(registry.repository):
        problems.append(
            f"`registry.repository` = {registry.repository!r} is not an ECR repository name "
            "(2-256 lowercase letters, digits, '.', '_', '-', '/'-separated)"
        )
    if registry.keep_releases < 1:
        problems.append("`registry.keep_releases` must be at least 1 (the release running now)")
    if registry.untagged_expire_days < 1:
        problems.append("`registry.untagged_expire_days` must be at least 1")
    regions = registry.replication_regions
    for region in regions:
        if not _REGION.match(region):
            problems.append(f"`registry.replication_regions`: {region!r} is not an AWS region name")
        elif region == config.region:
            problems.append(
                f"`registry.replication_regions` lists {region}, the registry's own region; "
                "remove it"
            )
    if len(set(regions)) != len(regions):
        problems.append("`registry.replication_regions` lists a region twice")
    if len(set(regions)) > ECR_REPLICATION_MAX_DESTINATIONS:
        problems.append(
            f"`registry.replication_regions`: ECR replicates to at most "
            f"{ECR_REPLICATION_MAX_DESTINATIONS} destinations"
        )
    problems += _arn_problems(registry.kms_key_arn, "registry.kms_key_arn", "kms", config.region)
    return problems


def _inference_problems(config: DeploymentConfig) -> list[str]:
    inference, region = config.inference, config.region
    problems = []
    if inference.mode == "managed":
        if inference.managed_api_url is None:
            problems.append(
                "`inference.managed_api_url` is required in managed mode "
                "(the OpenAI-compatible gateway's URL)"
            )
        else:
            url = urlsplit(inference.managed_api_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                problems.append(
                    f"`inference.managed_api_url` = {inference.managed_api_url!r} "
                    "must be an http(s) URL with a host"
                )
        if inference.byop_secret_arn is not None:
            problems.append('`inference.byop_secret_arn` only applies to mode "byop"')
    else:
        if inference.byop_secret_arn is None:
            problems.append(
                "`inference.byop_secret_arn` is required in byop mode (the Secrets "
                "Manager secret with provider_url, api_key, model_name)"
            )
        for key in ("managed_api_url", "managed_model", "managed_api_key_secret_arn"):
            if getattr(inference, key) is not None:
                problems.append(f'`inference.{key}` only applies to mode "managed"')
        if inference.managed_api_cidrs:
            problems.append('`inference.managed_api_cidrs` only applies to mode "managed"')
    problems += _arn_problems(
        inference.byop_secret_arn, "inference.byop_secret_arn", "secretsmanager", region
    )
    problems += _arn_problems(
        inference.managed_api_key_secret_arn,
        "inference.managed_api_key_secret_arn",
        "secretsmanager",
        region,
    )
    problems += _arn_problems(
        inference.secret_kms_key_arn, "inference.secret_kms_key_arn", "kms", region
    )
    marketplace = config.marketplace
    if marketplace.metering != "off" and not marketplace.product_code:
        problems.append(
            f"`marketplace.metering` = {marketplace.metering!r} needs "
            '`marketplace.product_code` (or set metering = "off")'
        )
    if (
        marketplace.metering != "off"
        and not marketplace.metering_endpoint
        and config.network.nat_gateways == "none"
    ):
        problems.append(
            "`marketplace.metering_endpoint` = false needs internet egress for metering: set "
            '`network.nat_gateways` (or keep the endpoint, or set metering = "off")'
        )
    return problems


def _load_balancer_problems(config: DeploymentConfig) -> list[str]:
    lb = config.load_balancer
    problems = []
    if lb.protocol == "https" and lb.certificate_arn is None:
        problems.append(
            '`load_balancer.protocol` = "https" needs `load_balancer.certificate_arn` '
            "(an ACM certificate in the deployment's region)"
        )
    problems += _arn_problems(
        lb.certificate_arn, "load_balancer.certificate_arn", "acm", config.region
    )
    if not lb.ssl_policy.startswith(TLS12_POLICY_PREFIXES):
        problems.append(
            f"`load_balancer.ssl_policy` = {lb.ssl_policy!r} allows TLS below 1.2; use "
            "an ELBSecurityPolicy-TLS13-* or -TLS-1-2-* policy"
        )
    if not 1 <= lb.idle_timeout_seconds <= 4000:
        problems.append("`load_balancer.idle_timeout_seconds` must be between 1 and 4000")
    if not 0 <= lb.deregistration_delay_seconds <= 3600:
        problems.append("`load_balancer.deregistration_delay_seconds` must be between 0 and 3600")
    return problems


def _eks_problems(config: DeploymentConfig) -> list[str]:
    if config.platform != "eks":
        return []
    eks = config.eks
    problems = _eks_version_problems(config)
    if eks.endpoint_public_access and not eks.public_access_cidrs:
        problems.append(
            "`eks.endpoint_public_access` needs `eks.public_access_cidrs` "
            "(the networks allowed to reach the Kubernetes API)"
        )
    if eks.public_access_cidrs and not eks.endpoint_public_access:
        problems.append("`eks.public_access_cidrs` needs `eks.endpoint_public_access = true`")
    for value in eks.public_access_cidrs:
        network = _parse_network(value, "eks.public_access_cidrs", problems)
        if network is not None and network.prefixlen == 0:
            problems.append(
                "`eks.public_access_cidrs` must not contain 0.0.0.0/0; list your networks"
            )
    problems += _api_client_problems(eks)
    for arn in eks.admin_role_arns:
        problems += _arn_problems(arn, "eks.admin_role_arns", "iam", "")
    problems += _count_problems(
        "eks", eks.node_min_count, eks.node_desired_count, eks.node_max_count, prefix="node_"
    )
    if eks.log_retention_days not in LOG_RETENTION_DAYS:
        problems.append(
            f"`eks.log_retention_days` = {eks.log_retention_days} is not a CloudWatch retention"
        )
    if not re.match(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", eks.namespace):
        problems.append("`eks.namespace` must be a DNS label (lowercase letters, digits, '-')")
    return problems


def _eks_version_problems(config: DeploymentConfig) -> list[str]:
    eks = config.eks
    version = _KUBERNETES_VERSION.match(eks.kubernetes_version)
    if version is None:
        return [
            f"`eks.kubernetes_version` = {eks.kubernetes_version!r} is not a Kubernetes "
            'minor version; write it as EKS does, e.g. "1.35"'
        ]
    problems = []
    for name, pinned in eks.addon_versions.items():
        key = f"`eks.addon_versions.{name}`"
        if name not in EKS_ADDON_NAMES:
            problems.append(f"{key}: no such add-on here; pin one of {', '.join(EKS_ADDON_NAMES)}")
            continue
        addon = _ADDON_VERSION.match(pinned)
        if addon is None:
            problems.append(
                f"{key} = {pinned!r} is not an add-on version (e.g. v1.35.3-eksbuild.2)"
            )
        elif name == "kube-proxy" and (addon["major"], addon["minor"]) != ("1", version["minor"]):
            # Each kube-proxy build is offered for exactly its own Kubernetes minor version.
            problems.append(
                f"{key} = {pinned!r} is for Kubernetes {addon['major']}.{addon['minor']}, the "
                f"cluster runs {eks.kubernetes_version}: pin the version `aws eks "
                f"describe-addon-versions --addon-name kube-proxy --kubernetes-version "
                f"{eks.kubernetes_version}` lists, or remove the pin"
            )
    return problems


def advisories(config: DeploymentConfig, *, today: date) -> list[str]:
    """What is valid but needs the operator's attention on `today`, one line each; never a
    reason to refuse (a destroy must work with the configuration it was deployed with)."""
    return [*_api_advisories(config), *_eks_advisories(config, today)]


def _api_advisories(config: DeploymentConfig) -> list[str]:
    if config.api.auth != "open":
        return []
    return [
        '`api.auth` = "open": the API takes calls without a key, in the open-access tier, '
        "from anyone in `network.client_cidrs` (default: the VPC); set "
        "`api.keys_secret_arn` instead to require keys"
    ]


def _eks_advisories(config: DeploymentConfig, today: date) -> list[str]:
    if config.platform != "eks":
        return []
    version = config.eks.kubernetes_version
    ends = EKS_STANDARD_SUPPORT_ENDS.get(version)
    upgrade = (
        'AWS upgrades the control plane itself (upgrade_policy "STANDARD"), after which this '
        'version is a downgrade: upgrade as README "Upgrading EKS" says, or set the version '
        "the cluster runs (`aws eks describe-cluster --name "
        f"{config.name} --query cluster.version`)"
    )
    if ends is not None and ends <= today:
        return [
            f"`eks.kubernetes_version` = {version!r} left EKS standard support on {ends}; {upgrade}"
        ]
    if ends is None and _KUBERNETES_VERSION.match(version):
        newest = max(EKS_STANDARD_SUPPORT_ENDS, key=_minor)
        if _minor(version) > _minor(newest):
            return [
                f"`eks.kubernetes_version` = {version!r} is newer than the EKS calendar of this "
                f"release (EKS_STANDARD_SUPPORT_ENDS ends at {newest}): its end of standard "
                "support is not checked"
            ]
        return [f"`eks.kubernetes_version` = {version!r} is past EKS standard support; {upgrade}"]
    return []


def _minor(kubernetes_version: str) -> int:
    match = _KUBERNETES_VERSION.match(kubernetes_version)
    assert match is not None, kubernetes_version
    return int(match["minor"])


def _api_problems(config: DeploymentConfig) -> list[str]:
    api = config.api
    problems = []
    if api.auth == "keys" and api.keys_secret_arn is None:
        problems.append(
            "`api.keys_secret_arn` is required: choose how callers authenticate, either a "
            "Secrets Manager secret with a JSON object of API key to tier "
            '(`keys_secret_arn`), or `auth = "open"` (no keys) in the [api] section'
        )
    if api.auth == "open":
        for key in ("keys_secret_arn", "keys_kms_key_arn"):
            if getattr(api, key) is not None:
                problems.append(f'`api.{key}` only applies to auth "keys"')
    # With no valid region (its own problem) there is no region to compare with.
    region = config.region if _REGION.match(config.region) else None
    problems += _arn_problems(api.keys_secret_arn, "api.keys_secret_arn", "secretsmanager", region)
    problems += _arn_problems(api.keys_kms_key_arn, "api.keys_kms_key_arn", "kms", region)
    return problems


SQS_MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200
"""SQS: a message's visibility timeout is 0 s to 12 h (SetQueueAttributes, VisibilityTimeout)."""
SQS_MAX_RECEIVE_COUNT = 1000
"""SQS redrive policy: maxReceiveCount is 1 to 1,000."""


def _async_problems(config: DeploymentConfig) -> list[str]:
    jobs = config.async_jobs
    if not jobs.enabled:
        return []
    bounds = {
        "worker_concurrency": (jobs.worker_concurrency, 1, 64),
        # The worker extends every third of it: under 2 s that is a write per half second.
        "visibility_timeout_seconds": (
            jobs.visibility_timeout_seconds,
            2,
            SQS_MAX_VISIBILITY_TIMEOUT_SECONDS,
        ),
        "max_receive_count": (jobs.max_receive_count, 1, SQS_MAX_RECEIVE_COUNT),
        "job_ttl_hours": (jobs.job_ttl_hours, 1, 8760),
        "result_cache_ttl_hours": (jobs.result_cache_ttl_hours, 1, 8760),
        "backlog_per_task": (jobs.backlog_per_task, 1, 10_000),
    }
    return [
        f"`async.{key}` = {value} is out of range; use {low} to {high}"
        for key, (value, low, high) in bounds.items()
        if not low <= value <= high
    ]


_SECURITY_GROUP_ID = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")


def _api_client_problems(eks: EksConfig) -> list[str]:
    """Who reaches the private Kubernetes API, and where the controller chart comes from."""
    problems: list[str] = []
    for value in eks.api_client_cidrs:
        network = _parse_network(value, "eks.api_client_cidrs", problems)
        if network is not None and network.prefixlen == 0:
            problems.append(
                "`eks.api_client_cidrs` must not contain 0.0.0.0/0; list the networks of "
                "your runners, VPN or peered VPCs"
            )
    problems += [
        f"`eks.api_client_security_group_ids` = {group!r} is not a security group id "
        "(sg- and 8 or 17 hex digits)"
        for group in eks.api_client_security_group_ids
        if not _SECURITY_GROUP_ID.match(group)
    ]
    repository = eks.load_balancer_controller_chart_repository
    if not repository.startswith(("https://", "oci://")) or repository.endswith("/"):
        problems.append(
            f"`eks.load_balancer_controller_chart_repository` = {repository!r}: use an "
            "https:// chart repository or an oci:// registry path, without a trailing /"
        )
    return problems


ALARM_WINDOW_SECONDS = 86_400
"""CloudWatch evaluates an alarm over at most one day (evaluation periods x period)."""


def _monitoring_problems(config: DeploymentConfig) -> list[str]:
    mon = config.monitoring
    problems = _alarm_window_problems(mon)
    for key in ("load_balancer_5xx_percent", "target_5xx_percent"):
        if not 1 <= getattr(mon, key) <= 100:
            problems.append(f"`monitoring.{key}` = {getattr(mon, key)}: use a percentage, 1-100")
    for key in (
        "unhealthy_hosts",
        "target_response_p99_seconds",
        "provider_latency_p99_seconds",
        "provider_errors",
        "metering_failures",
    ):
        if getattr(mon, key) < 1:
            problems.append(f"`monitoring.{key}` = {getattr(mon, key)}: use at least 1")
    for address in mon.email_subscriptions:
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", address):
            problems.append(
                f"`monitoring.email_subscriptions`: {address!r} is not an email address"
            )
    for url in mon.https_subscriptions:
        if not url.startswith("https://"):
            problems.append(
                f"`monitoring.https_subscriptions`: {url!r} is not an https:// URL "
                "(alarms may carry details: no plain HTTP)"
            )
    for arn in mon.sqs_subscriptions:
        problems += _arn_problems(arn, "monitoring.sqs_subscriptions", "sqs", config.region)
    return problems


def _alarm_window_problems(mon: MonitoringConfig) -> list[str]:
    """The period and the windows alarms evaluate, within what CloudWatch allows."""
    problems = []
    period = mon.period_seconds
    if period < 60 or period % 60:
        problems.append(
            f"`monitoring.period_seconds` = {period}: use a multiple of 60 "
            "(the metrics alarmed on are standard resolution)"
        )
        period = 60  # the window checks below still run, against the smallest valid period
    most = ALARM_WINDOW_SECONDS // period
    if not 1 <= mon.evaluation_periods <= most:
        problems.append(
            f"`monitoring.evaluation_periods` = {mon.evaluation_periods}: use 1 to {most} "
            f"(CloudWatch evaluates at most one day of {period} s periods)"
        )
    for key in ("scaling_at_max_minutes", "jobs_waiting_minutes"):
        window = getattr(mon, key) * 60
        if not period <= window <= ALARM_WINDOW_SECONDS or window % period:
            problems.append(
                f"`monitoring.{key}` = {getattr(mon, key)}: use whole periods of {period} s, "
                "at most a day"
            )
    return problems
