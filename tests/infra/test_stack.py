"""Stack-wide rules: tags, state backend, outputs, and the Name-tag check."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cdktf import App
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster

from modules.stacks.base import DeploymentStack
from tests.harness.terraform import Terraform
from tests.infra.conftest import example
from tests.infra.examples import EXAMPLES, stack_dirs
from tests.infra.synthesized import Stack


def test_provider_tags_every_resource_with_deployment_tags(managed: Stack) -> None:
    (provider,) = managed.document["provider"]["aws"]
    assert provider["region"] == "eu-west-1"
    assert provider["default_tags"] == [
        {
            "tags": {
                "ManagedBy": "cdktf",
                "Product": "Hypernym",
                "Environment": "production",
                "Deployment": "hypernym",
                "Team": "platform",
            }
        }
    ]


def test_named_resources_carry_a_name_tag_prefixed_by_the_deployment(managed: Stack) -> None:
    for kind, resources in managed.document["resource"].items():
        for logical_id, body in resources.items():
            if "tags" in body:
                assert body["tags"]["Name"].startswith(("hypernym", "/ecs/hypernym")), (
                    kind,
                    logical_id,
                )


@pytest.mark.terraform
def test_every_taggable_resource_has_a_name_tag(
    managed: Stack, byop: Stack, per_az_nat_with_kms: Stack, tmp_path: Path
) -> None:
    """Taggable according to the provider's own schema, so no resource type is overlooked."""
    terraform = Terraform(shutil.copytree(managed.directory, tmp_path / "stack"))
    terraform.init(backend=True)
    schemas = json.loads(terraform.run("providers", "schema", "-json").stdout)
    (aws,) = [s for name, s in schemas["provider_schemas"].items() if name.endswith("/aws")]
    taggable = {
        kind
        for kind, schema in aws["resource_schemas"].items()
        if "tags" in schema["block"].get("attributes", {})
    }
    untagged = [
        f"{stack.directory.name}: {kind}.{logical_id}"
        for stack in (managed, byop, per_az_nat_with_kms)
        for kind, resources in stack.document["resource"].items()
        if kind in taggable
        for logical_id, body in resources.items()
        if "Name" not in body.get("tags", {})
    ]
    assert untagged == []


def test_synthesis_fails_for_a_taggable_resource_without_a_name(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), stack_traces=False)
    stack = DeploymentStack(app, example("ecs-managed"), "probe")
    EcsCluster(stack, "untagged", name="untagged")
    with pytest.raises(RuntimeError, match="aws_ecs_cluster has no Name tag"):
        app.synth()


def test_every_stack_requires_the_terraform_of_the_s3_lock_file(
    synth_example: Callable[[str], Path],
) -> None:
    # `use_lockfile` needs Terraform 1.10+: an older one must refuse the stack up front.
    for name in EXAMPLES:
        for stack_dir in stack_dirs(synth_example(name)):
            document = json.loads((stack_dir / "cdk.tf.json").read_text())
            assert document["terraform"]["required_version"] == ">= 1.10", stack_dir.name


def test_local_state_lives_outside_cdktf_out_when_no_backend_is_configured(managed: Stack) -> None:
    assert managed.document["terraform"]["backend"] == {
        "local": {"path": "../../../terraform.hypernym-ecs.tfstate"}
    }


def test_remote_state_is_one_encrypted_s3_object_per_stack_with_a_lock_file(byop: Stack) -> None:
    assert byop.document["terraform"]["backend"] == {
        "s3": {
            "bucket": "hypernym-terraform-state",
            "key": "hypernym-byop/hypernym-byop-ecs.tfstate",
            "region": "eu-west-1",
            "encrypt": True,
            "use_lockfile": True,
        }
    }
    assert "dynamodb_table" not in byop.document["terraform"]["backend"]["s3"]


def test_provider_is_pinned_to_the_mirrored_version(managed: Stack) -> None:
    assert managed.document["terraform"]["required_providers"] == {
        "aws": {"source": "aws", "version": "5.100.0"}
    }


def test_outputs_name_what_operators_need(managed: Stack) -> None:
    outputs = managed.document["output"]
    assert set(outputs) == {
        "alb_dns_name",
        "alb_url",
        "cluster_name",
        "service_name",
        "log_group_name",
        "task_role_arn",
        "execution_role_arn",
        "vpc_id",
        "private_subnet_ids",
        "jobs_table_name",
        "jobs_queue_url",
        "alarm_topic_arn",
        "dashboard_name",
    }
    assert outputs["alb_url"]["value"] == "http://" + managed.ref("aws_lb", "alb", "dns_name")
    assert outputs["task_role_arn"]["value"] == managed.ref("aws_iam_role", "task-role", "arn")


def test_https_url_output_uses_https(https: Stack) -> None:
    assert https.document["output"]["alb_url"]["value"].startswith("https://")
