"""The service's image registry: one private ECR repository of its releases.

Default: tags are immutable (a release tag names one image forever, so a rollback runs exactly
what ran before); every push is scanned; images are encrypted with a customer-managed KMS key,
rotated yearly; a lifecycle policy expires untagged images after a day and keeps the newest
tagged releases. Optionally the registry replicates this repository to other regions (ECR
copies each push there; the deployments of those regions pull locally).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.ecr_lifecycle_policy import EcrLifecyclePolicy
from cdktf_cdktf_provider_aws.ecr_replication_configuration import (
    EcrReplicationConfiguration,
    EcrReplicationConfigurationReplicationConfiguration,
    EcrReplicationConfigurationReplicationConfigurationRule,
    EcrReplicationConfigurationReplicationConfigurationRuleDestination,
    EcrReplicationConfigurationReplicationConfigurationRuleRepositoryFilter,
)
from cdktf_cdktf_provider_aws.ecr_repository import (
    EcrRepository,
    EcrRepositoryEncryptionConfiguration,
    EcrRepositoryImageScanningConfiguration,
)
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from modules.constructs.iam import account_administers_key, policy_document
from modules.constructs.tags import name_tag


def lifecycle_policy(*, keep_releases: int, untagged_expire_days: int) -> str:
    """ECR lifecycle rules: untagged images expire after `untagged_expire_days`; of the tagged
    ones, all but the newest `keep_releases` expire."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images after {untagged_expire_days} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_expire_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"Keep the newest {keep_releases} releases",
                    # A `tagged` rule needs a tag pattern; "*" matches every tag.
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": keep_releases,
                    },
                    "action": {"type": "expire"},
                },
            ]
        }
    )


@dataclass(frozen=True, kw_only=True)
class ImageRegistryProps:
    repository_name: str
    account_id: str
    partition: str
    keep_releases: int = 20
    untagged_expire_days: int = 1
    replication_regions: Sequence[str] = ()
    """Replicate the repository to ECR in these regions of the same account. Default: none."""
    kms_key_arn: str | None = None
    """Encrypt with this key. Default: a key made here (rotation on, 30-day deletion window)."""


class ImageRegistry(Construct):
    """The repository, its lifecycle policy, its key and its replication; exposes its URL."""

    def __init__(self, scope: Construct, id: str, *, props: ImageRegistryProps) -> None:
        super().__init__(scope, id)
        name = props.repository_name
        self.key: KmsKey | None = None
        key_arn = props.kms_key_arn
        if key_arn is None:
            self.key = KmsKey(
                self,
                "key",
                description=f"ECR repository {name}: image layers",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                # ECR uses the key through grants it creates with the pusher's permissions.
                policy=policy_document(
                    account_administers_key(partition=props.partition, account_id=props.account_id)
                ),
                tags=name_tag(f"{name}-ecr"),
            )
            KmsAlias(self, "key-alias", name=f"alias/ecr/{name}", target_key_id=self.key.key_id)
            key_arn = self.key.arn
        self.repository = EcrRepository(
            self,
            "repository",
            name=name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=EcrRepositoryImageScanningConfiguration(scan_on_push=True),
            encryption_configuration=[
                EcrRepositoryEncryptionConfiguration(encryption_type="KMS", kms_key=key_arn)
            ],
            # Releases are not deleted with the stack: destroy fails while images remain.
            force_delete=False,
            tags=name_tag(name),
        )
        self.url = self.repository.repository_url
        self.arn = self.repository.arn
        self.key_arn = key_arn
        EcrLifecyclePolicy(
            self,
            "lifecycle",
            repository=self.repository.name,
            policy=lifecycle_policy(
                keep_releases=props.keep_releases,
                untagged_expire_days=props.untagged_expire_days,
            ),
        )
        self.replication: EcrReplicationConfiguration | None = None
        if props.replication_regions:
            self.replication = EcrReplicationConfiguration(
                self,
                "replication",
                replication_configuration=EcrReplicationConfigurationReplicationConfiguration(
                    rule=[
                        EcrReplicationConfigurationReplicationConfigurationRule(
                            destination=[
                                EcrReplicationConfigurationReplicationConfigurationRuleDestination(
                                    region=region, registry_id=props.account_id
                                )
                                for region in props.replication_regions
                            ],
                            # Only this repository (the filter matches by name prefix).
                            repository_filter=[
                                EcrReplicationConfigurationReplicationConfigurationRuleRepositoryFilter(
                                    filter=name, filter_type="PREFIX_MATCH"
                                )
                            ],
                        )
                    ]
                ),
            )
