"""The Fargate service, its task definition, load balancer and autoscaling, as synthesized."""

from __future__ import annotations

import json

from service.contract import HEALTH_PATH, HEALTHCHECK_COMMAND, READY_PATH
from service.healthcheck import health_url
from tests.infra.conftest import CERTIFICATE
from tests.infra.synthesized import Stack
from tests.production.test_dockerfile import RUNTIME, of

# --- cluster and task definition ----------------------------------------------------------------


def test_cluster_has_container_insights(managed: Stack) -> None:
    assert managed.one("aws_ecs_cluster")["setting"] == [
        {"name": "containerInsights", "value": "enabled"}
    ]


def test_every_bind_mount_is_an_image_volume_owned_by_the_container_user(managed: Stack) -> None:
    # Fargate creates a bind mount root-owned, mode 0755, unless the image declares its path a
    # VOLUME; then it copies the image directory's owner and mode (ECS "Use bind mounts").
    container = managed.container()
    declared = {path for v in of(RUNTIME, "VOLUME") for path in json.loads(v.arguments)}
    runs = " && ".join(i.arguments for i in of(RUNTIME, "RUN"))
    for mount in container["mountPoints"]:
        path = mount["containerPath"]
        assert path in declared, f"{path}: the Dockerfile's runtime stage lacks VOLUME [{path!r}]"
        user = container["user"]
        assert f"chown {user}:{user} {path}" in runs, f"{path} is not owned by uid {user}"


def test_task_is_fargate_awsvpc_with_the_default_size(managed: Stack) -> None:
    task = managed.one("aws_ecs_task_definition")
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["network_mode"] == "awsvpc"
    assert (task["cpu"], task["memory"]) == ("512", "1024")


def test_container_runs_as_user_1000(managed: Stack) -> None:
    assert managed.container()["user"] == "1000"


def test_container_root_filesystem_is_read_only_with_a_writable_tmp(managed: Stack) -> None:
    container = managed.container()
    assert container["readonlyRootFilesystem"] is True
    assert container["mountPoints"] == [
        {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}
    ]
    assert managed.one("aws_ecs_task_definition")["volume"] == [{"name": "tmp"}]


def test_container_cannot_escalate_privileges(managed: Stack) -> None:
    container = managed.container()
    assert container["linuxParameters"]["capabilities"] == {"drop": ["ALL"]}
    assert "add" not in container["linuxParameters"]["capabilities"]
    assert container.get("privileged") is not True


def test_container_health_check_needs_no_shell_or_curl(managed: Stack) -> None:
    check = managed.container()["healthCheck"]
    assert check["command"] == ["CMD", "python", "-m", "service.healthcheck"]
    assert "CMD-SHELL" not in check["command"]
    assert not any("curl" in part for part in check["command"])


def test_container_logs_to_its_ecs_log_group_kept_30_days(managed: Stack) -> None:
    options = managed.container()["logConfiguration"]
    group = managed.one("aws_cloudwatch_log_group", "service_logs")
    assert options["logDriver"] == "awslogs"
    assert options["options"]["awslogs-group"] == managed.ref(
        "aws_cloudwatch_log_group", "service_logs", "name"
    )
    assert (group["name"], group["retention_in_days"]) == ("/ecs/hypernym", 30)
    assert "kms_key_id" not in group


def test_log_group_uses_the_configured_kms_key(per_az_nat_with_kms: Stack) -> None:
    group = per_az_nat_with_kms.one("aws_cloudwatch_log_group", "service_logs")
    assert group["kms_key_id"].startswith("arn:aws:kms:eu-west-1:")


def test_stop_timeout_gives_requests_time_to_drain(managed: Stack) -> None:
    assert managed.container()["stopTimeout"] == 120


COMMON_ENVIRONMENT = {
    "API_KEYS_SECRET_ARN": (
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hypernym/api-keys-AbCdEf"
    ),
    "AWS_REGION": "eu-west-1",
    "ENVIRONMENT": "production",
    "KEEP_ALIVE_SECONDS": "130",
    "LOG_LEVEL": "info",
    "MARKETPLACE_PRODUCT_CODE": "hypernym-api-product-code",
    "METERING": "register",
    "PORT": "8000",
    "WORKERS": "1",
}


def jobs_environment(stack: Stack) -> dict[str, str]:
    """The asynchronous jobs' variables with the [async] defaults (test_async_jobs.py)."""
    return {
        "ASYNC_JOBS_TABLE": stack.ref("aws_dynamodb_table", "async-jobs", "name"),
        "ASYNC_QUEUE_URL": stack.ref("aws_sqs_queue", "async-jobs_queue", "url"),
        "ASYNC_DEAD_LETTER_QUEUE_URL": stack.ref("aws_sqs_queue", "dead-letter", "url"),
        "ASYNC_RESULTS_BUCKET": stack.ref("aws_s3_bucket", "async-jobs", "bucket"),
        "ASYNC_WORKER_CONCURRENCY": "4",
        "ASYNC_VISIBILITY_TIMEOUT_SECONDS": "60",
        "ASYNC_JOB_TTL_SECONDS": "86400",
        "RESULT_CACHE_TTL_SECONDS": "86400",
    }


