"""The cluster stack's Terraform JSON, one rule per test (both examples where it matters)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from modules.config import EKS_STANDARD_SUPPORT_ENDS, advisories, parse_config
from modules.config.model import EKS_ADDON_NAMES
from modules.constructs.eks_cluster import node_ami_type
from tests.infra.synthesized import endpoint_service_name

from .stacks import (
    GATEWAY_TOKEN_ARN,
    EksSynth,
    address,
    example_data,
    one,
    policy,
    resources,
    synthesize,
)

ROLE_PURPOSES = {
    "eks-app": ("hypernym", "hypernym-api"),
    "eks-lb-controller": ("kube-system", "aws-load-balancer-controller"),
    "eks-vpc-cni": ("kube-system", "aws-node"),
    "eks-observability": ("amazon-cloudwatch", "cloudwatch-agent"),
}

CLUSTER_KEY = {"description": "hypernym-eks: Kubernetes Secrets, control-plane and container logs"}
"""The cluster's own key (the asynchronous jobs have theirs: tests/infra/test_async_jobs.py)."""


def role(synth: EksSynth, purpose: str) -> dict:
    name = f"{synth.config.name}-{purpose}-{synth.config.region}"
    return one(synth.cluster, "aws_iam_role", name=name)


def inline_policies(synth: EksSynth, purpose: str) -> list[dict]:
    role_address = address(
        synth.cluster, "aws_iam_role", name=f"{synth.config.name}-{purpose}-{synth.config.region}"
    )
    return [
        policy(p)
        for p in resources(synth.cluster, "aws_iam_role_policy").values()
        if p["role"] == f"${{{role_address}.id}}"
    ]


def statements(synth: EksSynth, purpose: str) -> list[dict]:
    return [s for document in inline_policies(synth, purpose) for s in document["Statement"]]


def addon(synth: EksSynth, name: str) -> dict:
    return one(synth.cluster, "aws_eks_addon", addon_name=name)


# --- control plane -------------------------------------------------------------------------------


def test_api_endpoint_is_private_by_default(managed: EksSynth) -> None:
    vpc = one(managed.cluster, "aws_eks_cluster")["vpc_config"]
    assert (vpc["endpoint_private_access"], vpc["endpoint_public_access"]) == (True, False)
    assert "public_access_cidrs" not in vpc


def test_public_endpoint_is_opt_in_with_a_cidr_allow_list(tmp_path: Path) -> None:
    data = example_data("eks-managed")
    data["eks"].update(endpoint_public_access=True, public_access_cidrs=["203.0.113.0/24"])
    vpc = one(synthesize(data, tmp_path).cluster, "aws_eks_cluster")["vpc_config"]
    assert (vpc["endpoint_public_access"], vpc["public_access_cidrs"]) == (True, ["203.0.113.0/24"])


def test_kubernetes_version_is_the_configured_one_in_standard_support(managed: EksSynth) -> None:
    cluster = one(managed.cluster, "aws_eks_cluster")
    assert cluster["version"] == managed.config.eks.kubernetes_version
    assert cluster["version"] in EKS_STANDARD_SUPPORT_ENDS
    assert cluster["upgrade_policy"] == {"support_type": "STANDARD"}


def test_eks_synthesizes_past_the_end_of_standard_support_with_a_warning(tmp_path: Path) -> None:
    # GIVEN the example's version, on a day after the whole calendar has run out
    data = example_data("eks-managed")
    after_the_calendar = max(EKS_STANDARD_SUPPORT_ENDS.values()).replace(year=2031)
    # WHEN it is loaded and synthesized (a plan, apply or destroy needs that)
    config = parse_config(data)
    synth = synthesize(data, tmp_path)
    # THEN it synthesizes, with one warning that says what to do
    (warning,) = advisories(config, today=after_the_calendar)
    assert "left EKS standard support" in warning
    assert 'README "Upgrading EKS"' in warning
    assert one(synth.cluster, "aws_eks_cluster")["version"] == config.eks.kubernetes_version


