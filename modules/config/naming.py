"""Names of the AWS resources a deployment creates, and the AWS limits they must respect.

Every physical name is derived here from the deployment name (and the region where the name is
account-global), so configuration validation can check the limits before anything is built.
"""

from __future__ import annotations

LOAD_BALANCER_NAME_MAX = 32
"""AWS limit for ALB and target group names."""

ROLE_NAME_MAX = 64
"""AWS limit for IAM role names."""

BUCKET_NAME_MAX = 63
"""AWS limit for S3 bucket names (globally unique, so they carry the account and region)."""
ACCOUNT_ID_LENGTH = 12

PRODUCT = "Hypernym"
MANAGED_BY = "cdktf"


def deployment_tags(deployment: str, environment: str, extra: dict[str, str]) -> dict[str, str]:
    """The tags of every resource in a deployment (the AWS provider's default tags)."""
    return {
        **extra,
        "ManagedBy": MANAGED_BY,
        "Product": PRODUCT,
        "Environment": environment,
        "Deployment": deployment,
    }


RESERVED_TAG_KEYS = ("Name", *deployment_tags("", "", {}))
"""Tags the deployment sets itself (`Name` per resource); user tags may not redefine them."""

ROLE_PURPOSES = (
    "ecs-execution",
    "ecs-task",
    "vpc-flow-logs",
    "eks-cluster",
    "eks-node",
    "eks-app",
    "eks-lb-controller",
    "eks-vpc-cni",
    "eks-observability",
    "eks-autoscaler",
)
"""Every role a deployment may create; the longest one bounds the deployment name."""


def load_balancer_name(deployment: str) -> str:
    return f"{deployment}-alb"


def target_group_name(deployment: str) -> str:
    return f"{deployment}-tg"


def role_name(deployment: str, region: str, purpose: str) -> str:
    """IAM role names are account-global: the region keeps two regional deployments apart."""
    return f"{deployment}-{purpose}-{region}"


def jobs_name(deployment: str) -> str:
    """The asynchronous jobs' table and queue (`-dlq` added for the dead-letter queue)."""
    return f"{deployment}-jobs"


def jobs_bucket_name(deployment: str, account_id: str, region: str) -> str:
    """Bucket names are global: the account and region make this deployment's unique."""
    return f"{jobs_name(deployment)}-{account_id}-{region}"


def log_group_name(deployment: str) -> str:
    return f"/ecs/{deployment}"


def stack_name(deployment: str, unit: str) -> str:
    """A Terraform stack (and state file): `<deployment>-ecs`, `<deployment>-eks-cluster`, ..."""
    return f"{deployment}-{unit}"


def length_problems(deployment: str, region: str) -> list[str]:
    """One line per derived name that exceeds its AWS limit."""
    problems = []
    for kind, name in (
        ("load balancer", load_balancer_name(deployment)),
        ("target group", target_group_name(deployment)),
    ):
        if len(name) > LOAD_BALANCER_NAME_MAX:
            problems.append(
                f"the {kind} name {name!r} is {len(name)} characters, AWS allows "
                f"{LOAD_BALANCER_NAME_MAX}; shorten `name`"
            )
    bucket = jobs_bucket_name(deployment, "0" * ACCOUNT_ID_LENGTH, region)
    if len(bucket) > BUCKET_NAME_MAX:
        problems.append(
            f"the jobs bucket name {bucket!r} (account id in place of the zeros) is "
            f"{len(bucket)} characters, AWS allows {BUCKET_NAME_MAX}; shorten `name` by "
            f"{len(bucket) - BUCKET_NAME_MAX}"
        )
    longest = max((role_name(deployment, region, p) for p in ROLE_PURPOSES), key=len)
    if len(longest) > ROLE_NAME_MAX:
        problems.append(
            f"the IAM role name {longest!r} is {len(longest)} characters, AWS allows "
            f"{ROLE_NAME_MAX}; shorten `name` by {len(longest) - ROLE_NAME_MAX}"
        )
    return problems


PULL_THROUGH_CACHE_PREFIX_MAX = 30
"""ECR CreatePullThroughCacheRule: ecrRepositoryPrefix is 2-30 characters."""


def pull_through_cache_prefix(deployment: str) -> str:
    """The ECR namespace where the deployment's pull-through cache keeps registry.k8s.io images
    (a registry-wide rule, so each deployment in an account and region has its own)."""
    return f"{deployment}-k8s"
