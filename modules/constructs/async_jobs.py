"""The shared state of asynchronous analysis: jobs and cached results in DynamoDB, job ids on
SQS with a dead-letter queue, large payloads in S3, all under one customer-managed KMS key.

Secure by default: the table is on-demand with point-in-time recovery and a TTL attribute; both
queues are KMS-encrypted, the dead-letter queue keeps messages for the SQS maximum of 14 days;
the bucket is private (public access blocked, owner-enforced, TLS only), KMS-encrypted with
bucket keys, versioned, and every object (and noncurrent version) expires after the retention.
Nothing here grants access: roles get it through `Role.grant_async_jobs` with these ARNs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
    DynamodbTableTtl,
)
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct

from modules.constructs.iam import account_administers_key, policy_document
from modules.constructs.tags import name_tag

TTL_ATTRIBUTE = "expires_at"
"""The item attribute DynamoDB's TTL deletes by (epoch seconds; the service writes it)."""
PARTITION_KEY = "pk"
SQS_MAX_RETENTION_SECONDS = 1_209_600
"""14 days, the SQS maximum: a dead-lettered job can be inspected (or redriven) that long."""


@dataclass(frozen=True, kw_only=True)
class AsyncJobsProps:
    name: str
    """The table's and the queue's name (naming.jobs_name), `-dlq` added for the dead-letter
    queue, `alias/` before it for the key."""
    account_id: str
    partition: str
    region: str
    bucket_name: str
    """Globally unique (naming.jobs_bucket_name)."""
    visibility_timeout_seconds: int
    """The queue's default; the worker sets its own on every receive and extends it."""
    max_receive_count: int
    """Receives before a message moves to the dead-letter queue."""
    retention_days: int
    """S3 objects expire after this (at least the longest job or cache TTL)."""
    message_retention_seconds: int = 345_600
    """Main queue: 4 days (the SQS default); a job not started by then is long expired."""


class AsyncJobs(Construct):
    """Exposes `key`, `table`, `queue`, `dead_letter_queue`, `bucket` and their ARNs/names."""

    def __init__(self, scope: Construct, id: str, *, props: AsyncJobsProps) -> None:
        super().__init__(scope, id)
        name = props.name
        self.key = KmsKey(
            self,
            "key",
            description=f"{name}: asynchronous jobs, results and their queues",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            # IAM policies (the task and IRSA roles' grants) decide who uses the key.
            policy=policy_document(
                account_administers_key(partition=props.partition, account_id=props.account_id)
            ),
            tags=name_tag(name),
        )
        KmsAlias(self, "key-alias", name=f"alias/{name}", target_key_id=self.key.key_id)
        self.table = DynamodbTable(
            self,
            "table",
            name=name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=PARTITION_KEY,
            attribute=[DynamodbTableAttribute(name=PARTITION_KEY, type="S")],
            ttl=DynamodbTableTtl(attribute_name=TTL_ATTRIBUTE, enabled=True),
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(
                enabled=True, kms_key_arn=self.key.arn
            ),
            deletion_protection_enabled=False,
            tags=name_tag(name),
        )
        self.dead_letter_queue = SqsQueue(
            self,
            "dead-letter-queue",
            name=f"{name}-dlq",
            message_retention_seconds=SQS_MAX_RETENTION_SECONDS,
            kms_master_key_id=self.key.arn,
            kms_data_key_reuse_period_seconds=300,
            tags=name_tag(f"{name}-dlq"),
        )
        self.queue = SqsQueue(
            self,
            "queue",
            name=name,
            visibility_timeout_seconds=props.visibility_timeout_seconds,
            message_retention_seconds=props.message_retention_seconds,
            receive_wait_time_seconds=20,
            kms_master_key_id=self.key.arn,
            kms_data_key_reuse_period_seconds=300,
            redrive_policy=json.dumps(
                {
                    "deadLetterTargetArn": self.dead_letter_queue.arn,
                    "maxReceiveCount": props.max_receive_count,
                }
            ),
            tags=name_tag(name),
        )
        self._create_bucket(props)

    def _create_bucket(self, props: AsyncJobsProps) -> None:
        self.bucket = S3Bucket(
            self, "bucket", bucket=props.bucket_name, tags=name_tag(props.bucket_name)
        )
        bucket_id = self.bucket.id
        S3BucketPublicAccessBlock(
            self,
            "bucket-public-access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self,
            "bucket-ownership",
            bucket=bucket_id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "bucket-encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=(
                        S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                            sse_algorithm="aws:kms", kms_master_key_id=self.key.arn
                        )
                    ),
                    bucket_key_enabled=True,
                )
            ],
        )
        S3BucketVersioningA(
            self,
            "bucket-versioning",
            bucket=bucket_id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        S3BucketLifecycleConfiguration(
            self,
            "bucket-lifecycle",
            bucket=bucket_id,
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id="expire-job-payloads",
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    expiration=[
                        S3BucketLifecycleConfigurationRuleExpiration(days=props.retention_days)
                    ],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=1
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=1
                        )
                    ],
                )
            ],
        )
        S3BucketPolicy(
            self,
            "bucket-policy",
            bucket=bucket_id,
            policy=policy_document(
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [self.bucket.arn, f"{self.bucket.arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ),
        )