def test_every_control_plane_log_type_goes_to_a_log_group_with_retention(managed: EksSynth) -> None:
    cluster = one(managed.cluster, "aws_eks_cluster")
    assert sorted(cluster["enabled_cluster_log_types"]) == sorted(
        ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    )
    logs = one(
        managed.cluster, "aws_cloudwatch_log_group", name=f"/aws/eks/{managed.config.name}/cluster"
    )
    assert logs["retention_in_days"] == managed.config.eks.log_retention_days
    # Created before the cluster, or EKS would create it without retention.
    assert any(d.startswith("aws_cloudwatch_log_group.") for d in cluster["depends_on"])


def test_secrets_are_envelope_encrypted_with_a_rotating_kms_key(managed: EksSynth) -> None:
    (encryption,) = [one(managed.cluster, "aws_eks_cluster")["encryption_config"]]
    assert encryption["resources"] == ["secrets"]
    key_address = address(managed.cluster, "aws_kms_key", **CLUSTER_KEY)
    assert encryption["provider"]["key_arn"] == f"${{{key_address}.arn}}"
    assert one(managed.cluster, "aws_kms_key", **CLUSTER_KEY)["enable_key_rotation"] is True


def test_authentication_is_access_entries_only_without_creator_admin(managed: EksSynth) -> None:
    access = one(managed.cluster, "aws_eks_cluster")["access_config"]
    assert access == {
        "authentication_mode": "API",
        "bootstrap_cluster_creator_admin_permissions": False,
    }


