"""An ECR pull-through cache: images of a public upstream registry, pulled through this
account's private registry.

A private cluster reaches no public registry, but it reaches ECR (interface endpoints). A
pull-through cache rule makes `<registry>/<prefix>/<upstream path>:<tag>` an alias of the
upstream image: ECR fetches it from the upstream on the first pull (over AWS's own network)
and keeps a copy in a repository it creates under the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.ecr_pull_through_cache_rule import EcrPullThroughCacheRule
from constructs import Construct


@dataclass(frozen=True, kw_only=True)
class PullThroughCacheProps:
    repository_prefix: str
    """The ECR namespace of the cached images (2-30 characters, unique in the registry)."""
    upstream_registry_url: str = "registry.k8s.io"
    """An upstream that needs no credentials (registry.k8s.io, public.ecr.aws, quay.io)."""


class PullThroughCache(Construct):
    """The rule; `image(path)` is where an upstream image appears in this registry."""

    def __init__(self, scope: Construct, id: str, *, props: PullThroughCacheProps) -> None:
        super().__init__(scope, id)
        self.repository_prefix = props.repository_prefix
        self.rule = EcrPullThroughCacheRule(
            self,
            "rule",
            ecr_repository_prefix=props.repository_prefix,
            upstream_registry_url=props.upstream_registry_url,
        )

    def image(self, registry: str, upstream_path: str) -> str:
        """The repository URL of `upstream_path` (e.g. autoscaling/cluster-autoscaler) in
        `registry` (this account's ECR host), without a tag."""
        return f"{registry}/{self.repository_prefix}/{upstream_path}"