def test_container_environment_is_what_the_example_files_say(managed: Stack, byop: Stack) -> None:
    # Written out from deployments/ecs-*.toml, so the contract code is not its own oracle.
    assert {e["name"]: e["value"] for e in managed.container()["environment"]} == {
        **COMMON_ENVIRONMENT,
        **jobs_environment(managed),
        "DEPLOYMENT_NAME": "hypernym",
        "INFERENCE_PROVIDER_MODE": "managed",
        "MANAGED_API_URL": "http://llm-gateway.internal:4000/v1",
        "MANAGED_API_KEY_SECRET_ARN": (
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hypernym/gateway-token-AbCdEf"
        ),
    }
    assert {e["name"]: e["value"] for e in byop.container()["environment"]} == {
        **COMMON_ENVIRONMENT,
        **jobs_environment(byop),
        "DEPLOYMENT_NAME": "hypernym-byop",
        "INFERENCE_PROVIDER_MODE": "byop",
        "BYOP_SECRET_ARN": (
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hypernym/byop-provider-AbCdEf"
        ),
    }


def test_service_keep_alive_outlasts_the_load_balancer_idle_timeout(managed: Stack) -> None:
    environment = {e["name"]: e["value"] for e in managed.container()["environment"]}
    assert int(environment["KEEP_ALIVE_SECONDS"]) > managed.one("aws_lb")["idle_timeout"]


def test_managed_environment_names_the_gateway_not_a_secret(managed: Stack) -> None:
    environment = {e["name"]: e["value"] for e in managed.container()["environment"]}
    assert environment["INFERENCE_PROVIDER_MODE"] == "managed"
    assert environment["MANAGED_API_URL"] == "http://llm-gateway.internal:4000/v1"
    assert "BYOP_SECRET_ARN" not in environment
    assert "MANAGED_API_KEY" not in environment


def test_managed_passes_the_gateway_token_arn_for_the_service_to_read(managed: Stack) -> None:
    container = managed.container()
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment["MANAGED_API_KEY_SECRET_ARN"] == (
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hypernym/gateway-token-AbCdEf"
    )
    # Read at run time by the task role, not injected at start: rotation needs no redeploy.
    assert "secrets" not in container


def test_tokenless_managed_passes_no_token_arn(tokenless_managed: Stack) -> None:
    environment = {e["name"] for e in tokenless_managed.container()["environment"]}
    assert "MANAGED_API_KEY_SECRET_ARN" not in environment


def test_open_access_passes_no_api_keys_secret(tokenless_managed: Stack) -> None:
    environment = {e["name"] for e in tokenless_managed.container()["environment"]}
    assert "API_KEYS_SECRET_ARN" not in environment


def test_byop_passes_the_secret_arn_for_the_service_to_read(byop: Stack) -> None:
    container = byop.container()
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment["INFERENCE_PROVIDER_MODE"] == "byop"
    assert environment["BYOP_SECRET_ARN"].startswith("arn:aws:secretsmanager:eu-west-1:")
    assert (
        "secrets" not in container
    )  # read at run time by the task role, so rotation needs no redeploy
    assert "MANAGED_API_URL" not in environment


# --- service ------------------------------------------------------------------------------------


def test_service_runs_two_fargate_tasks_in_private_subnets_without_public_ips(
    managed: Stack,
) -> None:
    service = managed.one("aws_ecs_service")
    assert (service["launch_type"], service["desired_count"]) == ("FARGATE", 2)
    network = service["network_configuration"]
    assert network["assign_public_ip"] is False
    assert sorted(network["subnets"]) == sorted(
        managed.ref("aws_subnet", f"private-{i}_") for i in (1, 2)
    )
    assert network["security_groups"] == [
        managed.ref("aws_security_group", "security-groups_tasks")
    ]


def test_service_spreads_over_zones(managed: Stack) -> None:
    assert managed.one("aws_ecs_service")["availability_zone_rebalancing"] == "ENABLED"