def test_each_configured_admin_role_gets_a_cluster_admin_access_entry(managed: EksSynth) -> None:
    (admin,) = managed.config.eks.admin_role_arns
    entry = one(managed.cluster, "aws_eks_access_entry", principal_arn=admin)
    assert entry["type"] == "STANDARD"
    association = one(managed.cluster, "aws_eks_access_policy_association", principal_arn=admin)
    assert association["policy_arn"].endswith(
        ":eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    )
    assert association["access_scope"] == {"type": "cluster"}


def test_self_managed_addons_are_not_bootstrapped(managed: EksSynth) -> None:
    assert one(managed.cluster, "aws_eks_cluster")["bootstrap_self_managed_addons"] is False


CHART_MIRROR = "oci://123456789012.dkr.ecr.eu-west-1.amazonaws.com/charts"
RUNNER_GROUP = "sg-0123456789abcdef0"


@pytest.fixture(scope="module")
def api_clients(tmp_path_factory: pytest.TempPathFactory) -> EksSynth:
    """eks-managed with its API clients named and the controller chart from an ECR mirror."""
    data = example_data("eks-managed")
    data["eks"].update(
        api_client_cidrs=["10.20.0.0/16", "192.168.0.0/24"],
        api_client_security_group_ids=[RUNNER_GROUP],
        load_balancer_controller_chart_repository=CHART_MIRROR,
    )
    return synthesize(data, tmp_path_factory.mktemp("api-clients"))


def api_group_ingress(synth: EksSynth) -> list[tuple[int, str]]:
    """(port, peer) of every ingress rule of the security group attached to the control plane."""
    (group,) = one(synth.cluster, "aws_eks_cluster")["vpc_config"]["security_group_ids"]
    return sorted(
        (r["from_port"], r.get("cidr_ipv4") or r["referenced_security_group_id"])
        for r in resources(synth.cluster, "aws_vpc_security_group_ingress_rule").values()
        if r["security_group_id"] == group
    )


def test_api_endpoint_admits_the_api_client_cidrs_on_443_through_its_own_security_group(
    api_clients: EksSynth,
) -> None:
    assert api_group_ingress(api_clients) == [
        (443, "10.20.0.0/16"),
        (443, "192.168.0.0/24"),
        (443, RUNNER_GROUP),
    ]


def test_api_clients_default_to_the_vpc_range(managed: EksSynth) -> None:
    vpc = address(managed.cluster, "aws_vpc")
    assert api_group_ingress(managed) == [(443, f"${{{vpc}.cidr_block}}")]


def test_endpoints_admit_the_cluster_security_group_not_the_vpc(managed: EksSynth) -> None:
    group = address(managed.cluster, "aws_security_group", name="hypernym-eks-endpoints")
    ingress = [
        r
        for r in resources(managed.cluster, "aws_vpc_security_group_ingress_rule").values()
        if r["security_group_id"] == f"${{{group}.id}}"
    ]
    cluster = address(managed.cluster, "aws_eks_cluster")
    assert [(r["from_port"], r.get("referenced_security_group_id")) for r in ingress] == [
        (443, f"${{{cluster}.vpc_config[0].cluster_security_group_id}}")
    ]


def test_endpoints_admit_the_runner_when_the_chart_comes_from_an_ecr_mirror(
    api_clients: EksSynth,
) -> None:
    group = address(api_clients.cluster, "aws_security_group", name="hypernym-eks-endpoints")
    peers = sorted(
        r.get("cidr_ipv4", "group")
        for r in resources(api_clients.cluster, "aws_vpc_security_group_ingress_rule").values()
        if r["security_group_id"] == f"${{{group}.id}}"
    )
    assert peers == ["10.20.0.0/16", "192.168.0.0/24", "group"]


def endpoint_policy(synth: EksSynth, service: str) -> dict:
    name = f"com.amazonaws.{synth.config.region}.{service}"
    return policy(one(synth.cluster, "aws_vpc_endpoint", service_name=name))


def test_interface_endpoint_policies_admit_only_the_deployment_roles_and_admins(
    managed: EksSynth,
) -> None:
    expected = sorted(
        [
            f"${{{address(managed.cluster, 'aws_iam_role', name=name)}.arn}}"
            for name in (
                f"hypernym-eks-{purpose}-eu-west-1"
                for purpose in (
                    "eks-node",
                    "eks-vpc-cni",
                    "eks-observability",
                    "eks-lb-controller",
                    "eks-app",
                    "eks-autoscaler",
                )
            )
        ]
        + list(managed.config.eks.admin_role_arns)
    )
    for service in ("ecr.api", "ecr.dkr", "logs", "sts", "ec2", "elasticloadbalancing"):
        statement = endpoint_policy(managed, service)["Statement"][0]
        assert statement["Sid"] == "DeploymentPrincipals"
        assert sorted(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == expected


def test_sts_endpoint_lets_web_identities_assume_only_the_irsa_roles(managed: EksSynth) -> None:
    _, web_identity = endpoint_policy(managed, "sts")["Statement"]
    assert web_identity["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert sorted(web_identity["Resource"]) == sorted(
        f"${{{address(managed.cluster, 'aws_iam_role', name=f'hypernym-eks-{p}-eu-west-1')}.arn}}"
        for p in (
            "eks-vpc-cni",
            "eks-observability",
            "eks-lb-controller",
            "eks-app",
            "eks-autoscaler",
        )
    )


# --- nodes ---------------------------------------------------------------------------------------


def test_node_group_follows_the_cluster_version(managed: EksSynth) -> None:
    nodes = one(managed.cluster, "aws_eks_node_group")
    assert nodes["version"] == f"${{{address(managed.cluster, 'aws_eks_cluster')}.version}}"


def test_node_group_is_al2023_t3_medium_2_2_10_in_the_private_subnets(managed: EksSynth) -> None:
    nodes = one(managed.cluster, "aws_eks_node_group")
    assert nodes["ami_type"] == "AL2023_x86_64_STANDARD"
    assert nodes["instance_types"] == ["t3.medium"]
    assert nodes["scaling_config"] == {"min_size": 2, "desired_size": 2, "max_size": 10}
    subnets = one(managed.cluster, "aws_eks_cluster")["vpc_config"]["subnet_ids"]
    assert nodes["subnet_ids"] == subnets
    assert all(".private-" in s or "private" in s for s in subnets)


def test_nodes_launch_from_a_template_with_imdsv2_required_and_hop_limit_1(
    managed: EksSynth,
) -> None:
    template = one(managed.cluster, "aws_launch_template")
    assert template["metadata_options"]["http_tokens"] == "required"
    assert template["metadata_options"]["http_put_response_hop_limit"] == 1
    nodes = one(managed.cluster, "aws_eks_node_group")
    assert (
        nodes["launch_template"]["id"]
        == f"${{{address(managed.cluster, 'aws_launch_template')}.id}}"
    )


def test_launch_template_tags_instances_volumes_and_interfaces_with_every_deployment_tag(
    managed: EksSynth,
) -> None:
    # The provider's default tags never reach what a launch template launches: each kind the
    # template tags carries them all (cost allocation, ownership) plus its Name.
    (provider,) = managed.cluster["provider"]["aws"]
    (defaults,) = provider["default_tags"]
    specifications = one(managed.cluster, "aws_launch_template")["tag_specifications"]
    assert sorted(s["resource_type"] for s in specifications) == [
        "instance",
        "network-interface",
        "volume",
    ]
    for specification in specifications:
        assert specification["tags"] == {
            **defaults["tags"],
            "Name": f"{managed.config.name}-node",
        }, specification["resource_type"]
    assert {"Team", "Deployment", "Environment"} <= set(defaults["tags"])


def test_node_root_volume_is_encrypted(managed: EksSynth) -> None:
    (device,) = one(managed.cluster, "aws_launch_template")["block_device_mappings"]
    assert device["ebs"]["encrypted"] == "true"


def test_node_role_has_no_cni_permissions(managed: EksSynth) -> None:
    node_role = address(
        managed.cluster,
        "aws_iam_role",
        name=f"{managed.config.name}-eks-node-{managed.config.region}",
    )
    attached = [
        a["policy_arn"]
        for a in resources(managed.cluster, "aws_iam_role_policy_attachment").values()
        if a["role"] == f"${{{node_role}.name}}"
    ]
    assert sorted(a.rsplit("/", 1)[1] for a in attached) == [
        "AmazonEC2ContainerRegistryPullOnly",
        "AmazonEKSWorkerNodePolicy",
    ]


def test_nodes_pull_images_with_ecr_pull_only_not_read_only(managed: EksSynth) -> None:
    # ReadOnly also lists and describes every repository of the account; pulling needs none.
    attached = {
        a["policy_arn"].rsplit("/", 1)[1]
        for a in resources(managed.cluster, "aws_iam_role_policy_attachment").values()
    }
    assert "AmazonEC2ContainerRegistryPullOnly" in attached
    assert "AmazonEC2ContainerRegistryReadOnly" not in attached


def test_private_subnets_are_tagged_for_internal_load_balancers(managed: EksSynth) -> None:
    subnets = [
        s
        for s in resources(managed.cluster, "aws_subnet").values()
        if s["tags"].get("Tier") == "private"
    ]
    assert len(subnets) == len(managed.config.network.private_subnet_cidrs)
    assert all(s["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in subnets)
    # Declared on the subnets themselves: a tag added beside them would be removed on re-apply.
    assert not resources(managed.cluster, "aws_ec2_tag")


def test_subnets_of_an_existing_vpc_are_tagged_beside_them(tmp_path: Path) -> None:
    data = example_data("eks-managed")
    data["network"] = {
        "existing_vpc_id": "vpc-0123456789abcdef0",
        "client_cidrs": ["10.2.0.0/16"],
        "existing_private_subnet_ids": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        "existing_private_route_table_ids": ["rtb-0123456789abcdef0", "rtb-0123456789abcdef1"],
    }
    data["inference"]["managed_api_cidrs"] = ["10.2.0.0/16"]
    tags = resources(synthesize(data, tmp_path).cluster, "aws_ec2_tag").values()
    assert sorted((t["resource_id"], t["key"], t["value"]) for t in tags) == [
        (subnet, "kubernetes.io/role/internal-elb", "1")
        for subnet in data["network"]["existing_private_subnet_ids"]
    ]


# --- IRSA ----------------------------------------------------------------------------------------


def test_oidc_provider_serves_the_cluster_issuer_to_sts(managed: EksSynth) -> None:
    provider = one(managed.cluster, "aws_iam_openid_connect_provider")
    assert (
        provider["url"]
        == f"${{{address(managed.cluster, 'aws_eks_cluster')}.identity[0].oidc[0].issuer}}"
    )
    assert provider["client_id_list"] == ["sts.amazonaws.com"]


@pytest.mark.parametrize("purpose", sorted(ROLE_PURPOSES))
def test_irsa_role_trusts_exactly_one_service_account_on_the_issuer_path(
    managed: EksSynth, purpose: str
) -> None:
    (statement,) = policy(role(managed, purpose), "assume_role_policy")["Statement"]
    provider = address(managed.cluster, "aws_iam_openid_connect_provider")
    assert statement["Principal"] == {"Federated": f"${{{provider}.arn}}"}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    conditions = statement["Condition"]["StringEquals"]
    namespace, account = ROLE_PURPOSES[purpose]
    cluster = address(managed.cluster, "aws_eks_cluster")
    issuer = f"${{replace({cluster}.identity[0].oidc[0].issuer, 'https://', '')}}"
    # Keys on the issuer's host/path: a key built from the provider ARN never matches.
    assert conditions == {
        f"{issuer}:sub": f"system:serviceaccount:{namespace}:{account}",
        f"{issuer}:aud": "sts.amazonaws.com",
    }


def test_app_role_may_meter_usage(managed: EksSynth) -> None:
    (metering,) = [s for s in statements(managed, "eks-app") if s["Sid"] == "MarketplaceMetering"]
    assert sorted(metering["Action"]) == [
        "aws-marketplace:MeterUsage",
        "aws-marketplace:RegisterUsage",
    ]


def secret_reads(synth: EksSynth, sid: str) -> list[str]:
    """Resources of the app role's statements with this Sid (ReadSecret: the provider's)."""
    return [s["Resource"] for s in statements(synth, "eks-app") if s["Sid"] == sid]


def test_byop_app_role_reads_exactly_the_byop_secret(byop: EksSynth) -> None:
    assert secret_reads(byop, "ReadSecret") == [byop.config.inference.byop_secret_arn]


def test_managed_app_role_reads_no_provider_secret(managed: EksSynth) -> None:
    assert secret_reads(managed, "ReadSecret") == []


def test_managed_app_role_reads_exactly_the_gateway_token_when_configured(
    managed_with_token: EksSynth,
) -> None:
    reads = [s for s in statements(managed_with_token, "eks-app") if s["Sid"] == "ReadSecret"]
    assert [(s["Action"], s["Resource"]) for s in reads] == [
        ("secretsmanager:GetSecretValue", GATEWAY_TOKEN_ARN)
    ]


def test_app_role_reads_exactly_the_api_keys_secret(managed: EksSynth, byop: EksSynth) -> None:
    for synth in (managed, byop):
        assert secret_reads(synth, "ReadApiKeys") == [synth.config.api.keys_secret_arn]
        secret_actions = {
            str(s["Action"]) for s in statements(synth, "eks-app") if "secretsmanager" in str(s)
        }
        assert secret_actions == {"secretsmanager:GetSecretValue"}


def test_load_balancer_controller_mutates_only_this_clusters_resources(managed: EksSynth) -> None:
    by_sid = {s["Sid"]: s for s in statements(managed, "eks-lb-controller")}
    tag = "aws:ResourceTag/elbv2.k8s.aws/cluster"
    for sid in ("ModifyOwnLoadBalancer", "DeleteOwnSecurityGroup", "RetagOwnLoadBalancer"):
        assert by_sid[sid]["Condition"]["StringEquals"][tag] == managed.config.name, sid
    create = by_sid["CreateLoadBalancer"]["Condition"]["StringEquals"]
    assert create == {"aws:RequestTag/elbv2.k8s.aws/cluster": managed.config.name}


LISTENER_RULE_AND_TARGET_ACTIONS = {
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:RemoveListenerCertificates",
    "elasticloadbalancing:CreateRule",
    "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:SetRulePriorities",
    "elasticloadbalancing:RegisterTargets",
    "elasticloadbalancing:DeregisterTargets",
}


def test_load_balancer_controller_listener_rule_and_target_actions_need_this_clusters_tag(
    managed: EksSynth,
) -> None:
    # aws:ResourceTag is evaluated on the load balancer, listener, rule or target group, all
    # of which the controller tags with elbv2.k8s.aws/cluster (ListenerRulesTagging on).
    granting = [
        s
        for s in statements(managed, "eks-lb-controller")
        if LISTENER_RULE_AND_TARGET_ACTIONS & set(s["Action"])
    ]
    assert {a for s in granting for a in s["Action"]} >= LISTENER_RULE_AND_TARGET_ACTIONS
    tag = "aws:ResourceTag/elbv2.k8s.aws/cluster"
    for statement in granting:
        assert statement["Condition"]["StringEquals"][tag] == managed.config.name, statement


def test_load_balancer_controller_changes_security_group_rules_only_in_the_vpc(
    managed: EksSynth,
) -> None:
    (rules,) = [
        s for s in statements(managed, "eks-lb-controller") if s["Sid"] == "SecurityGroupRulesInVpc"
    ]
    vpc = address(managed.cluster, "aws_vpc")
    assert rules["Condition"]["ArnEquals"]["ec2:Vpc"].endswith(f":vpc/${{{vpc}.id}}")


def test_load_balancer_controller_has_no_waf_shield_or_cognito_actions(managed: EksSynth) -> None:
    actions = [
        a
        for s in statements(managed, "eks-lb-controller")
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert not [a for a in actions if re.match(r"(waf|wafv2|waf-regional|shield|cognito-idp):", a)]


# --- add-ons --------------------------------------------------------------------------------------


def test_the_cluster_gets_exactly_the_configurable_addons(managed: EksSynth) -> None:
    names = {a["addon_name"] for a in resources(managed.cluster, "aws_eks_addon").values()}
    assert names == set(EKS_ADDON_NAMES)


@pytest.mark.parametrize("name", EKS_ADDON_NAMES)
def test_addon_versions_are_resolved_for_the_cluster_version(managed: EksSynth, name: str) -> None:
    # EKS's default version for the configured Kubernetes version, read at plan time: a
    # version upgrade moves every add-on in the same plan.
    ((key, version),) = [
        (key, v)
        for key, v in managed.cluster["data"]["aws_eks_addon_version"].items()
        if v["addon_name"] == name
    ]
    assert addon(managed, name)["addon_version"] == f"${{data.aws_eks_addon_version.{key}.version}}"
    assert version["kubernetes_version"] == managed.config.eks.kubernetes_version
    assert version["most_recent"] is False


def test_pinned_addon_versions_are_used_as_configured(pinned: EksSynth) -> None:
    for name, version in pinned.config.eks.addon_versions.items():
        assert addon(pinned, name)["addon_version"] == version
    assert "aws_eks_addon_version" not in pinned.cluster.get("data", {})


def test_vpc_cni_enforces_network_policies_with_its_own_irsa_role(managed: EksSynth) -> None:
    cni = addon(managed, "vpc-cni")
    assert cni["configuration_values"] == '{"enableNetworkPolicy": "true"}'
    cni_role = address(
        managed.cluster,
        "aws_iam_role",
        name=f"{managed.config.name}-eks-vpc-cni-{managed.config.region}",
    )
    assert cni["service_account_role_arn"] == f"${{{cni_role}.arn}}"


def test_vpc_cni_and_kube_proxy_come_before_the_nodes(managed: EksSynth) -> None:
    nodes = one(managed.cluster, "aws_eks_node_group")
    for name in ("vpc-cni", "kube-proxy"):
        assert address(managed.cluster, "aws_eks_addon", addon_name=name) in nodes["depends_on"]


@pytest.mark.parametrize("name", ["coredns", "metrics-server", "amazon-cloudwatch-observability"])
def test_addons_that_run_pods_come_after_the_nodes(managed: EksSynth, name: str) -> None:
    assert address(managed.cluster, "aws_eks_node_group") in addon(managed, name)["depends_on"]


def test_cloudwatch_observability_runs_with_the_agent_policy(managed: EksSynth) -> None:
    observability = addon(managed, "amazon-cloudwatch-observability")
    role_address = address(
        managed.cluster,
        "aws_iam_role",
        name=f"{managed.config.name}-eks-observability-{managed.config.region}",
    )
    assert observability["service_account_role_arn"] == f"${{{role_address}.arn}}"
    attached = [
        a["policy_arn"]
        for a in resources(managed.cluster, "aws_iam_role_policy_attachment").values()
        if a["role"] == f"${{{role_address}.name}}"
    ]
    assert [a.rsplit("/", 1)[1] for a in attached] == ["CloudWatchAgentServerPolicy"]


def test_application_signals_is_off_in_the_observability_configuration(
    managed: EksSynth,
) -> None:
    # Off deliberately: it needs X-Ray (an endpoint and a permission this deployment lacks),
    # bills per request and has no instrumented workload here. Container Insights stays on.
    configuration = json.loads(
        addon(managed, "amazon-cloudwatch-observability")["configuration_values"]
    )
    assert "application_signals" not in json.dumps(configuration)
    assert "traces" not in configuration["agent"]["config"]
    kubernetes = configuration["agent"]["config"]["logs"]["metrics_collected"]["kubernetes"]
    assert kubernetes == {"enhanced_container_insights": True}


CONTAINER_INSIGHTS_LOGS = ("application", "dataplane", "host", "performance")


@pytest.mark.parametrize("kind", CONTAINER_INSIGHTS_LOGS)
def test_container_insights_log_groups_are_created_with_retention_and_the_cluster_key(
    managed: EksSynth, kind: str
) -> None:
    logs = one(
        managed.cluster,
        "aws_cloudwatch_log_group",
        name=f"/aws/containerinsights/{managed.config.name}/{kind}",
    )
    expected = (
        managed.config.service.log_retention_days
        if kind == "application"
        else managed.config.eks.log_retention_days
    )
    assert logs["retention_in_days"] == expected
    assert (
        logs["kms_key_id"] == f"${{{address(managed.cluster, 'aws_kms_key', **CLUSTER_KEY)}.arn}}"
    )
    group = address(
        managed.cluster,
        "aws_cloudwatch_log_group",
        name=f"/aws/containerinsights/{managed.config.name}/{kind}",
    )
    # Before the add-on, or its agents would create the group without retention or key.
    assert group in addon(managed, "amazon-cloudwatch-observability")["depends_on"]


def test_cluster_key_lets_cloudwatch_logs_encrypt_only_the_clusters_log_groups(
    managed: EksSynth,
) -> None:
    (logs,) = [
        s
        for s in policy(one(managed.cluster, "aws_kms_key", **CLUSTER_KEY))["Statement"]
        if s["Principal"] == {"Service": f"logs.{managed.config.region}.amazonaws.com"}
    ]
    arns = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    name = managed.config.name
    assert [a.split(":log-group:", 1)[1] for a in arns] == [
        f"/aws/eks/{name}/cluster",
        f"/aws/containerinsights/{name}/*",
    ]


# --- network -------------------------------------------------------------------------------------


def interface_endpoints(synth: EksSynth) -> set[str]:
    prefix = f"com.amazonaws.{synth.config.region}."
    return {
        endpoint_service_name(synth.cluster, e).removeprefix(prefix)
        for e in resources(synth.cluster, "aws_vpc_endpoint").values()
        if e["vpc_endpoint_type"] == "Interface"
    }


def test_private_cluster_endpoints_exist_besides_the_container_ones(managed: EksSynth) -> None:
    assert {
        "ec2",
        "sts",
        "elasticloadbalancing",
        "ecr.api",
        "ecr.dkr",
        "logs",
        "metering.marketplace",
    } <= interface_endpoints(managed)


def test_a_read_secret_adds_the_secrets_manager_endpoint(
    byop: EksSynth, managed_with_token: EksSynth, managed: EksSynth
) -> None:
    # eks-managed reads only its API keys secret: that alone needs the endpoint.
    for synth in (byop, managed_with_token, managed):
        assert "secretsmanager" in interface_endpoints(synth)


def test_cluster_stack_has_only_the_aws_provider(managed: EksSynth) -> None:
    assert set(managed.cluster["provider"]) == {"aws"}


@pytest.mark.parametrize(
    ("instance_type", "ami_type"),
    [
        ("t3.medium", "AL2023_x86_64_STANDARD"),
        ("m7i.large", "AL2023_x86_64_STANDARD"),
        ("t4g.medium", "AL2023_ARM_64_STANDARD"),
        ("c7gn.large", "AL2023_ARM_64_STANDARD"),
    ],
)
def test_node_ami_matches_the_instance_architecture(instance_type: str, ami_type: str) -> None:
    assert node_ami_type(instance_type) == ami_type
