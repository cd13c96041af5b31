"""The image registry stack, `<name>-registry`, made when the deployment has `[registry]`.

It is deployed before the platform's stacks (they depend on it): push a release there, then
apply the deployment, whose image defaults to that release (derived.service_image).
"""

from __future__ import annotations

from constructs import Construct

from modules.config import DeploymentConfig
from modules.config.derived import registry_repository
from modules.constructs.image_registry import ImageRegistry, ImageRegistryProps
from modules.stacks.base import DeploymentStack


class RegistryStack(DeploymentStack):
    """The ECR repository of the service's releases."""

    def __init__(self, scope: Construct, config: DeploymentConfig) -> None:
        super().__init__(scope, config, "registry")
        registry = config.registry
        assert registry is not None
        self.registry = ImageRegistry(
            self,
            "registry",
            props=ImageRegistryProps(
                repository_name=registry_repository(config),
                account_id=self.account_id,
                partition=self.partition,
                keep_releases=registry.keep_releases,
                untagged_expire_days=registry.untagged_expire_days,
                replication_regions=registry.replication_regions,
                kms_key_arn=registry.kms_key_arn,
            ),
        )
        self.output("repository_url", self.registry.url, "Push releases here (docker/podman push)")
        self.output("repository_arn", self.registry.arn, "The ECR repository")
        self.output("kms_key_arn", self.registry.key_arn, "Key encrypting the images")
