"""The Hypernym chart, rendered by the real helm binary and checked by what a cluster would check.

`example_values` (conftest) are the values the apps stack passes for each EKS example.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from modules.cli.checkov import run_checkov
from modules.config import parse_config
from modules.constructs.alb import LoadBalancerProps
from modules.stacks.eks import (
    CHART_PATH,
    HelmValuesError,
    hypernym_values,
    load_static_values,
    overlay,
)
from service.contract import (
    DRAIN_TIMEOUT_SECONDS,
    HEALTH_PATH,
    KEEP_ALIVE_SECONDS,
    READY_PATH,
    SHUTDOWN_AFTER_DRAIN_SECONDS,
    AsyncJobsEnvironment,
    ContainerEnvironment,
    container_environment,
)

from .helm import HelmError, lint, one, render, render_notes, render_text, strict_schema_problems


def container(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    return one(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def pod_spec(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    return one(manifests, "Deployment")["spec"]["template"]["spec"]


def annotations_of(manifests: list[dict[str, Any]], kind: str) -> dict[str, str]:
    return one(manifests, kind)["metadata"]["annotations"]


# --- the acceptance gates, for both examples -------------------------------------------------


def test_helm_lint_is_clean(tmp_path: Path, example_values: dict, kube_version: str) -> None:
    output = lint(tmp_path, example_values, kube_version=kube_version)
    assert "0 chart(s) failed" in output
    assert "[WARNING]" not in output, output
    assert "[ERROR]" not in output, output


def test_rendered_manifests_pass_strict_kubernetes_schemas(
    tmp_path: Path, example_values: dict, kube_version: str
) -> None:
    manifests = render(tmp_path, example_values, kube_version=kube_version)
    assert strict_schema_problems(manifests, kube_version=kube_version) == []


def test_checkov_kubernetes_reports_no_failed_checks(
    tmp_path: Path, example_values: dict, kube_version: str
) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(render_text(tmp_path, example_values, kube_version=kube_version))
    (result,) = run_checkov(rendered, "kubernetes")
    assert result.failed == 0, "\n".join(result.failures)
    assert result.passed > 0


# --- values.schema.json ----------------------------------------------------------------------


def with_value(values: dict, path: str, value: object) -> dict:
    changed = copy.deepcopy(values)
    *parents, leaf = path.split(".")
    node = changed
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return changed


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        pytest.param(
            "autoscaling.maxReplicas", "ten", r"autoscaling\.maxReplicas", id="wrong-type"
        ),
        pytest.param(
            "replicaCount",
            -1,
            r"replicaCount: Must be greater than or equal to 0",
            id="negative-replica-count",
        ),
        pytest.param(
            "env.INFERENCE_PROVIDER_MODE",
            "openai",
            r"env\.INFERENCE_PROVIDER_MODE",
            id="unknown-mode",
        ),
        pytest.param("ingress.idleTimeout", 60, r"idleTimeout", id="unknown-key"),
        pytest.param("image.tag", "latest", r"image\.tag", id="latest-tag"),
    ],
)
def test_schema_rejects(  # noqa: PLR0917 - pytest passes parameters positionally
    tmp_path: Path, managed_values: dict, kube_version: str, path: str, value: object, error: str
) -> None:
    with pytest.raises(HelmError, match=error):
        render(tmp_path, with_value(managed_values, path, value), kube_version=kube_version)


def test_schema_rejects_byop_without_a_secret_arn(
    tmp_path: Path, byop_values: dict, kube_version: str
) -> None:
    bad = copy.deepcopy(byop_values)
    del bad["env"]["BYOP_SECRET_ARN"]
    with pytest.raises(HelmError, match=r"BYOP_SECRET_ARN"):
        render(tmp_path, bad, kube_version=kube_version)


def test_grace_period_must_cover_pre_stop_drain_and_shutdown(
    tmp_path: Path, managed_values: dict, kube_version: str
) -> None:
    sleep = managed_values["shutdown"]["preStopSleepSeconds"]
    enough = sleep + DRAIN_TIMEOUT_SECONDS + SHUTDOWN_AFTER_DRAIN_SECONDS
    render(
        tmp_path,
        with_value(managed_values, "shutdown.terminationGracePeriodSeconds", enough),
        kube_version=kube_version,
    )
    short = with_value(managed_values, "shutdown.terminationGracePeriodSeconds", enough - 1)
    with pytest.raises(
        HelmError,
        match=rf"terminationGracePeriodSeconds is {enough - 1}, it must be at least {enough}",
    ):
        render(tmp_path, short, kube_version=kube_version)


def test_alb_idle_timeout_must_stay_below_the_service_keep_alive(
    tmp_path: Path, managed_values: dict, kube_version: str
) -> None:
    render(
        tmp_path,
        with_value(managed_values, "ingress.idleTimeoutSeconds", KEEP_ALIVE_SECONDS - 1),
        kube_version=kube_version,
    )
    too_long = with_value(managed_values, "ingress.idleTimeoutSeconds", KEEP_ALIVE_SECONDS)
    with pytest.raises(HelmError, match=r"must be below KEEP_ALIVE_SECONDS"):
        render(tmp_path, too_long, kube_version=kube_version)


def test_helm_values_files_may_not_set_what_the_configuration_owns(tmp_path: Path) -> None:
    with pytest.raises(
        HelmValuesError, match=r"`env.LOG_LEVEL` comes from the deployment configuration"
    ):
        overlay(
            {"env": {"LOG_LEVEL": "debug"}},
            {"env": {"LOG_LEVEL": "info"}},
            source=tmp_path / "v.yaml",
        )


def test_an_unreadable_helm_values_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "values.yaml"
    path.write_text("resources: [unclosed\n")
    with pytest.raises(
        HelmValuesError, match=r"values\.yaml: cannot read the Helm values"
    ) as raised:
        load_static_values(path)
    assert "\n" not in str(raised.value)


# --- the environment contract ------------------------------------------------------------------


def test_container_env_is_exactly_the_contract_environment(
    tmp_path: Path, example_values: dict, kube_version: str
) -> None:
    manifests = render(tmp_path, example_values, kube_version=kube_version)
    rendered = {item["name"]: item["value"] for item in container(manifests)["env"]}
    assert rendered == example_values["env"]


def test_container_port_is_the_contract_port(
    tmp_path: Path, managed_values: dict, kube_version: str
) -> None:
    manifests = render(tmp_path, managed_values, kube_version=kube_version)
    (port,) = container(manifests)["ports"]
    assert str(port["containerPort"]) == managed_values["env"]["PORT"]


def test_schema_env_names_are_the_contract_names() -> None:
    schema = json.loads((CHART_PATH / "values.schema.json").read_text())
    every_name: set[str] = set()
    for mode in ("managed", "byop"):
        every_name |= set(
            container_environment(
                ContainerEnvironment(
                    environment="e",
                    region="eu-west-1",
                    provider_mode=mode,
                    deployment_name="d",
                    managed_api_url="http://x",
                    managed_model="m",
                    managed_api_key_secret_arn="arn",
                    byop_secret_arn="arn",
                    api_keys_secret_arn="arn",
                    marketplace_product_code="p",
                    metering_unit="requests",
                    metering_dimension="d",
                    marketplace_public_key_version=1,
                    secret_refresh_seconds=300,
                    max_in_flight=100,
                    drain_timeout_seconds=60,
                    keep_alive_seconds=130,
                    embedding_model="m",
                    embedding_dimensions=768,
                    max_input_chars=100_000,
                    open_access_tier="standard",
                    jobs=AsyncJobsEnvironment(
                        table="t",
                        queue_url="https://q",
                        dead_letter_queue_url="https://d",
                        bucket="b",
                        worker_concurrency=4,
                        visibility_timeout_seconds=60,
                        job_ttl_seconds=86_400,
                        result_cache_ttl_seconds=86_400,
                    ),
                )
            )
        )
    assert set(schema["properties"]["env"]["properties"]) == every_name


# --- the Deployment's security and lifecycle ----------------------------------------------


@pytest.fixture
def managed_manifests(
    tmp_path: Path, managed_values: dict, kube_version: str
) -> list[dict[str, Any]]:
    return render(tmp_path, managed_values, kube_version=kube_version)


def test_pods_run_as_user_1000(managed_manifests: list) -> None:
    security = pod_spec(managed_manifests)["securityContext"]
    assert (security["runAsUser"], security["runAsGroup"], security["runAsNonRoot"]) == (
        1000,
        1000,
        True,
    )


def test_root_filesystem_is_read_only_with_a_tmp_empty_dir(managed_manifests: list) -> None:
    assert container(managed_manifests)["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in container(managed_manifests)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(managed_manifests)["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_every_capability_is_dropped_and_escalation_is_off(managed_manifests: list) -> None:
    security = container(managed_manifests)["securityContext"]
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["allowPrivilegeEscalation"] is False


def test_seccomp_profile_is_runtime_default(managed_manifests: list) -> None:
    assert pod_spec(managed_manifests)["securityContext"]["seccompProfile"] == {
        "type": "RuntimeDefault"
    }


def test_no_kubernetes_api_token_is_mounted(managed_manifests: list) -> None:
    assert pod_spec(managed_manifests)["automountServiceAccountToken"] is False
    assert one(managed_manifests, "ServiceAccount")["automountServiceAccountToken"] is False


def test_liveness_is_health_and_readiness_is_ready(managed_manifests: list) -> None:
    probes = container(managed_manifests)
    assert probes["livenessProbe"]["httpGet"] == {"path": HEALTH_PATH, "port": "http"}
    assert probes["startupProbe"]["httpGet"] == {"path": HEALTH_PATH, "port": "http"}
    assert probes["readinessProbe"]["httpGet"] == {"path": READY_PATH, "port": "http"}


def test_pre_stop_sleep_lets_the_alb_deregister_within_the_grace_period(
    managed_manifests: list, managed_values: dict
) -> None:
    sleep = container(managed_manifests)["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod_spec(managed_manifests)["terminationGracePeriodSeconds"]
    assert sleep == managed_values["shutdown"]["preStopSleepSeconds"]
    assert sleep >= 10
    assert grace - sleep >= DRAIN_TIMEOUT_SECONDS + SHUTDOWN_AFTER_DRAIN_SECONDS


def test_rollouts_never_drop_below_the_desired_count(managed_manifests: list) -> None:
    strategy = one(managed_manifests, "Deployment")["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0


def test_rollouts_wait_until_the_alb_can_have_seen_new_pods_healthy(
    managed_manifests: list,
) -> None:
    # 30 s interval x 2 healthy checks
    assert one(managed_manifests, "Deployment")["spec"]["minReadySeconds"] == 60


def test_replicas_are_left_to_the_autoscaler(managed_manifests: list) -> None:
    assert "replicas" not in one(managed_manifests, "Deployment")["spec"]


def test_pods_spread_over_zones(managed_manifests: list) -> None:
    constraints = pod_spec(managed_manifests)["topologySpreadConstraints"]
    zone = [c for c in constraints if c["topologyKey"] == "topology.kubernetes.io/zone"]
    assert zone, constraints
    assert (zone[0]["maxSkew"], zone[0]["whenUnsatisfiable"]) == (1, "DoNotSchedule")


def test_service_account_carries_the_irsa_role(
    managed_manifests: list, managed_values: dict
) -> None:
    account = one(managed_manifests, "ServiceAccount")
    assert account["metadata"]["name"] == managed_values["serviceAccount"]["name"]
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": managed_values["serviceAccount"]["roleArn"]
    }
    assert pod_spec(managed_manifests)["serviceAccountName"] == account["metadata"]["name"]


# --- Ingress (AWS Load Balancer Controller) --------------------------------------------------


def test_ingress_makes_an_internal_alb_with_ip_targets(managed_manifests: list) -> None:
    annotations = annotations_of(managed_manifests, "Ingress")
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internal"
    assert annotations["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert one(managed_manifests, "Ingress")["spec"]["ingressClassName"] == "alb"


def test_alb_checks_readiness_like_the_readiness_probe_every_30s_timeout_5(
    managed_manifests: list,
) -> None:
    # The same rule as the ECS target group: only a ready pod is a healthy target, and the
    # ALB and Kubernetes agree on what ready means.
    annotations = annotations_of(managed_manifests, "Ingress")
    readiness = container(managed_manifests)["readinessProbe"]["httpGet"]["path"]
    assert annotations["alb.ingress.kubernetes.io/healthcheck-path"] == readiness == READY_PATH
    prefix = "alb.ingress.kubernetes.io/"
    assert {k.removeprefix(prefix): v for k, v in annotations.items() if "health" in k} == {
        "healthcheck-path": READY_PATH,
        "healthcheck-protocol": "HTTP",
        "healthcheck-port": "traffic-port",
        "healthcheck-interval-seconds": "30",
        "healthcheck-timeout-seconds": "5",
        "healthy-threshold-count": "2",
        "unhealthy-threshold-count": "3",
    }


def test_alb_admits_only_the_configured_client_cidrs(
    managed_manifests: list, managed_values: dict
) -> None:
    annotations = annotations_of(managed_manifests, "Ingress")
    cidrs = annotations["alb.ingress.kubernetes.io/inbound-cidrs"].split(",")
    assert cidrs == managed_values["ingress"]["inboundCidrs"]


def test_alb_idle_timeout_comes_from_the_values(
    managed_manifests: list, managed_values: dict
) -> None:
    attributes = annotations_of(managed_manifests, "Ingress")[
        "alb.ingress.kubernetes.io/load-balancer-attributes"
    ]
    assert (
        f"idle_timeout.timeout_seconds={managed_values['ingress']['idleTimeoutSeconds']}"
        in attributes
    )
    assert "routing.http.drop_invalid_header_fields.enabled=true" in attributes


def test_alb_listens_on_http_without_a_certificate(managed_manifests: list) -> None:
    annotations = annotations_of(managed_manifests, "Ingress")
    assert annotations["alb.ingress.kubernetes.io/listen-ports"] == '[{"HTTP":80}]'
    assert "alb.ingress.kubernetes.io/certificate-arn" not in annotations


def test_alb_listens_on_https_and_redirects_http_with_a_certificate(
    tmp_path: Path, managed_values: dict, kube_version: str
) -> None:
    # As the ECS load balancer: 443 with the certificate, 80 answering only with a redirect.
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0b5e0d4c-1111-2222-3333-444455556666"
    manifests = render(
        tmp_path,
        with_value(managed_values, "ingress.certificateArn", arn),
        kube_version=kube_version,
    )
    annotations = annotations_of(manifests, "Ingress")
    assert annotations["alb.ingress.kubernetes.io/listen-ports"] == '[{"HTTP":80},{"HTTPS":443}]'
    assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == arn
    assert annotations["alb.ingress.kubernetes.io/ssl-policy"].startswith("ELBSecurityPolicy-TLS13")


def load_balancer_attributes(manifests: list) -> dict[str, str]:
    text = annotations_of(manifests, "Ingress")[
        "alb.ingress.kubernetes.io/load-balancer-attributes"
    ]
    return dict(item.split("=", 1) for item in text.split(","))


def test_alb_is_named_and_deletion_protected_as_the_configuration_says(
    tmp_path: Path, managed_values: dict, kube_version: str
) -> None:
    attributes = load_balancer_attributes(
        render(tmp_path, managed_values, kube_version=kube_version)
    )
    assert attributes["deletion_protection.enabled"] == "true"
    annotations = annotations_of(
        render(tmp_path, managed_values, kube_version=kube_version), "Ingress"
    )
    assert annotations["alb.ingress.kubernetes.io/load-balancer-name"] == "hypernym-eks-alb"
    unprotected = with_value(managed_values, "ingress.deletionProtection", False)
    attributes = load_balancer_attributes(render(tmp_path, unprotected, kube_version=kube_version))
    assert attributes["deletion_protection.enabled"] == "false"


def test_alb_access_logs_are_on_with_a_bucket_and_stated_off_without(
    tmp_path: Path, managed_values: dict, kube_version: str
) -> None:
    # Stated off: the controller leaves an attribute the annotation omits as it was.
    off = load_balancer_attributes(render(tmp_path, managed_values, kube_version=kube_version))
    assert off["access_logs.s3.enabled"] == "false"
    assert "access_logs.s3.bucket" not in off
    logged = with_value(
        managed_values, "ingress.accessLogs", {"bucket": "alb-logs-bucket", "prefix": "hypernym"}
    )
    on = load_balancer_attributes(render(tmp_path, logged, kube_version=kube_version))
    assert (on["access_logs.s3.enabled"], on["access_logs.s3.bucket"]) == (
        "true",
        "alb-logs-bucket",
    )
    assert on["access_logs.s3.prefix"] == "hypernym"


# --- autoscaling, disruption, network policy ------------------------------------------------


def test_hpa_scales_2_to_10_on_cpu_70_and_memory_80(managed_manifests: list) -> None:
    spec = one(managed_manifests, "HorizontalPodAutoscaler")["spec"]
    targets = {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"]
        for m in spec["metrics"]
    }
    assert (spec["minReplicas"], spec["maxReplicas"], targets) == (2, 10, {"cpu": 70, "memory": 80})


def test_hpa_scales_out_within_30s_and_in_after_300s(managed_manifests: list) -> None:
    behavior = one(managed_manifests, "HorizontalPodAutoscaler")["spec"]["behavior"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert all(policy["periodSeconds"] <= 30 for policy in behavior["scaleUp"]["policies"])
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 300


def test_disruption_budget_keeps_all_but_one_pod(managed_manifests: list) -> None:
    budget = one(managed_manifests, "PodDisruptionBudget")["spec"]
    assert budget["maxUnavailable"] == 1
    assert budget["selector"] == one(managed_manifests, "Deployment")["spec"]["selector"]


def test_network_policy_admits_only_the_vpc_to_the_http_port(
    managed_manifests: list, managed_values: dict
) -> None:
    (rule,) = one(managed_manifests, "NetworkPolicy")["spec"]["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert rule["from"] == [
        {"ipBlock": {"cidr": c}} for c in managed_values["networkPolicy"]["ingressCidrs"]
    ]


def test_network_policy_egress_is_dns_https_and_the_managed_gateway_port(
    tmp_path: Path, managed_values: dict, kube_version: str
) -> None:
    values = with_value(managed_values, "env.MANAGED_API_URL", "http://one-api.gateway.svc:3000/v1")
    policy = one(render(tmp_path, values, kube_version=kube_version), "NetworkPolicy")
    ports = {(p["port"], p["protocol"]) for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert ports == {(53, "UDP"), (53, "TCP"), (443, "TCP"), (3000, "TCP")}


# --- NOTES.txt ----------------------------------------------------------------------------------


def test_notes_tell_how_to_find_the_alb(
    tmp_path: Path, example_values: dict, kube_version: str
) -> None:
    notes = render_notes(tmp_path, example_values, kube_version=kube_version)
    assert "get ingress hypernym" in notes
    assert f"curl http://<address>{HEALTH_PATH}" in notes
    assert "WARNING" not in notes


def test_notes_warn_when_the_pods_have_no_aws_role(
    tmp_path: Path, byop_values: dict, kube_version: str
) -> None:
    notes = render_notes(
        tmp_path, with_value(byop_values, "serviceAccount.roleArn", ""), kube_version=kube_version
    )
    assert "WARNING: serviceAccount.roleArn is empty" in notes
    assert "reading the BYOP secret will fail" in notes


# --- the chart's own defaults are the deployment's ----------------------------------------------


def test_chart_defaults_equal_the_configuration_defaults() -> None:
    # A chart installed without the apps stack behaves as a deployment file with no tuning.
    defaults = parse_config(
        {
            "name": "defaults",
            "region": "eu-west-1",
            "platform": "eks",
            "service": {"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hypernym:1"},
            "inference": {"managed_api_url": "http://gateway.internal:4000/v1"},
            "api": {"auth": "open"},
            "marketplace": {"metering": "off"},
        }
    )
    owned = hypernym_values(
        defaults, role_arn="", vpc_cidr="10.0.0.0/16", account_id="123456789012"
    )
    chart = yaml.safe_load((CHART_PATH / "values.yaml").read_text())
    for key in (
        "sslPolicy",
        "idleTimeoutSeconds",
        "deregistrationDelaySeconds",
        "deletionProtection",
    ):
        assert chart["ingress"][key] == owned["ingress"][key], key
    chart_scaling = {k: v for k, v in chart["autoscaling"].items() if k != "enabled"}
    assert chart_scaling == owned["autoscaling"]


def test_chart_health_check_equals_the_ecs_target_group_health_check() -> None:
    target_group = {f.name: f.default for f in dataclasses.fields(LoadBalancerProps)}
    assert yaml.safe_load((CHART_PATH / "values.yaml").read_text())["ingress"]["healthCheck"] == {
        "intervalSeconds": target_group["health_check_interval_seconds"],
        "timeoutSeconds": target_group["health_check_timeout_seconds"],
        "healthyThreshold": target_group["healthy_threshold"],
        "unhealthyThreshold": target_group["unhealthy_threshold"],
    }


def test_chart_keep_alive_default_is_the_service_default() -> None:
    template = (CHART_PATH / "templates/ingress.yaml").read_text()
    assert f'(default "{KEEP_ALIVE_SECONDS}" .Values.env.KEEP_ALIVE_SECONDS)' in template
