"""Real Terraform on the synthesized stacks: offline init + validate, apply/destroy against moto.

moto 5.2.5 has no ListTagsForResource for Application Auto Scaling, which the provider calls
after creating a scalable target, so the apply covers every other resource (`-target`s taken
from the plan) and the three autoscaling resources are covered by the plan that follows it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from modules.config import DeploymentConfig, load_config, resolve_config_path, validate
from modules.config.derived import state_key
from tests.harness.moto import NOT_IN_MOTO, MotoServer
from tests.harness.terraform import Terraform, TerraformError
from tests.infra.examples import EXAMPLES, providers, stack_dirs
from tests.infra.synthesized import Stack

pytestmark = pytest.mark.terraform


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_aws_stack_initializes_offline_and_validates(
    example: str, synth_example: Callable[[str], Path], tmp_path: Path
) -> None:
    aws_stacks = [s for s in stack_dirs(synth_example(example)) if providers(s) == {"aws"}]
    assert aws_stacks, f"{example} has no AWS-only stack"
    for stack in aws_stacks:
        workdir = shutil.copytree(stack, tmp_path / stack.name)
        terraform = Terraform(workdir)
        terraform.init()
        result = terraform.validate()
        assert result["valid"] is True, result["diagnostics"]
        assert result["error_count"] == 0, result["diagnostics"]
        assert result["warning_count"] == 0, result["diagnostics"]


def isolated_copy(cdktf_out: Path, stack_name: str, tmp_path: Path) -> Path:
    """The stack in a scratch cdktf.out, so its local state file lands in `tmp_path`."""
    return shutil.copytree(
        cdktf_out / "stacks" / stack_name, tmp_path / "cdktf.out" / "stacks" / stack_name
    )


def moto_targets(workdir: Path) -> list[str]:
    """-target arguments for every resource of the stack moto can create."""
    stack = json.loads((workdir / "cdk.tf.json").read_text())
    return [
        f"-target={kind}.{name}"
        for kind, resources in stack["resource"].items()
        if kind not in NOT_IN_MOTO
        for name in resources
    ]


def planned_creates(plan: dict) -> dict[str, dict]:
    return {
        c["address"]: c["change"]["after"]
        for c in plan["resource_changes"]
        if c["change"]["actions"] == ["create"]
    }


def assert_autoscaling_planned(terraform: Terraform) -> None:
    """After the targeted apply, the plan holds exactly the autoscaling resources, as configured."""
    # Nothing changed since the apply: what is left to create needs no refresh to be seen.
    creates = planned_creates(terraform.plan("rest.bin", "-refresh=false"))
    assert sorted(address.split(".")[0] for address in creates) == [
        "aws_appautoscaling_policy",
        "aws_appautoscaling_policy",
        "aws_appautoscaling_policy",  # the job backlog per task
        "aws_appautoscaling_target",
    ]
    (target,) = [v for a, v in creates.items() if a.startswith("aws_appautoscaling_target")]
    assert (target["min_capacity"], target["max_capacity"]) == (2, 10)
    tracked = sorted(
        (
            p["target_tracking_scaling_policy_configuration"][0]["predefined_metric_specification"][
                0
            ]["predefined_metric_type"],
            p["target_tracking_scaling_policy_configuration"][0]["target_value"],
        )
        for a, p in creates.items()
        if a.startswith("aws_appautoscaling_policy") and "backlog" not in a
    )
    assert tracked == [
        ("ECSServiceAverageCPUUtilization", 70),
        ("ECSServiceAverageMemoryUtilization", 80),
    ]


@pytest.mark.slow
@pytest.mark.xdist_group("apply-ecs-managed")
def test_ecs_managed_applies_and_destroys_against_moto(
    synth_example: Callable[[str], Path], moto_server: MotoServer, tmp_path: Path
) -> None:
    moto_server.reset()
    workdir = isolated_copy(synth_example("ecs-managed"), "hypernym-ecs", tmp_path)
    terraform = Terraform(workdir, moto=moto_server)
    terraform.init(backend=True)  # the local backend, as users without [state] get it
    terraform.apply(*moto_targets(workdir))
    assert (tmp_path / "terraform.hypernym-ecs.tfstate").exists(), "local state outside cdktf.out"

    outputs = {name: value["value"] for name, value in terraform.output().items()}
    assert outputs["alb_url"] == f"http://{outputs['alb_dns_name']}"
    assert outputs["log_group_name"] == "/ecs/hypernym"
    assert outputs["task_role_arn"].endswith(":role/hypernym-ecs-task-eu-west-1")
    assert len(outputs["private_subnet_ids"]) == 2
    ecs = moto_server.client("ecs")
    (service,) = ecs.describe_services(
        cluster=outputs["cluster_name"], services=[outputs["service_name"]]
    )["services"]
    assert service["desiredCount"] == 2
    assert service["launchType"] == "FARGATE"
    balancers = moto_server.client("elbv2").describe_load_balancers()["LoadBalancers"]
    assert [(b["LoadBalancerName"], b["Scheme"]) for b in balancers] == [
        ("hypernym-alb", "internal")
    ]
    # The asynchronous jobs' table, queue (with its dead-letter queue) and bucket.
    dynamodb, sqs = moto_server.client("dynamodb"), moto_server.client("sqs")
    table = dynamodb.describe_table(TableName=outputs["jobs_table_name"])["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = dynamodb.describe_time_to_live(TableName=outputs["jobs_table_name"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"
    redrive = sqs.get_queue_attributes(
        QueueUrl=outputs["jobs_queue_url"], AttributeNames=["RedrivePolicy"]
    )["Attributes"]["RedrivePolicy"]
    assert json.loads(redrive)["maxReceiveCount"] == 3
    buckets = [b["Name"] for b in moto_server.client("s3").list_buckets()["Buckets"]]
    assert "hypernym-jobs-123456789012-eu-west-1" in buckets

    assert_autoscaling_planned(terraform)
    terraform.destroy("-refresh=false")  # the state is what the apply wrote, nothing since
    assert moto_server.client("elbv2").describe_load_balancers()["LoadBalancers"] == []
    assert dynamodb.list_tables()["TableNames"] == []
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert terraform.run("state", "list").stdout.strip() == ""


def test_ecs_byop_plans_with_remote_state_and_the_lock_refuses_a_concurrent_plan(
    synth_example: Callable[[str], Path], moto_server: MotoServer, tmp_path: Path
) -> None:
    """Plain terraform on the S3 backend, as the pull-request plan runs it. Applying and
    destroying with remote state is the cdktf CLI test's (tests/infra/test_cdktf_cli.py)."""
    moto_server.reset()
    config = load_config(resolve_config_path("ecs-byop"))
    assert config.state is not None
    s3 = moto_server.client("s3")
    s3.create_bucket(
        Bucket=config.state.bucket, CreateBucketConfiguration={"LocationConstraint": config.region}
    )
    key = state_key(config, "hypernym-byop-ecs")
    workdir = isolated_copy(synth_example("ecs-byop"), "hypernym-byop-ecs", tmp_path)
    terraform = Terraform(workdir, moto=moto_server)
    terraform.use_moto_backend()
    terraform.init(backend=True)
    assert "aws_ecs_service.service_E7C408F2" in planned_creates(terraform.plan())

    # Another run holds the lock: S3-native locking keeps it in <key>.tflock.
    s3.put_object(
        Bucket=config.state.bucket,
        Key=f"{key}.tflock",
        Body=b'{"ID":"00000000-0000-0000-0000-000000000000","Operation":"OperationTypeApply",'
        b'"Who":"ci@runner","Version":"1.11.4","Path":"' + key.encode() + b'"}',
    )
    with pytest.raises(TerraformError, match="Error acquiring the state lock"):
        terraform.plan("locked.bin")


