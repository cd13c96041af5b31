"""The apps stack's Terraform JSON, and the chart rendered with exactly the values it passes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cdktf import App

from modules.config import parse_config
from modules.constructs.app_release import eks_image_registry
from modules.stacks.ecs import EcsStack
from modules.stacks.eks import CHART_PATH, hypernym_values

from .helm import one as one_manifest
from .helm import render, strict_schema_problems
from .stacks import (
    GATEWAY_TOKEN_ARN,
    EksSynth,
    address,
    example_data,
    one,
    resources,
    synthesize,
)

REMOTE_STATE = re.compile(r"\$\{data\.terraform_remote_state\.[^.]+\.outputs\.([^}]+)\}")
SAME_STACK_REFERENCE = re.compile(r"\$\{(aws_\w+)\.([\w-]+)_[0-9A-F]{8}\.\w+\}")
"""A reference in the ECS task definition to a resource of its own stack."""


def release(synth: EksSynth, name: str) -> dict[str, Any]:
    return one(synth.apps, "helm_release", name=name)


def release_values(synth: EksSynth, name: str) -> dict[str, Any]:
    (values,) = release(synth, name)["values"]
    return json.loads(values)


def cluster_output(synth: EksSynth, reference: str) -> str:
    """The cluster-stack expression behind a remote-state reference of the apps stack."""
    output = REMOTE_STATE.fullmatch(reference)
    assert output, f"{reference!r} is not a reference to the cluster stack's outputs"
    return synth.cluster["output"][output[1]]["value"]


def test_apps_stack_has_only_the_helm_provider(managed: EksSynth) -> None:
    assert set(managed.apps["provider"]) == {"helm"}


def test_helm_provider_authenticates_with_aws_eks_get_token(managed: EksSynth) -> None:
    (provider,) = managed.apps["provider"]["helm"]
    kubernetes = provider["kubernetes"]
    assert kubernetes["exec"]["command"] == "aws"
    assert kubernetes["exec"]["args"] == [
        "eks",
        "get-token",
        "--cluster-name",
        managed.config.name,
        "--region",
        managed.config.region,
    ]
    cluster = address(managed.cluster, "aws_eks_cluster")
    assert cluster_output(managed, kubernetes["host"]) == f"${{{cluster}.endpoint}}"


def test_apps_stack_reads_the_cluster_stack_state(managed: EksSynth) -> None:
    (remote,) = managed.apps["data"]["terraform_remote_state"].values()
    assert remote["config"]["path"].endswith(f"terraform.{managed.config.name}-eks-cluster.tfstate")


def test_load_balancer_controller_chart_is_pinned(managed: EksSynth) -> None:
    controller = release(managed, "aws-load-balancer-controller")
    assert (controller["repository"], controller["chart"], controller["version"]) == (
        "https://aws.github.io/eks-charts",
        "aws-load-balancer-controller",
        "1.13.0",
    )
    assert controller["namespace"] == "kube-system"


def test_load_balancer_controller_chart_repository_is_configurable(tmp_path: Path) -> None:
    mirror = "oci://123456789012.dkr.ecr.eu-west-1.amazonaws.com/charts"
    data = example_data("eks-managed")
    data["eks"]["load_balancer_controller_chart_repository"] = mirror
    controller = release(synthesize(data, tmp_path), "aws-load-balancer-controller")
    assert (controller["repository"], controller["chart"]) == (
        mirror,
        "aws-load-balancer-controller",
    )


def test_load_balancer_controller_image_comes_from_the_regional_eks_registry(
    managed: EksSynth,
) -> None:
    image = release_values(managed, "aws-load-balancer-controller")["image"]
    assert image["repository"] == (
        f"602401143452.dkr.ecr.{managed.config.region}.amazonaws.com/amazon/aws-load-balancer-controller"
    )
    assert re.fullmatch(r"v\d+\.\d+\.\d+", image["tag"])


def test_load_balancer_controller_runs_with_its_irsa_role(managed: EksSynth) -> None:
    account = release_values(managed, "aws-load-balancer-controller")["serviceAccount"]
    role = address(
        managed.cluster,
        "aws_iam_role",
        name=f"{managed.config.name}-eks-lb-controller-{managed.config.region}",
    )
    assert account["name"] == "aws-load-balancer-controller"
    assert (
        cluster_output(managed, account["annotations"]["eks.amazonaws.com/role-arn"])
        == f"${{{role}.arn}}"
    )


def test_load_balancer_controller_needs_no_instance_metadata_and_no_waf(managed: EksSynth) -> None:
    values = release_values(managed, "aws-load-balancer-controller")
    assert values["region"] == managed.config.region
    assert (
        cluster_output(managed, values["vpcId"]) == f"${{{address(managed.cluster, 'aws_vpc')}.id}}"
    )
    assert (values["enableShield"], values["enableWaf"], values["enableWafv2"]) == (
        False,
        False,
        False,
    )


def test_hypernym_release_waits_for_the_controller(managed: EksSynth) -> None:
    hypernym = release(managed, "hypernym")
    controller = address(managed.apps, "helm_release", name="aws-load-balancer-controller")
    assert hypernym["depends_on"] == [controller]
    assert (hypernym["wait"], hypernym["atomic"]) == (True, True)


def test_hypernym_release_installs_the_repository_chart(managed: EksSynth) -> None:
    hypernym = release(managed, "hypernym")
    copied = managed.directory("eks-apps") / hypernym["chart"]
    assert (copied / "Chart.yaml").read_text() == (CHART_PATH / "Chart.yaml").read_text()
    assert hypernym["namespace"] == managed.config.eks.namespace


def test_hypernym_values_carry_the_app_irsa_role(managed: EksSynth) -> None:
    account = release_values(managed, "hypernym")["serviceAccount"]
    role = address(
        managed.cluster,
        "aws_iam_role",
        name=f"{managed.config.name}-eks-app-{managed.config.region}",
    )
    assert account["name"] == managed.config.eks.service_account
    assert cluster_output(managed, account["roleArn"]) == f"${{{role}.arn}}"


def test_managed_values_name_the_gateway_token_secret(managed_with_token: EksSynth) -> None:
    values = release_values(managed_with_token, "hypernym")
    assert values["env"]["MANAGED_API_KEY_SECRET_ARN"] == GATEWAY_TOKEN_ARN
    assert "MANAGED_API_KEY" not in values["env"]


def test_byop_values_name_the_secret_and_no_kubernetes_secret(byop: EksSynth) -> None:
    values = release_values(byop, "hypernym")
    assert values["env"]["BYOP_SECRET_ARN"] == byop.config.inference.byop_secret_arn
    assert "secret" not in json.dumps({k: v for k, v in values.items() if k != "env"}).lower()


def test_values_name_the_api_keys_secret_for_the_pods_to_read(
    managed: EksSynth, byop: EksSynth
) -> None:
    for synth in (managed, byop):
        values = release_values(synth, "hypernym")
        assert values["env"]["API_KEYS_SECRET_ARN"] == synth.config.api.keys_secret_arn
        assert "API_KEYS" not in values["env"]  # the keys themselves never travel here


# --- the values, rendered --------------------------------------------------------------------


def apply_time_values(synth: EksSynth) -> dict[str, str]:
    """What the cluster-stack resources the release refers to will be, by resource type and
    construct path (`aws_sqs_queueasync-jobs_queue`)."""
    name, region = synth.config.name, synth.config.region
    queue = f"https://sqs.{region}.amazonaws.com/123456789012/{name}-jobs"
    return {
        "aws_iam_roleaddons_app-role": f"arn:aws:iam::123456789012:role/{name}-eks-app-{region}",
        "aws_dynamodb_tableasync-jobs_table": f"{name}-jobs",
        "aws_sqs_queueasync-jobs_queue": queue,
        "aws_sqs_queueasync-jobs_dead-letter-queue": f"{queue}-dlq",
        "aws_s3_bucketasync-jobs_bucket": f"{name}-jobs-123456789012-{region}",
    }


def applied_values(synth: EksSynth) -> dict[str, Any]:
    """The Hypernym release's values as Terraform hands them to helm: the apply-time values
    (cluster-stack outputs: the app role's ARN, the asynchronous jobs' names) filled in with
    what they will be."""
    text = release(synth, "hypernym")["values"][0]
    will_be = apply_time_values(synth)

    def value(reference: re.Match[str]) -> str:
        (filled,) = [v for k, v in will_be.items() if f"-{k}_" in reference.group(1)]
        return filled

    references = set(REMOTE_STATE.findall(text))
    assert len(references) == len(will_be), f"unexpected apply-time values: {references}"
    return json.loads(REMOTE_STATE.sub(value, text))


def test_chart_renders_the_apps_stack_values_and_they_pass_strict_schemas(
    tmp_path: Path, eks_examples: dict[str, EksSynth]
) -> None:
    for synth in eks_examples.values():
        kube_version = f"{synth.config.eks.kubernetes_version}.0"
        manifests = render(tmp_path, applied_values(synth), kube_version=kube_version)
        assert strict_schema_problems(manifests, kube_version=kube_version) == []
        assert {m["kind"] for m in manifests} >= {
            "Deployment",
            "Ingress",
            "HorizontalPodAutoscaler",
        }


@pytest.mark.parametrize("example", ["eks-managed", "eks-managed-with-token", "eks-byop"])
def test_pods_get_the_same_environment_as_the_ecs_task_for_the_same_config(
    tmp_path: Path, eks_examples: dict[str, EksSynth], example: str
) -> None:
    synth = eks_examples[example]
    ecs_app = App(outdir=str(tmp_path / "ecs"), stack_traces=False)
    ecs = EcsStack(ecs_app, synth.config)
    ecs_app.synth()
    ecs_json = json.loads(
        (Path(ecs_app.outdir) / "stacks" / ecs.stack_name / "cdk.tf.json").read_text()
    )
    (task,) = resources(ecs_json, "aws_ecs_task_definition").values()
    (container,) = json.loads(task["container_definitions"])
    will_be = apply_time_values(synth)
    ecs_env = {
        item["name"]: SAME_STACK_REFERENCE.sub(
            lambda reference: will_be[reference.group(1) + reference.group(2)], item["value"]
        )
        for item in container["environment"]
    }

    manifests = render(
        tmp_path, applied_values(synth), kube_version=f"{synth.config.eks.kubernetes_version}.0"
    )
    spec = one_manifest(manifests, "Deployment")["spec"]["template"]["spec"]
    pod_env = {item["name"]: item["value"] for item in spec["containers"][0]["env"]}
    assert pod_env == ecs_env


def test_load_balancer_and_scaling_settings_are_the_configurations(managed: EksSynth) -> None:
    values = release_values(managed, "hypernym")
    lb, service = managed.config.load_balancer, managed.config.service
    assert (
        values["ingress"]["idleTimeoutSeconds"],
        values["ingress"]["deregistrationDelaySeconds"],
    ) == (lb.idle_timeout_seconds, lb.deregistration_delay_seconds)
    scaling = values["autoscaling"]
    assert (
        scaling["minReplicas"],
        scaling["maxReplicas"],
        scaling["scaleUpPeriodSeconds"],
        scaling["scaleDownStabilizationSeconds"],
    ) == (
        service.min_count,
        service.max_count,
        service.scale_out_cooldown_seconds,
        service.scale_in_cooldown_seconds,
    )


def test_https_configuration_gives_the_ingress_its_certificate() -> None:
    data = example_data("eks-managed")
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0b5e0d4c-1111-2222-3333-444455556666"
    data["load_balancer"] = {"protocol": "https", "certificate_arn": arn}
    values = hypernym_values(
        parse_config(data),
        role_arn="arn:aws:iam::123456789012:role/r",
        vpc_cidr="10.2.0.0/16",
        account_id="123456789012",
    )
    assert values["ingress"]["certificateArn"] == arn


def test_every_load_balancer_setting_reaches_the_ingress_as_on_ecs(tmp_path: Path) -> None:
    # GIVEN a [load_balancer] section that sets everything the ECS load balancer honours
    data = example_data("eks-managed")
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/0b5e0d4c-1111-2222-3333-444455556666"
    data["load_balancer"] = {
        "protocol": "https",
        "certificate_arn": arn,
        "ssl_policy": "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "idle_timeout_seconds": 90,
        "deletion_protection": False,
        "access_logs_bucket": "alb-access-logs",
    }
    config = parse_config(data)
    values = hypernym_values(
        config,
        role_arn="arn:aws:iam::123456789012:role/r",
        vpc_cidr="10.2.0.0/16",
        account_id="123456789012",
    )
    # WHEN the chart is rendered with the values the apps stack passes
    manifests = render(tmp_path, values, kube_version=f"{config.eks.kubernetes_version}.0")
    annotations = one_manifest(manifests, "Ingress")["metadata"]["annotations"]
    # THEN the controller gets each of them as an annotation
    prefix = "alb.ingress.kubernetes.io/"
    attributes = dict(
        item.split("=", 1) for item in annotations[f"{prefix}load-balancer-attributes"].split(",")
    )
    assert (annotations[f"{prefix}certificate-arn"], annotations[f"{prefix}ssl-policy"]) == (
        arn,
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
    )
    assert annotations[f"{prefix}listen-ports"] == '[{"HTTP":80},{"HTTPS":443}]'
    assert annotations[f"{prefix}ssl-redirect"] == "443"
    assert annotations[f"{prefix}load-balancer-name"] == "hypernym-eks-alb"
    assert attributes == {
        "idle_timeout.timeout_seconds": "90",
        "routing.http.drop_invalid_header_fields.enabled": "true",
        "deletion_protection.enabled": "false",
        "access_logs.s3.enabled": "true",
        "access_logs.s3.bucket": "alb-access-logs",
        # The ECS load balancer's prefix: its name.
        "access_logs.s3.prefix": "hypernym-eks-alb",
    }


def test_controller_tags_what_it_creates_with_the_deployment_tags(managed: EksSynth) -> None:
    # The apps stack has no AWS provider (no default_tags): the controller tags the ALB, its
    # listeners, rules, target groups and security groups itself.
    values = release_values(managed, "aws-load-balancer-controller")
    config = managed.config
    assert values["defaultTags"] == {
        "Team": "platform",
        "ManagedBy": "cdktf",
        "Product": "Hypernym",
        "Environment": config.environment,
        "Deployment": config.name,
    }
    assert values["controllerConfig"]["featureGates"]["ListenerRulesTagging"] is True


def test_destroying_the_apps_stack_removes_the_alb_before_the_controller(
    managed: EksSynth,
) -> None:
    # Terraform destroys a dependent first: the Hypernym release (its Ingress) goes before the
    # controller, and `wait` makes helm's uninstall wait until the Ingress is gone, which its
    # finalizer allows only once the controller has deleted the ALB, its target group and
    # security group. Without the order, the controller could go first and leave them behind.
    hypernym = release(managed, "hypernym")
    controller = address(managed.apps, "helm_release", name="aws-load-balancer-controller")
    assert controller in hypernym["depends_on"]
    assert hypernym["wait"] is True
    assert "depends_on" not in release(managed, "aws-load-balancer-controller")


@pytest.mark.parametrize(
    ("region", "registry"),
    [
        ("eu-west-1", "602401143452.dkr.ecr.eu-west-1.amazonaws.com"),
        ("af-south-1", "877085696533.dkr.ecr.af-south-1.amazonaws.com"),
        ("cn-north-1", "918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_eks_images_come_from_the_regions_eks_registry(region: str, registry: str) -> None:
    assert eks_image_registry(region) == registry
