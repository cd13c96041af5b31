"""IAM, least privilege: what each role may do, on what, and who may assume it."""

from __future__ import annotations

import json

from tests.infra.conftest import API_KEYS_KMS_KEY, KMS_KEY
from tests.infra.synthesized import Stack, actions

GATEWAY_KEY_ARN = (
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hypernym/gateway-token-AbCdEf"
)
PROVIDER_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hypernym/byop-provider-AbCdEf"
API_KEYS_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hypernym/api-keys-AbCdEf"


JOB_SIDS = {"JobItems", "JobQueue", "DeadLetters", "LargePayloads", "JobsKey"}
"""The asynchronous jobs' grant (tests/infra/test_async_jobs.py); left out here."""


def without_jobs(statements: list[dict[str, object]]) -> list[dict[str, object]]:
    return [s for s in statements if s["Sid"] not in JOB_SIDS]


def granted(stack: Stack, role_part: str) -> dict[str, tuple[set[str], object]]:
    """Sid -> (actions, resource) of the role's statements, all of them Allow."""
    statements = without_jobs(stack.role_policies(role_part))
    assert all(s["Effect"] == "Allow" for s in statements)
    return {s["Sid"]: (actions(s), s["Resource"]) for s in statements}


def test_execution_role_pulls_from_one_repository_and_writes_one_log_group(
    managed: Stack,
) -> None:
    # Nothing more, though the deployment has a gateway token: the service reads it itself.
    log_group = managed.ref("aws_cloudwatch_log_group", "service_logs", "arn")
    assert granted(managed, "execution-role") == {
        "EcrToken": ({"ecr:GetAuthorizationToken"}, "*"),
        "EcrPull": (
            {"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"},
            "arn:${data.aws_partition.partition.partition}:ecr:eu-west-1:123456789012:repository/hypernym-api",
        ),
        "WriteLogs": ({"logs:CreateLogStream", "logs:PutLogEvents"}, f"{log_group}:log-stream:*"),
    }


def test_managed_task_role_meters_usage_and_reads_exactly_the_gateway_token_and_api_keys(
    managed: Stack,
) -> None:
    assert granted(managed, "task-role") == {
        "MarketplaceMetering": (
            {"aws-marketplace:MeterUsage", "aws-marketplace:RegisterUsage"},
            "*",
        ),
        "ReadSecret": ({"secretsmanager:GetSecretValue"}, GATEWAY_KEY_ARN),
        "ReadApiKeys": ({"secretsmanager:GetSecretValue"}, API_KEYS_ARN),
    }


def test_task_role_has_no_metering_when_metering_is_off(tokenless_managed: Stack) -> None:
    assert without_jobs(tokenless_managed.role_policies("task-role")) == []


def test_api_keys_are_decrypted_with_their_own_key_only_through_secrets_manager(
    per_az_nat_with_kms: Stack,
) -> None:
    (decrypt,) = [
        s for s in per_az_nat_with_kms.role_policies("task-role") if s["Sid"] == "DecryptApiKeys"
    ]
    assert (decrypt["Action"], decrypt["Resource"]) == ("kms:Decrypt", API_KEYS_KMS_KEY)
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
    }


def test_byop_task_role_reads_exactly_the_provider_secret(byop: Stack) -> None:
    grants = granted(byop, "task-role")
    assert grants["ReadSecret"] == ({"secretsmanager:GetSecretValue"}, PROVIDER_ARN)
    assert "ReadSecret" not in granted(byop, "execution-role")


def test_kms_decrypt_of_the_secret_only_through_secrets_manager(per_az_nat_with_kms: Stack) -> None:
    (decrypt,) = [
        s for s in per_az_nat_with_kms.role_policies("task-role") if s["Sid"] == "DecryptSecret"
    ]
    assert (decrypt["Action"], decrypt["Resource"]) == ("kms:Decrypt", KMS_KEY)
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
    }


def test_no_kms_permission_without_a_customer_key(byop: Stack) -> None:
    assert not any(
        "kms:Decrypt" in actions(s) for s in without_jobs(byop.role_policies("task-role"))
    )


def test_no_role_gets_wildcard_actions_or_managed_policies(managed: Stack, byop: Stack) -> None:
    for stack in (managed, byop):
        assert stack.resources("aws_iam_role_policy_attachment") == {}
        for role in ("execution-role", "task-role", "flow-logs-role"):
            for statement in stack.role_policies(role):
                assert not any(a == "*" or a.endswith(":*") for a in actions(statement)), statement


def test_ecs_roles_trust_only_ecs_tasks_of_this_account(managed: Stack) -> None:
    for role in ("execution-role", "task-role"):
        (statement,) = json.loads(managed.one("aws_iam_role", role)["assume_role_policy"])[
            "Statement"
        ]
        assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert statement["Action"] == "sts:AssumeRole"
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": "${data.aws_caller_identity.caller.account_id}"},
            "ArnLike": {
                "aws:SourceArn": "arn:${data.aws_partition.partition.partition}:ecs:eu-west-1:"
                "${data.aws_caller_identity.caller.account_id}:*"
            },
        }


def test_role_names_are_unique_per_region(managed: Stack) -> None:
    names = sorted(r["name"] for r in managed.resources("aws_iam_role").values())
    assert names == [
        "hypernym-ecs-execution-eu-west-1",
        "hypernym-ecs-task-eu-west-1",
        "hypernym-vpc-flow-logs-eu-west-1",
    ]


FLOW_LOG_ACTIONS = {
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
}
"""The permissions AWS documents for a flow log role (VPC User Guide, "IAM role for publishing
flow logs to CloudWatch Logs"): without one of them delivery fails with an access error."""


def test_flow_log_role_is_the_one_aws_documents(managed: Stack) -> None:
    # GIVEN a new VPC with flow logs; THEN only VPC Flow Logs acting for this account's flow
    # logs may assume the role (confused-deputy conditions, as the VPC User Guide recommends) ...
    (trust,) = json.loads(managed.one("aws_iam_role", "flow-logs-role")["assume_role_policy"])[
        "Statement"
    ]
    account = "${data.aws_caller_identity.caller.account_id}"
    assert (trust["Principal"], trust["Action"]) == (
        {"Service": "vpc-flow-logs.amazonaws.com"},
        "sts:AssumeRole",
    )
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {
            "aws:SourceArn": f"arn:${{data.aws_partition.partition.partition}}:ec2:eu-west-1:"
            f"{account}:vpc-flow-log/*"
        },
    }
    # ... and it holds exactly the documented actions, on the flow log group (its streams) and,
    # for the DescribeLogGroups list call, this account's log groups in the region, never "*".
    statements = managed.role_policies("flow-logs-role")
    assert set().union(*map(actions, statements)) == FLOW_LOG_ACTIONS
    group = managed.ref("aws_cloudwatch_log_group", "flow-logs", "arn")
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["DeliverFlowLogs"]["Resource"] == [group, f"{group}:log-stream:*"]
    (local,) = [name for name in managed.document["locals"] if "flow-log-groups" in name]
    assert by_sid["FindFlowLogGroup"]["Resource"] == f"${{local.{local}}}"
    group_ref = group.removeprefix("${").removesuffix("}")
    assert managed.document["locals"][local] == (
        f'${{join(":", slice(split(":", {group_ref}), 0, 6))}}:*'
    )
