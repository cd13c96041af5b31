"""Nodes that scale: the Cluster Autoscaler (default) in the cluster and apps stacks' JSON.

The rules encoded here come from AWS's and the autoscaler's documentation: a private cluster
pulls only from ECR (so the image comes through a pull-through cache of registry.k8s.io, whose
first pull needs ecr:BatchImportUpstreamImage and ecr:CreateRepository); the autoscaler calls
the Auto Scaling API (an `autoscaling` interface endpoint) and EC2 (`ec2`), with IRSA
credentials (`sts`); its minor version matches the cluster's.
"""

from __future__ import annotations

import json

import pytest

from modules.config import EKS_STANDARD_SUPPORT_ENDS, ConfigError, parse_config
from modules.constructs.app_release import CLUSTER_AUTOSCALER_CHART, CLUSTER_AUTOSCALER_IMAGE_TAGS
from modules.constructs.eks_iam import CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS

from .stacks import EksSynth, example_data, one, policy, resources, synthesize
from .test_cluster_stack import role, statements


def autoscaler_values(synth: EksSynth) -> dict:
    release = one(synth.apps, "helm_release", name="cluster-autoscaler")
    (values,) = release["values"]
    return json.loads(values)


@pytest.fixture(scope="module")
def fixed_nodes(tmp_path_factory: pytest.TempPathFactory) -> EksSynth:
    data = example_data("eks-managed")
    data["eks"]["node_autoscaler"] = "none"
    return synthesize(data, tmp_path_factory.mktemp("fixed-nodes"))


def test_the_autoscaler_image_comes_through_a_pull_through_cache_of_registry_k8s_io(
    managed: EksSynth,
) -> None:
    rule = one(managed.cluster, "aws_ecr_pull_through_cache_rule")
    assert rule == {
        **rule,
        "ecr_repository_prefix": "hypernym-eks-k8s",
        "upstream_registry_url": "registry.k8s.io",
    }
    image = autoscaler_values(managed)["image"]
    assert image["repository"].endswith(
        ".dkr.ecr.eu-west-1.amazonaws.com/hypernym-eks-k8s/autoscaling/cluster-autoscaler"
    )
    assert image["tag"] == CLUSTER_AUTOSCALER_IMAGE_TAGS[managed.config.eks.kubernetes_version]


def test_only_the_nodes_may_fill_the_cache_and_only_under_its_prefix(managed: EksSynth) -> None:
    (grant,) = [s for s in statements(managed, "eks-node") if s["Sid"] == "PullThroughCache"]
    assert sorted(grant["Action"]) == ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
    assert grant["Resource"].endswith(
        ":ecr:eu-west-1:${data.aws_caller_identity.caller.account_id}:repository/hypernym-eks-k8s/*"
    )


def test_the_autoscaler_may_resize_only_this_clusters_node_groups(managed: EksSynth) -> None:
    by_sid = {s["Sid"]: s for s in statements(managed, "eks-autoscaler")}
    assert set(by_sid) == {"DescribeScalingGroups", "ScaleThisClustersNodeGroups"}
    describe = by_sid["DescribeScalingGroups"]
    assert describe["Action"] == list(CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS)
    assert all(":Describe" in a or ":Get" in a for a in describe["Action"]), "reads only"
    scale = by_sid["ScaleThisClustersNodeGroups"]
    assert sorted(scale["Action"]) == [
        "autoscaling:SetDesiredCapacity",
        "autoscaling:TerminateInstanceInAutoScalingGroup",
    ]
    assert ":autoscaling:eu-west-1:" in scale["Resource"]
    assert scale["Condition"] == {
        "StringEquals": {
            "aws:ResourceTag/k8s.io/cluster-autoscaler/hypernym-eks": "owned",
            "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
        }
    }


def test_the_autoscaler_role_trusts_only_its_service_account(managed: EksSynth) -> None:
    trust = policy(role(managed, "eks-autoscaler"), "assume_role_policy")
    (statement,) = trust["Statement"]
    (subject,) = [
        v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")
    ]
    assert subject == "system:serviceaccount:kube-system:cluster-autoscaler"
    values = autoscaler_values(managed)
    account = values["rbac"]["serviceAccount"]
    assert account["name"] == "cluster-autoscaler"
    assert "cluster-autoscaler-role" in account["annotations"]["eks.amazonaws.com/role-arn"]


def test_the_autoscaler_finds_the_node_group_by_eks_tags_in_its_region(managed: EksSynth) -> None:
    values = autoscaler_values(managed)
    assert values["autoDiscovery"] == {"clusterName": "hypernym-eks"}
    assert values["awsRegion"] == "eu-west-1", "pods cannot reach IMDS (hop limit 1)"
    assert values["extraEnv"] == {"AWS_STS_REGIONAL_ENDPOINTS": "regional"}
    release = one(managed.apps, "helm_release", name="cluster-autoscaler")
    assert (release["repository"], release["chart"], release["version"]) == (
        CLUSTER_AUTOSCALER_CHART
    )
    nodes = one(managed.cluster, "aws_eks_node_group")
    assert nodes["lifecycle"]["ignore_changes"] == ["scaling_config[0].desired_size"]


def test_a_private_cluster_with_the_autoscaler_has_the_autoscaling_endpoint(
    managed: EksSynth, fixed_nodes: EksSynth
) -> None:
    def endpoints(synth: EksSynth) -> set[str]:
        return {e["service_name"] for e in resources(synth.cluster, "aws_vpc_endpoint").values()}

    needed = {f"com.amazonaws.eu-west-1.{s}" for s in ("autoscaling", "ec2", "sts", "ecr.dkr")}
    assert needed <= endpoints(managed)
    assert "com.amazonaws.eu-west-1.autoscaling" not in endpoints(fixed_nodes)
    assert "com.amazonaws.eu-west-1.eks" not in endpoints(managed), "min nodes >= 1: not needed"


def test_every_kubernetes_version_in_standard_support_has_an_autoscaler_release() -> None:
    assert set(EKS_STANDARD_SUPPORT_ENDS) <= set(CLUSTER_AUTOSCALER_IMAGE_TAGS)
    for version, tag in CLUSTER_AUTOSCALER_IMAGE_TAGS.items():
        assert tag.startswith(f"v{version}."), "the autoscaler's minor matches the cluster's"


def test_without_the_autoscaler_nothing_of_it_is_made(fixed_nodes: EksSynth) -> None:
    assert resources(fixed_nodes.cluster, "aws_ecr_pull_through_cache_rule") == {}
    names = [r["name"] for r in resources(fixed_nodes.apps, "helm_release").values()]
    assert "cluster-autoscaler" not in names
    roles = [r["name"] for r in resources(fixed_nodes.cluster, "aws_iam_role").values()]
    assert not any("autoscaler" in n for n in roles)


def test_a_long_name_is_refused_before_the_cache_prefix_exceeds_ecr_s_limit() -> None:
    data = example_data("eks-managed")
    data["name"] = "a" * 27
    with pytest.raises(ConfigError) as error:
        parse_config(data, source="test")
    assert any("pull-through cache prefix" in p for p in error.value.problems)