def test_failed_deployments_roll_back(managed: Stack) -> None:
    service = managed.one("aws_ecs_service")
    assert service["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
    assert service["deployment_minimum_healthy_percent"] == 100


def test_new_tasks_get_a_health_check_grace_period(managed: Stack) -> None:
    assert managed.one("aws_ecs_service")["health_check_grace_period_seconds"] == 60


def test_desired_count_is_left_to_autoscaling_after_creation(managed: Stack) -> None:
    assert managed.one("aws_ecs_service")["lifecycle"] == {"ignore_changes": ["desired_count"]}


def test_service_waits_for_the_listener(managed: Stack) -> None:
    service = managed.one("aws_ecs_service")
    listener = managed.ref("aws_lb_listener", "http").removeprefix("${").removesuffix(".id}")
    assert service["depends_on"] == [listener]
    assert service["load_balancer"] == [
        {
            "container_name": "hypernym-api",
            "container_port": 8000,
            "target_group_arn": managed.ref("aws_lb_target_group", "", "arn"),
        }
    ]


# --- load balancer ------------------------------------------------------------------------------


def test_load_balancer_is_internal_in_the_private_subnets(managed: Stack) -> None:
    alb = managed.one("aws_lb")
    assert (alb["internal"], alb["load_balancer_type"], alb["name"]) == (
        True,
        "application",
        "hypernym-alb",
    )
    assert sorted(alb["subnets"]) == sorted(
        managed.ref("aws_subnet", f"private-{i}_") for i in (1, 2)
    )


def test_load_balancer_drops_invalid_headers_and_is_protected(managed: Stack) -> None:
    alb = managed.one("aws_lb")
    assert alb["drop_invalid_header_fields"] is True
    assert alb["enable_deletion_protection"] is True


def test_load_balancer_idle_timeout_outlasts_llm_calls(managed: Stack) -> None:
    assert managed.one("aws_lb")["idle_timeout"] == 120


def test_target_group_checks_readiness_while_the_container_check_stays_liveness(
    managed: Stack,
) -> None:
    # GIVEN the ECS stack; THEN the load balancer keeps a task in rotation only while it is
    # ready (wrong secret, refused RegisterUsage, draining: out), every 30 s ...
    group = managed.one("aws_lb_target_group")
    assert (group["target_type"], group["port"], group["protocol"]) == ("ip", 8000, "HTTP")
    check = group["health_check"]
    assert (check["path"], check["interval"], check["timeout"]) == (READY_PATH, 30, 5)
    # ... while ECS replaces a task only when the process itself stops answering.
    assert managed.container()["healthCheck"]["command"][1:] == list(HEALTHCHECK_COMMAND)
    assert HEALTH_PATH in health_url({})
    assert (check["healthy_threshold"], check["unhealthy_threshold"], check["matcher"]) == (
        2,
        3,
        "200",
    )


def test_deregistration_delay_lets_requests_drain(managed: Stack) -> None:
    assert managed.one("aws_lb_target_group")["deregistration_delay"] == "120"


def test_http_listener_forwards_on_port_80(managed: Stack) -> None:
    (listener,) = managed.resources("aws_lb_listener").values()
    assert (listener["port"], listener["protocol"]) == (80, "HTTP")
    assert listener["default_action"] == [
        {"type": "forward", "target_group_arn": managed.ref("aws_lb_target_group", "", "arn")}
    ]


def test_https_listener_uses_the_certificate_and_tls_12_or_later(https: Stack) -> None:
    listener = https.one("aws_lb_listener", "https")
    assert (listener["port"], listener["protocol"]) == (443, "HTTPS")
    assert listener["certificate_arn"] == CERTIFICATE
    assert listener["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert listener["default_action"][0]["type"] == "forward"


def test_https_mode_redirects_http_to_https(https: Stack) -> None:
    redirect = https.one("aws_lb_listener", "http-redirect")
    assert (redirect["port"], redirect["protocol"]) == (80, "HTTP")
    assert redirect["default_action"] == [
        {
            "type": "redirect",
            "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"},
        }
    ]
    assert not any(a["type"] == "forward" for a in redirect["default_action"])


# --- autoscaling --------------------------------------------------------------------------------


def test_autoscaling_keeps_between_2_and_10_tasks(managed: Stack) -> None:
    target = managed.one("aws_appautoscaling_target")
    assert (target["min_capacity"], target["max_capacity"]) == (2, 10)
    assert target["scalable_dimension"] == "ecs:service:DesiredCount"


def test_autoscaling_tracks_cpu_70_and_memory_80_percent(managed: Stack) -> None:
    tracked = {}
    for policy in managed.resources("aws_appautoscaling_policy").values():
        config = policy["target_tracking_scaling_policy_configuration"]
        if "predefined_metric_specification" not in config:
            continue  # the job backlog per task (test_async_jobs.py)
        tracked[config["predefined_metric_specification"]["predefined_metric_type"]] = (
            config["target_value"],
            config["scale_out_cooldown"],
            config["scale_in_cooldown"],
        )
    assert tracked == {
        "ECSServiceAverageCPUUtilization": (70, 30, 300),
        "ECSServiceAverageMemoryUtilization": (80, 30, 300),
    }