def in_region(region: str, **network: object) -> DeploymentConfig:
    """ecs-managed (metering on) moved to `region`: its image and API keys secret in that
    region, no gateway token."""
    config = load_config(resolve_config_path("ecs-managed"))
    moved = dataclasses.replace(
        config,
        region=region,
        service=dataclasses.replace(
            config.service, image=config.service.image.replace(config.region, region)
        ),
        inference=dataclasses.replace(config.inference, managed_api_key_secret_arn=None),
        api=dataclasses.replace(
            config.api,
            keys_secret_arn=(config.api.keys_secret_arn or "").replace(config.region, region)
            or None,
        ),
        network=dataclasses.replace(config.network, **network),
    )
    assert validate(moved) == []
    return moved


def failed_plan(terraform: Terraform) -> tuple[list[str], str]:
    """The error lines of a plan that must fail, and its whole output, spaces collapsed."""
    completed = terraform.run("plan", "-input=false", "-no-color", check=False)
    assert completed.returncode == 1, completed.stdout[-3000:]
    errors = [line for line in completed.stderr.splitlines() if line.startswith("Error: ")]
    return errors, " ".join(completed.stderr.replace("│", " ").split())


@pytest.mark.slow
def test_a_region_without_the_metering_endpoint_service_fails_the_plan_naming_it(
    synth_config: Callable[..., Path], moto_server: MotoServer, tmp_path: Path
) -> None:
    # GIVEN metering on in a region whose catalogue has no metering.marketplace (moto's
    # eu-south-2; the harness adds the service in eu-west-1 only) ...
    cdktf_out = synth_config(in_region("eu-south-2"), "metering-unoffered-region")
    terraform = Terraform(isolated_copy(cdktf_out, "hypernym-ecs", tmp_path), moto=moto_server)
    terraform.init(backend=True)  # local state, in tmp_path
    # THEN the plan, not the apply, fails, on the lookup of the metering endpoint service (the
    # provider reports AWS's InvalidServiceName as "couldn't find resource"; the next line
    # names the lookup, the README says what to do).
    errors, output = failed_plan(terraform)
    assert errors == ["Error: reading EC2 VPC Endpoint Services: couldn't find resource"]
    assert "with data.aws_vpc_endpoint_service.network_endpoint-service-metering-marketplace_" in (
        output
    )
    assert not (tmp_path / "terraform.hypernym-ecs.tfstate").exists(), "nothing was applied"


