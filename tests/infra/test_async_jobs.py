"""Asynchronous jobs' infrastructure in the synthesized ECS and EKS stacks: the table, queues,
bucket and key, the endpoints that keep them off the internet, least-privilege grants, the
environment contract, backlog scaling; and none of it with `[async] enabled = false`.

AWS rules encoded here (documentation, not the emulator): DynamoDB and S3 are reached from
private subnets through gateway endpoints on the route tables, which a security group must
still allow by their prefix lists; SQS has no gateway endpoint, only an interface endpoint
(private DNS makes the regional hostname resolve to it); a KMS-encrypted SQS queue needs
kms:GenerateDataKey for senders and kms:Decrypt for receivers; Application Auto Scaling
tracks an SQS backlog per ECS task with metric math over ApproximateNumberOfMessagesVisible
(Sum) and Container Insights' RunningTaskCount (Average).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from modules.config import load_config, parse_config, resolve_config_path
from modules.stacks.eks import hypernym_values
from service.settings import Settings
from tests.infra.conftest import example, varied
from tests.infra.synthesized import Stack, actions
from tests.infra.test_config import VALID, merged, problems

ASYNC_VARIABLES = {
    "ASYNC_JOBS_TABLE",
    "ASYNC_QUEUE_URL",
    "ASYNC_DEAD_LETTER_QUEUE_URL",
    "ASYNC_RESULTS_BUCKET",
    "ASYNC_WORKER_CONCURRENCY",
    "ASYNC_VISIBILITY_TIMEOUT_SECONDS",
    "ASYNC_JOB_TTL_SECONDS",
    "RESULT_CACHE_TTL_SECONDS",
}


@pytest.fixture(scope="session")
def async_off(synth_config: Callable[..., Path]) -> Stack:
    config = varied(example("ecs-managed"), async_jobs={"enabled": False})
    return Stack.load(synth_config(config, "async-off"), "hypernym-ecs")


@pytest.fixture(scope="session")
def eks_cluster(synth_example: Callable[[str], Path]) -> Stack:
    return Stack.load(synth_example("eks-managed"), "hypernym-eks-eks-cluster")


def environment(stack: Stack) -> dict[str, str]:
    return {e["name"]: e["value"] for e in stack.container()["environment"]}


def test_the_table_is_on_demand_with_ttl_recovery_and_the_jobs_key(managed: Stack) -> None:
    table = managed.one("aws_dynamodb_table")
    key = managed.ref("aws_kms_key", "async-jobs", "arn")
    assert table["name"] == "hypernym-jobs"
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["hash_key"] == "pk"
    assert table["attribute"] == [{"name": "pk", "type": "S"}]
    assert table["ttl"] == {"attribute_name": "expires_at", "enabled": True}
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["server_side_encryption"] == {"enabled": True, "kms_key_arn": key}
    assert managed.one("aws_kms_key", "async-jobs")["enable_key_rotation"] is True


def test_the_queue_dead_letters_after_the_configured_receives_both_encrypted(
    managed: Stack,
) -> None:
    key = managed.ref("aws_kms_key", "async-jobs", "arn")
    queue = managed.one("aws_sqs_queue", "async-jobs_queue")
    dead_letters = managed.one("aws_sqs_queue", "dead-letter")
    assert queue["name"] == "hypernym-jobs"
    assert dead_letters["name"] == "hypernym-jobs-dlq"
    assert json.loads(queue["redrive_policy"]) == {
        "deadLetterTargetArn": managed.ref("aws_sqs_queue", "dead-letter", "arn"),
        "maxReceiveCount": 3,
    }
    assert queue["visibility_timeout_seconds"] == 60
    assert dead_letters["message_retention_seconds"] == 1_209_600  # the SQS maximum
    assert queue["kms_master_key_id"] == dead_letters["kms_master_key_id"] == key


def test_the_bucket_is_private_encrypted_and_expires_what_it_holds(managed: Stack) -> None:
    bucket = managed.ref("aws_s3_bucket", "async-jobs", "id")
    assert managed.one("aws_s3_bucket", "async-jobs")["bucket"] == (
        "hypernym-jobs-${data.aws_caller_identity.caller.account_id}-eu-west-1"
    )
    block = managed.one("aws_s3_bucket_public_access_block")
    assert block["bucket"] == bucket
    assert all(
        block[flag]
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )
    (rule,) = managed.one("aws_s3_bucket_server_side_encryption_configuration")["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": managed.ref("aws_kms_key", "async-jobs", "arn"),
    }
    (lifecycle,) = managed.one("aws_s3_bucket_lifecycle_configuration")["rule"]
    assert lifecycle["expiration"] == [{"days": 2}]  # one day past the 24 h TTLs
    assert lifecycle["noncurrent_version_expiration"] == [{"noncurrent_days": 1}]
    (deny,) = json.loads(managed.one("aws_s3_bucket_policy")["policy"])["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_dynamodb_and_sqs_are_reached_through_vpc_endpoints(managed: Stack) -> None:
    dynamodb = managed.one("aws_vpc_endpoint", "endpoint-dynamodb")
    assert dynamodb["service_name"] == "com.amazonaws.eu-west-1.dynamodb"
    assert dynamodb["vpc_endpoint_type"] == "Gateway"
    assert (
        dynamodb["route_table_ids"]
        == managed.one("aws_vpc_endpoint", "endpoint-s3")["route_table_ids"]
    )
    sqs = managed.one("aws_vpc_endpoint", "endpoint-sqs")
    assert sqs["service_name"] == "com.amazonaws.eu-west-1.sqs"
    assert sqs["vpc_endpoint_type"] == "Interface"
    assert sqs["private_dns_enabled"] is True
    # A gateway endpoint is a route, not an address: the tasks' group must allow its prefix list.
    to_dynamodb = managed.one("aws_vpc_security_group_egress_rule", "to-dynamodb")
    assert to_dynamodb["prefix_list_id"] == managed.ref(
        "aws_vpc_endpoint", "endpoint-dynamodb", "prefix_list_id"
    )
    assert (to_dynamodb["from_port"], to_dynamodb["to_port"]) == (443, 443)


def test_the_task_role_runs_jobs_on_exactly_these_resources(managed: Stack) -> None:
    statements = {s["Sid"]: s for s in managed.role_policies("task-role")}
    table = managed.ref("aws_dynamodb_table", "async-jobs", "arn")
    queue = managed.ref("aws_sqs_queue", "async-jobs_queue", "arn")
    dead_letters = managed.ref("aws_sqs_queue", "dead-letter", "arn")
    bucket = managed.ref("aws_s3_bucket", "async-jobs", "arn")
    key = managed.ref("aws_kms_key", "async-jobs", "arn")
    granted = {
        sid: (actions(statements[sid]), statements[sid]["Resource"])
        for sid in ("JobItems", "JobQueue", "DeadLetters", "LargePayloads", "JobsKey")
    }
    assert granted == {
        "JobItems": (
            {
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
            },
            table,
        ),
        "JobQueue": (
            {
                "sqs:SendMessage",
                "sqs:ReceiveMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
            },
            queue,
        ),
        "DeadLetters": ({"sqs:ReceiveMessage", "sqs:DeleteMessage"}, dead_letters),
        "LargePayloads": ({"s3:GetObject", "s3:PutObject"}, f"{bucket}/*"),
        "JobsKey": (
            {"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"},
            key,
        ),
    }
    assert statements["JobsKey"]["Condition"] == {
        "StringEquals": {
            "kms:ViaService": [
                "dynamodb.eu-west-1.amazonaws.com",
                "sqs.eu-west-1.amazonaws.com",
                "s3.eu-west-1.amazonaws.com",
            ]
        }
    }
    assert not any("*" in a for s in statements.values() for a in actions(s) if "Job" in s["Sid"])


def test_the_container_gets_the_names_the_service_reads(managed: Stack) -> None:
    env = environment(managed)
    assert set(env) >= ASYNC_VARIABLES
    assert env["ASYNC_JOBS_TABLE"] == managed.ref("aws_dynamodb_table", "async-jobs", "name")
    assert env["ASYNC_QUEUE_URL"] == managed.ref("aws_sqs_queue", "async-jobs_queue", "url")
    assert env["ASYNC_DEAD_LETTER_QUEUE_URL"] == managed.ref("aws_sqs_queue", "dead-letter", "url")
    assert env["ASYNC_RESULTS_BUCKET"] == managed.ref("aws_s3_bucket", "async-jobs", "bucket")
    # The service accepts exactly this environment (references stand in for the names).
    settings = Settings.from_env({**env, "MANAGED_API_URL": "http://gateway"})
    assert settings.jobs.enabled
    assert settings.jobs.result_cache_ttl_seconds == 86_400


def test_ecs_scales_on_the_backlog_per_task_too(managed: Stack) -> None:
    policy = managed.one("aws_appautoscaling_policy", "backlog")
    (tracking,) = [policy["target_tracking_scaling_policy_configuration"]]
    assert tracking["target_value"] == 8
    metrics = {m["id"]: m for m in tracking["customized_metric_specification"]["metrics"]}
    messages = metrics["messages"]["metric_stat"]
    assert messages["metric"]["namespace"] == "AWS/SQS"
    assert messages["metric"]["metric_name"] == "ApproximateNumberOfMessagesVisible"
    assert messages["metric"]["dimensions"] == [
        {"name": "QueueName", "value": managed.ref("aws_sqs_queue", "async-jobs_queue", "name")}
    ]
    assert messages["stat"] == "Sum"
    tasks = metrics["tasks"]["metric_stat"]
    assert (tasks["metric"]["namespace"], tasks["metric"]["metric_name"]) == (
        "ECS/ContainerInsights",
        "RunningTaskCount",
    )
    assert tasks["stat"] == "Average"
    assert metrics["backlog_per_task"]["expression"] == "messages / tasks"
    assert [m["id"] for m in metrics.values() if m["return_data"]] == ["backlog_per_task"]
    # RunningTaskCount exists only with Container Insights.
    (setting,) = managed.one("aws_ecs_cluster")["setting"]
    assert setting == {"name": "containerInsights", "value": "enabled"}


def test_async_off_creates_nothing_and_passes_nothing(async_off: Stack) -> None:
    for kind in (
        "aws_dynamodb_table",
        "aws_sqs_queue",
        "aws_s3_bucket",
        "aws_s3_bucket_policy",
    ):
        assert async_off.resources(kind) == {}, kind
    # The alarm topic's key stays: it is the monitoring's, not the jobs'.
    assert [k for k in async_off.resources("aws_kms_key") if "async" in k] == []
    endpoints = {e["service_name"] for e in async_off.resources("aws_vpc_endpoint").values()}
    assert not endpoints & {"com.amazonaws.eu-west-1.dynamodb", "com.amazonaws.eu-west-1.sqs"}
    assert not set(environment(async_off)) & ASYNC_VARIABLES
    assert not [s for s in async_off.role_policies("task-role") if s["Sid"].startswith("Job")]
    assert [p["name"] for p in async_off.resources("aws_appautoscaling_policy").values()] == [
        "hypernym-cpu",
        "hypernym-memory",
    ]


def test_eks_gives_the_app_role_the_same_grants_and_the_chart_the_same_names(
    eks_cluster: Stack, synth_example: Callable[[str], Path]
) -> None:
    statements = {s["Sid"]: s for s in eks_cluster.role_policies("addons_app")}
    assert {"JobItems", "JobQueue", "DeadLetters", "LargePayloads", "JobsKey"} <= set(statements)
    assert eks_cluster.one("aws_vpc_endpoint", "endpoint-dynamodb")["vpc_endpoint_type"] == (
        "Gateway"
    )
    assert eks_cluster.one("aws_vpc_endpoint", "endpoint-sqs")["private_dns_enabled"] is True
    apps = Stack.load(synth_example("eks-managed"), "hypernym-eks-eks-apps")
    (release,) = [r for r in apps.resources("helm_release").values() if r["name"] == "hypernym"]
    env = yaml.safe_load(release["values"][0])["env"]
    assert set(env) >= ASYNC_VARIABLES
    # The cluster stack's queue, read through its remote state.
    assert "terraform_remote_state" in env["ASYNC_QUEUE_URL"]
    assert "aws_sqs_queueasync-jobs_queue" in env["ASYNC_QUEUE_URL"]
    config = load_config(resolve_config_path("eks-managed"))
    off = varied(config, async_jobs={"enabled": False})
    assert not set(
        hypernym_values(off, role_arn="r", vpc_cidr="10.0.0.0/16", account_id="123456789012")["env"]
    ) & (ASYNC_VARIABLES)


def test_the_async_section_is_read_from_toml_and_checked() -> None:
    off = parse_config(merged(VALID, {"async": {"enabled": False}}), source="t.toml")
    assert off.async_jobs.enabled is False
    assert parse_config(VALID, source="t.toml").async_jobs.enabled is True
    assert sorted(
        problems(**{"async": {"max_receive_count": 0, "visibility_timeout_seconds": 50_000}})
    ) == [
        "test.toml: `async.max_receive_count` = 0 is out of range; use 1 to 1000",
        "test.toml: `async.visibility_timeout_seconds` = 50000 is out of range; use 2 to 43200",
    ]
    (unknown,) = problems(**{"async": {"workers": 2}})
    assert unknown.startswith("test.toml: unknown key `async.workers`; known keys here: ")
