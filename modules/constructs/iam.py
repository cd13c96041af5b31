"""IAM roles granted permissions through intent methods, never policy JSON in stacks.

:class:`Role` creates a role with a trust policy and no permissions; each `grant_*` adds one
inline policy whose statement `Sid` names the intent, scoped to exactly the resources given.
Trust policies for AWS services are limited to this account (`aws:SourceAccount`), and to the
caller's resources when a `source_arn` pattern is given (confused-deputy protection).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cdktf import Fn, TerraformLocal, Token
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from modules.constructs.tags import name_tag

Statement = dict[str, Any]


def policy_document(*statements: Statement) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def account_principal(*, partition: str, account_id: str) -> str:
    """The account itself as a resource policy's principal: its IAM policies then decide."""
    return f"arn:{partition}:iam::{account_id}:root"


def account_administers_key(
    *, partition: str, account_id: str, sid: str = "AccountAdministers"
) -> Statement:
    """A KMS key policy's statement that lets the account's IAM policies decide who uses the key
    (without it the key is unmanageable)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": account_principal(partition=partition, account_id=account_id)},
        "Action": "kms:*",
        "Resource": "*",
    }


def service_trust_policy(service: str, *, account_id: str, source_arn: str | None = None) -> str:
    """Trust `service` (e.g. ecs-tasks.amazonaws.com) acting for this account only."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return policy_document(
        {
            "Sid": "TrustedService",
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": condition,
        }
    )


@dataclass(frozen=True, kw_only=True)
class RoleProps:
    name: str
    """Physical role name (naming.role_name keeps it unique per region)."""
    description: str
    trust_policy: str
    """Who may assume the role, e.g. from service_trust_policy()."""
    region: str
    """Where the granted resources live (for the Secrets Manager KMS condition)."""


class Role(Construct):
    """An IAM role with no permissions until its `grant_*` methods add them."""

    def __init__(self, scope: Construct, id: str, *, props: RoleProps) -> None:
        super().__init__(scope, id)
        self._region = props.region
        self.role = IamRole(
            self,
            "role",
            name=props.name,
            description=props.description,
            assume_role_policy=props.trust_policy,
            max_session_duration=3600,
            tags=name_tag(props.name),
        )
        self.arn = self.role.arn
        self.name = self.role.name

    def _grant(self, policy_id: str, *statements: Statement) -> IamRolePolicy:
        return IamRolePolicy(
            self,
            policy_id,
            name=policy_id,
            role=self.role.id,
            policy=policy_document(*statements),
        )

    def grant_metering(self) -> IamRolePolicy:
        """AWS Marketplace container metering (these actions take no resource-level scope)."""
        return self._grant(
            "marketplace-metering",
            {
                "Sid": "MarketplaceMetering",
                "Effect": "Allow",
                "Action": ["aws-marketplace:MeterUsage", "aws-marketplace:RegisterUsage"],
                "Resource": "*",
            },
        )

    def grant_secret_read(
        self, policy_id: str, secret_arn: str, kms_key_arn: str | None = None
    ) -> IamRolePolicy:
        """Read exactly one secret; decrypt with its customer key only through Secrets Manager."""
        return self._grant(policy_id, *self._secret_statements("Secret", secret_arn, kms_key_arn))

    def grant_api_keys_read(self, secret_arn: str, kms_key_arn: str | None = None) -> IamRolePolicy:
        """Read exactly the secret of the callers' API keys (statements `ReadApiKeys`,
        `DecryptApiKeys`, told apart from the provider secret's)."""
        return self._grant(
            "api-keys-read", *self._secret_statements("ApiKeys", secret_arn, kms_key_arn)
        )

    def _secret_statements(
        self, what: str, secret_arn: str, kms_key_arn: str | None
    ) -> list[Statement]:
        statements: list[Statement] = [
            {
                "Sid": f"Read{what}",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": secret_arn,
            }
        ]
        if kms_key_arn is not None:
            statements.append(
                {
                    "Sid": f"Decrypt{what}",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": kms_key_arn,
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": f"secretsmanager.{self._region}.amazonaws.com"
                        }
                    },
                }
            )
        return statements

    def grant_ecr_pull(self, repository_arn: str) -> IamRolePolicy:
        """Pull images from one repository (the token call has no resource-level scope)."""
        return self._grant(
            "ecr-pull",
            {
                "Sid": "EcrToken",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "EcrPull",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": repository_arn,
            },
        )

    def grant_log_write(self, log_group_arn: str) -> IamRolePolicy:
        """Write log streams into one log group."""
        return self._grant(
            "log-write",
            {
                "Sid": "WriteLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn}:log-stream:*",
            },
        )

    def grant_flow_log_delivery(self, log_group_arn: str) -> IamRolePolicy:
        """The permissions AWS documents for a flow log role ("IAM role for publishing flow logs
        to CloudWatch Logs"), scoped to one log group. DescribeLogGroups is a list call that
        CloudWatch Logs authorizes on `log-group::log-stream:`, so it gets this account's and
        region's log groups (`log-group:*`, taken from the group's own ARN) and nothing else."""
        # A local: the expression's quoted arguments would break the policy's JSON string.
        log_groups = TerraformLocal(
            self,
            "flow-log-groups",
            f"{Fn.join(':', Token.as_list(Fn.slice(Fn.split(':', log_group_arn), 0, 6)))}:*",
        )
        return self._grant(
            "flow-log-delivery",
            {
                "Sid": "DeliverFlowLogs",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogStreams",
                ],
                "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
            },
            {
                "Sid": "FindFlowLogGroup",
                "Effect": "Allow",
                "Action": "logs:DescribeLogGroups",
                "Resource": log_groups.as_string,
            },
        )

    def grant_async_jobs(
        self,
        *,
        table_arn: str,
        queue_arn: str,
        dead_letter_queue_arn: str,
        bucket_arn: str,
        kms_key_arn: str,
    ) -> IamRolePolicy:
        """Run asynchronous jobs: items of one table, messages of one queue and its
        dead-letter queue, objects of one bucket, and their KMS key only through those three
        services. No deletes of items or objects (TTL and lifecycle expire them), no queue or
        table administration."""
        return self._grant(
            "async-jobs",
            {
                "Sid": "JobItems",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                ],
                "Resource": table_arn,
            },
            {
                "Sid": "JobQueue",
                "Effect": "Allow",
                "Action": [
                    "sqs:SendMessage",
                    "sqs:ReceiveMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                ],
                "Resource": queue_arn,
            },
            {
                "Sid": "DeadLetters",
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                "Resource": dead_letter_queue_arn,
            },
            {
                "Sid": "LargePayloads",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"{bucket_arn}/*",
            },
            {
                # What the three services ask of a customer key on the caller's behalf (DynamoDB
                # also encrypts and describes); through them only, never directly.
                "Sid": "JobsKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": kms_key_arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": [
                            f"{service}.{self._region}.amazonaws.com"
                            for service in ("dynamodb", "sqs", "s3")
                        ]
                    }
                },
            },
        )
