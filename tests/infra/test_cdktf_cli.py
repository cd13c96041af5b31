"""The README's cdktf commands, with the real CLI (scripts/cdktf), against moto: the user's flow.

One deploy of the ecs-byop example (S3 remote state locked by an S3 lock file) serves every
assertion: `deploy --auto-approve`, during which a second checkout's deploy is refused by the
lock and its `synth` writes what the in-process synthesis does; `output`; `diff`, which may
propose only the changes moto is known for; `destroy --auto-approve`. Each command
synthesizes through cdktf.json's app, as a user's does, and none may log an error about
telemetry or write into the user's home (but for the jsii runtime's package cache).

moto 5.2.5 cannot create the Application Auto Scaling target (NOT_IN_MOTO), so the `terraform
apply` that `cdktf deploy` runs gets a `-target` for every other resource through
TF_CLI_ARGS_apply (Terraform appends it to that command's arguments); `diff` then proposes the
three as still to create. `destroy` gets `-refresh=false` through TF_CLI_ARGS_destroy: the state
is what the deploy wrote, and `diff` has just compared it with moto.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.config import load_config, resolve_config_path
from modules.config.derived import state_key
from tests.harness.cdktf import CdktfProject, CdktfRun, moto_env
from tests.harness.moto import NOT_IN_MOTO, MotoServer
from tests.harness.terraform import Terraform

pytestmark = [pytest.mark.terraform, pytest.mark.slow]
JSII_CACHE = ".cache/aws/jsii/"

EXAMPLE = "ecs-byop"
STACK = "hypernym-byop-ecs"

MOTO_DRIFT: dict[str, frozenset[str]] = {
    # moto's ECS keeps none of these CreateService parameters; DescribeServices omits them.
    "aws_ecs_service": frozenset(
        {
            "availability_zone_rebalancing",
            "enable_ecs_managed_tags",
            "health_check_grace_period_seconds",
        }
    ),
    # moto's DescribeSecurityGroupRules drops the description of a rule whose peer is a
    # security group or a prefix list (a rule to a CIDR keeps it).
    "aws_vpc_security_group_egress_rule": frozenset({"description"}),
    "aws_vpc_security_group_ingress_rule": frozenset({"description"}),
    # After the apply, moto's GetQueueAttributes gives back a RedrivePolicy the provider does not
    # read as the one it sent (a boto3 round trip returns it intact: the exact difference is in
    # how the provider's SQS client parses moto's reply, not isolated here).
    "aws_sqs_queue": frozenset({"redrive_policy"}),
}
"""The only attributes a plan right after the apply may change in place on moto 5.2.5: each is
an emulator gap, none a property of the stack."""


def addresses(stack: dict[str, Any]) -> list[str]:
    return [f"{kind}.{name}" for kind, named in stack["resource"].items() for name in named]


def kind_of(address: str) -> str:
    return address.split(".", 1)[0]


def changed_attributes(change: dict[str, Any]) -> frozenset[str]:
    before, after = change["before"] or {}, change["after"] or {}
    unknown = change.get("after_unknown") or {}
    return frozenset(
        name
        for name in before.keys() | after.keys() | unknown.keys()
        if before.get(name) != after.get(name) or unknown.get(name) is True
    )


def proposed(plan: dict[str, Any]) -> dict[str, tuple[list[str], frozenset[str]]]:
    """address -> (actions, attributes changed) for every resource the plan would touch."""
    return {
        c["address"]: (c["change"]["actions"], changed_attributes(c["change"]))
        for c in plan["resource_changes"]
        if c["change"]["actions"] != ["no-op"]
    }


def unexplained(
    changes: dict[str, tuple[list[str], frozenset[str]]],
) -> dict[str, tuple[list[str], list[str]]]:
    """The proposed changes that are neither a create of a NOT_IN_MOTO type nor MOTO_DRIFT:
    address -> (actions, the attributes moto does not explain)."""
    found = {}
    for address, (actions, attributes) in changes.items():
        kind = kind_of(address)
        known = MOTO_DRIFT.get(kind, frozenset())
        if (actions == ["create"] and kind in NOT_IN_MOTO) or (
            actions == ["update"] and attributes <= known
        ):
            continue
        found[address] = (actions, sorted(attributes - known))
    return found


def assert_outputs(
    outputs: dict[str, Any], stack: dict[str, Any], shown: CdktfRun, moto: MotoServer
) -> None:
    """`cdktf output` printed every output of the stack, with the values of what moto holds."""
    assert sorted(outputs) == sorted(stack["output"])
    assert all(f"{name} =" in shown.output for name in outputs), shown.output[-3000:]
    assert outputs["alb_url"] == f"http://{outputs['alb_dns_name']}"
    (service,) = moto.client("ecs").describe_services(
        cluster=outputs["cluster_name"], services=[outputs["service_name"]]
    )["services"]
    assert (service["status"], service["launchType"]) == ("ACTIVE", "FARGATE")


def wait_for_lock(s3: Any, bucket: str, lock_key: str, holder: Any, timeout: float = 600) -> None:
    """Until the S3 lock file exists; fails if `holder` (the deploy) ends first."""
    deadline = time.monotonic() + timeout
    while s3.list_objects_v2(Bucket=bucket, Prefix=lock_key)["KeyCount"] == 0:
        if holder.poll() is not None:
            raise AssertionError(f"the deploy ended (exit {holder.returncode}) before it locked")
        if time.monotonic() > deadline:
            raise AssertionError(f"no lock file s3://{bucket}/{lock_key} after {timeout} s")
        time.sleep(0.5)


def assert_quiet(*runs: CdktfRun) -> None:
    """No command reached for telemetry (scripts/cdktf turns it off)."""
    for run in runs:
        for marker in ("checkpoint", "ENOTFOUND", "telemetry"):
            assert marker not in run.output, f"cdktf {' '.join(run.args)}: {marker!r} in output"


@pytest.mark.xdist_group("cdktf-ecs-byop")
def test_cdktf_deploy_output_diff_and_destroy_with_remote_state_against_moto(
    synth_example: Callable[[str], Path], moto_server: MotoServer, tmp_path: Path
) -> None:
    moto_server.reset()
    config = load_config(resolve_config_path(EXAMPLE))
    assert config.state is not None
    bucket, key = config.state.bucket, state_key(config, STACK)
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": config.region})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    stack_json = (synth_example(EXAMPLE) / "stacks" / STACK / "cdk.tf.json").read_text()
    stack = json.loads(stack_json)
    applied = [a for a in addresses(stack) if kind_of(a) not in NOT_IN_MOTO]
    home = tmp_path / "home"
    home.mkdir()
    env = moto_env(moto_server, home) | {
        "HYPERNYM_DEPLOYMENT": EXAMPLE,
        "TF_CLI_ARGS_apply": " ".join(f"-target={address}" for address in applied),
        # The state is what the deploy wrote (`diff` has just compared it with moto).
        "TF_CLI_ARGS_destroy": "-refresh=false",
    }
    user = CdktfProject.linked(tmp_path / "user", env)
    colleague = CdktfProject.linked(tmp_path / "colleague", env)

    # The user deploys; a colleague's deploy from another checkout meets the lock.
    deploy = ("deploy", STACK, "--auto-approve")
    first = user.start(*deploy)
    wait_for_lock(s3, bucket, f"{key}.tflock", first.process)
    refused = colleague.run(*deploy, check=False)
    synthesized = colleague.run("synth")  # meanwhile: what cdktf.json's app writes
    deployed = first.finish()
    assert refused.returncode != 0, (
        "the second deploy ran: the first had released the lock before the second reached it\n"
        + refused.output[-3000:]
    )
    assert "Error acquiring the state lock" in refused.output, refused.output[-3000:]
    assert f"Generated Terraform code for the stacks: {STACK}" in synthesized.output
    assert (colleague.stack_dir(STACK) / "cdk.tf.json").read_text() == stack_json
    assert f"Apply complete! Resources: {len(applied)} added, 0 changed" in deployed.output
    assert b"aws_ecs_service" in s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"{key}.tflock")["KeyCount"] == 0
    assert not list(user.directory.glob("*.tfstate")), "remote state must leave no local copy"
    assert not list(user.stack_dir(STACK).glob("*.tfstate"))

    # The colleague reads the outputs while the user diffs (`output` takes no lock).
    outputs_file = tmp_path / "outputs.json"
    reading = colleague.start("output", STACK, "--outputs-file", str(outputs_file))
    diffed = user.run("diff", STACK)
    shown = reading.finish()
    assert_outputs(json.loads(outputs_file.read_text())[STACK], stack, shown, moto_server)
    plan = json.loads(Terraform(user.stack_dir(STACK), env=env).run("show", "-json", "plan").stdout)
    changes = proposed(plan)
    assert unexplained(changes) == {}, "cdktf diff proposes changes moto does not explain"
    creates = sorted(a for a, (actions, _) in changes.items() if actions == ["create"])
    assert creates == sorted(a for a in addresses(stack) if kind_of(a) in NOT_IN_MOTO)
    summary = f"Plan: {len(creates)} to add, {len(changes) - len(creates)} to change, 0 to destroy."
    assert summary in diffed.output, diffed.output[-3000:]

    destroyed = user.run("destroy", STACK, "--auto-approve")
    assert f"Destroy complete! Resources: {len(applied)} destroyed." in destroyed.output
    assert b"aws_ecs_service" not in s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert moto_server.client("elbv2").describe_load_balancers()["LoadBalancers"] == []

    assert_quiet(synthesized, deployed, refused, shown, diffed, destroyed)
    for run in (synthesized, deployed, shown, diffed, destroyed):
        assert "[ERROR]" not in run.output, f"cdktf {' '.join(run.args)}:\n{run.output[-3000:]}"
    # Only the jsii runtime's package cache, which every synthesis of the app uses.
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    assert [p for p in written if not p.startswith(JSII_CACHE)] == [], "written into the home"