@pytest.mark.slow
def test_a_zone_without_the_metering_endpoint_service_fails_the_plan_with_the_fix(
    synth_config: Callable[..., Path], moto_server: MotoServer, tmp_path: Path
) -> None:
    # GIVEN private subnets in a zone where the service is not offered (moto offers it in
    # eu-west-1a-c, like its other services) ...
    config = in_region("eu-west-1", availability_zones=("eu-west-1a", "eu-west-1d"))
    cdktf_out = synth_config(config, "metering-unoffered-zone")
    terraform = Terraform(isolated_copy(cdktf_out, "hypernym-ecs", tmp_path), moto=moto_server)
    terraform.init(backend=True)
    # THEN the plan stops at the endpoint's precondition, whose message names the region and
    # what to do.
    errors, output = failed_plan(terraform)
    assert errors == ["Error: Resource precondition failed"]
    assert (
        "com.amazonaws.eu-west-1.metering.marketplace is not offered in every availability "
        'zone of the private subnets in eu-west-1: set `marketplace.metering = "off"`, or '
        "`marketplace.metering_endpoint = false` with `network.nat_gateways`"
    ) in output


def test_existing_vpc_lookups_and_their_postconditions_validate(
    existing_vpc_own_endpoints: Stack, existing_vpc_nat: Stack, tmp_path: Path
) -> None:
    """The data sources an existing VPC adds (S3 gateway, prefix list, route tables) and their
    postconditions are valid Terraform; both variants share one initialized directory."""
    workdir = shutil.copytree(existing_vpc_own_endpoints.directory, tmp_path / "existing-vpc")
    terraform = Terraform(workdir)
    terraform.init()
    for variant in (existing_vpc_own_endpoints, existing_vpc_nat):
        shutil.copy(variant.directory / "cdk.tf.json", workdir / "cdk.tf.json")
        result = terraform.validate()
        assert result["valid"] is True, result["diagnostics"]
        assert result["warning_count"] == 0, result["diagnostics"]
