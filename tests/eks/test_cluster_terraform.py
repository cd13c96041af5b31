"""The cluster stack under real Terraform (offline provider mirror): applied to and destroyed
from the moto server (tests/infra/test_terraform.py validates every example's AWS stacks,
tests/infra/test_checkov.py scans them).

The apps stack cannot be initialised here (no helm provider in the mirror, no Kubernetes API):
its JSON is covered by test_apps_stack.py, its chart by test_chart.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.harness.moto import MotoServer
from tests.harness.terraform import Terraform

from .stacks import EksSynth, resources

MOTO_LACKS = (
    "aws_eks_addon",
    "aws_eks_access_entry",
    "aws_eks_access_policy_association",
    "aws_ecr_pull_through_cache_rule",
)
"""APIs moto 5.2.5 does not implement (EKS CreateAddon, CreateAccessEntry,
AssociateAccessPolicy; ECR CreatePullThroughCacheRule): those resources are planned, never
applied, against moto. It has no DescribeAddonVersions either, so the plan runs on the variant
whose add-on versions are pinned in the configuration (the lookups of the examples are covered
by test_cluster_stack.py)."""


def scratch_copy(synth: EksSynth, tmp_path: Path) -> Path:
    """The cluster stack's directory, copied so that terraform's files stay out of the synth;
    in the synth's layout, so the local state file lands in `tmp_path`."""
    workdir = tmp_path / "cdktf.out" / "stacks" / synth.directory("eks-cluster").name
    shutil.copytree(synth.directory("eks-cluster"), workdir)
    return workdir


@pytest.mark.terraform
@pytest.mark.slow
@pytest.mark.xdist_group("apply-eks-cluster")
def test_cluster_stack_applies_and_destroys_against_moto(
    pinned: EksSynth, moto_server: MotoServer, tmp_path: Path
) -> None:
    workdir = scratch_copy(pinned, tmp_path)
    stack = json.loads((workdir / "cdk.tf.json").read_text())
    moto_server.reset()
    terraform = Terraform(workdir, moto=moto_server)
    terraform.init(backend=True)

    # The whole stack plans, add-ons and access entries included.
    planned = terraform.plan()["resource_changes"]
    planned_types = {change["type"] for change in planned}
    assert set(MOTO_LACKS) <= planned_types

    # moto lacks them, so the node group's ordering after the VPC CNI/kube-proxy add-ons is
    # dropped from this scratch copy for the apply (Terraform refuses depends_on in override
    # files); the plan above ran on the stack as synthesized.
    # moto's CreateCluster returns no cluster security group, so the endpoints' rule admitting
    # it (which the nodes wait for) is planned, not applied, as well.
    cluster_group_rules = {
        f"aws_vpc_security_group_ingress_rule.{name}"
        for name, rule in resources(stack, "aws_vpc_security_group_ingress_rule").items()
        if "cluster_security_group_id" in rule.get("referenced_security_group_id", "")
    }
    assert cluster_group_rules
    for node_group in resources(stack, "aws_eks_node_group").values():
        node_group["depends_on"] = [
            d
            for d in node_group["depends_on"]
            if not d.startswith("aws_eks_addon.") and d not in cluster_group_rules
        ]
    (workdir / "cdk.tf.json").write_text(json.dumps(stack))
    targets = [
        f"-target={change['address']}"
        for change in planned
        if change["type"] not in MOTO_LACKS
        and change["mode"] == "managed"
        and change["address"] not in cluster_group_rules
    ]
    try:
        terraform.apply(*targets)
        # The state as stored (`show -json` would start the provider for its schema first).
        applied = {
            r["type"] for r in json.loads(terraform.run("state", "pull").stdout)["resources"]
        }
        assert {
            "aws_eks_cluster",
            "aws_eks_node_group",
            "aws_iam_openid_connect_provider",
            "aws_launch_template",
            "aws_kms_key",
        } <= applied
        outputs = terraform.output()
        assert outputs["cluster_name"]["value"] == pinned.config.name
        assert (tmp_path / f"terraform.{pinned.config.name}-eks-cluster.tfstate").is_file()
    finally:
        terraform.destroy("-refresh=false")  # the state is what the apply wrote, nothing since
    assert json.loads(terraform.run("state", "pull").stdout)["resources"] == []
