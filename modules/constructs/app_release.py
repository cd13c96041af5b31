"""Helm releases of the EKS apps stack: the AWS Load Balancer Controller and the Hypernym API.

The controller comes from its published chart with images from EKS's regional ECR registry
(reachable through the VPC endpoints) and the WAF/Shield integrations off (no endpoints for
them). The Hypernym release installs the chart kept with the service, copied into the stack as
an asset, with values the apps stack composes (modules/stacks/eks.py). metrics-server and
CloudWatch observability are EKS add-ons (eks_addons), not releases.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_helm.release import Release
from constructs import Construct

LOAD_BALANCER_CONTROLLER_CHART = ("aws-load-balancer-controller", "1.13.0")
"""Chart and pinned version (controller v2.13.0, whose IAM policy eks_iam scopes); the
repository is the deployment's (`eks.load_balancer_controller_chart_repository`)."""
LOAD_BALANCER_CONTROLLER_IMAGE_TAG = "v2.13.0"

EKS_IMAGE_REGISTRY_ACCOUNTS = {
    "af-south-1": "877085696533",
    "ap-east-1": "800184023465",
    "ap-south-2": "900889452093",
    "ap-southeast-3": "296578399912",
    "ap-southeast-4": "491585149902",
    "ca-west-1": "761377655185",
    "eu-central-2": "900612956339",
    "eu-south-1": "590381155156",
    "eu-south-2": "455263428931",
    "il-central-1": "066635153087",
    "me-central-1": "759879836304",
    "me-south-1": "558608220178",
    "us-gov-east-1": "151742754352",
    "us-gov-west-1": "013241004608",
    "cn-north-1": "918309763551",
    "cn-northwest-1": "961992271922",
}
"""Accounts of EKS's regional image registries that differ from the default (AWS docs,
"Amazon container image registries"); every other commercial region uses 602401143452."""
DEFAULT_EKS_IMAGE_REGISTRY_ACCOUNT = "602401143452"


def eks_image_registry(region: str) -> str:
    """EKS's own ECR registry in `region` (add-on and controller images)."""
    account = EKS_IMAGE_REGISTRY_ACCOUNTS.get(region, DEFAULT_EKS_IMAGE_REGISTRY_ACCOUNT)
    suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
    return f"{account}.dkr.ecr.{region}{suffix}"


@dataclass(frozen=True, kw_only=True)
class LoadBalancerControllerProps:
    cluster_name: str
    region: str
    vpc_id: str
    chart_repository: str
    """The public chart repository or an OCI mirror of it (`oci://...`), fetched by whoever
    applies the stack."""
    role_arn: str
    """The controller's IRSA role."""
    namespace: str
    service_account: str
    """The names the role trusts."""
    default_tags: Mapping[str, str]
    """Tags on every AWS resource the controller creates (ALB, listeners, rules, target
    groups, security groups), beside its own `elbv2.k8s.aws/cluster`."""
    replicas: int = 2
    """Two, so a node drain never leaves Ingresses unreconciled (and its webhook unanswered)."""


class LoadBalancerControllerRelease(Construct):
    """The AWS Load Balancer Controller, which turns the Hypernym Ingress into an internal ALB."""

    def __init__(self, scope: Construct, id: str, *, props: LoadBalancerControllerProps) -> None:
        super().__init__(scope, id)
        chart, version = LOAD_BALANCER_CONTROLLER_CHART
        values = {
            "clusterName": props.cluster_name,
            # Pods cannot reach the instance metadata service (hop limit 1): say where we are.
            "region": props.region,
            "vpcId": props.vpc_id,
            "replicaCount": props.replicas,
            "image": {
                "repository": (
                    f"{eks_image_registry(props.region)}/amazon/aws-load-balancer-controller"
                ),
                "tag": LOAD_BALANCER_CONTROLLER_IMAGE_TAG,
            },
            "serviceAccount": {
                "create": True,
                "name": props.service_account,
                "annotations": {"eks.amazonaws.com/role-arn": props.role_arn},
            },
            "defaultTags": dict(props.default_tags),
            # Listeners and rules carry the cluster tag, which the controller's IAM policy
            # requires to change them (eks_iam); on by default, stated because it is relied on.
            "controllerConfig": {"featureGates": {"ListenerRulesTagging": True}},
            # No VPC endpoints (and no IAM permissions) for these integrations.
            "enableShield": False,
            "enableWaf": False,
            "enableWafv2": False,
        }
        self.release = Release(
            self,
            "release",
            name="aws-load-balancer-controller",
            namespace=props.namespace,
            repository=props.chart_repository,
            chart=chart,
            version=version,
            values=[json.dumps(values, indent=2)],
            wait=True,
            atomic=True,
            timeout=600,
        )


CLUSTER_AUTOSCALER_CHART = (
    "https://kubernetes.github.io/autoscaler",
    "cluster-autoscaler",
    "9.59.0",
)
"""Repository, chart and pinned version (chart 9.59.0, July 2026; its default app 1.35.0)."""
CLUSTER_AUTOSCALER_IMAGE_TAGS = {
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
}
"""Kubernetes minor -> the Cluster Autoscaler release for it (the autoscaler's minor must match
the cluster's; latest patches per the kubernetes/autoscaler release tags, July 2026)."""
CLUSTER_AUTOSCALER_UPSTREAM_IMAGE = "autoscaling/cluster-autoscaler"
"""Its image's path in registry.k8s.io."""
CLUSTER_AUTOSCALER_NAMESPACE = "kube-system"
CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler"


@dataclass(frozen=True, kw_only=True)
class ClusterAutoscalerProps:
    cluster_name: str
    region: str
    role_arn: str
    """Its IRSA role (grant_cluster_autoscaler)."""
    image_repository: str
    """The image through the pull-through cache (no public registry is reachable)."""
    kubernetes_version: str


class ClusterAutoscalerRelease(Construct):
    """The Kubernetes Cluster Autoscaler: adds nodes when pods are Pending, removes idle ones,
    within the node group's minimum and maximum; finds the group by EKS's tags."""

    def __init__(self, scope: Construct, id: str, *, props: ClusterAutoscalerProps) -> None:
        super().__init__(scope, id)
        repository, chart, version = CLUSTER_AUTOSCALER_CHART
        values = {
            "cloudProvider": "aws",
            "autoDiscovery": {"clusterName": props.cluster_name},
            # Pods cannot reach the instance metadata service (hop limit 1): say where we are.
            "awsRegion": props.region,
            "image": {
                "repository": props.image_repository,
                "tag": CLUSTER_AUTOSCALER_IMAGE_TAGS[props.kubernetes_version],
            },
            "rbac": {
                "serviceAccount": {
                    "create": True,
                    "name": CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
                    "annotations": {"eks.amazonaws.com/role-arn": props.role_arn},
                }
            },
            # IRSA credentials from the regional STS endpoint, which the VPC endpoint serves.
            "extraEnv": {"AWS_STS_REGIONAL_ENDPOINTS": "regional"},
            # The chart requests nothing by default; a node must keep room for it.
            "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}},
            "containerSecurityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
        }
        self.release = Release(
            self,
            "release",
            name="cluster-autoscaler",
            namespace=CLUSTER_AUTOSCALER_NAMESPACE,
            repository=repository,
            chart=chart,
            version=version,
            values=[json.dumps(values, indent=2)],
            wait=True,
            atomic=True,
            timeout=600,
        )


@dataclass(frozen=True, kw_only=True)
class HypernymReleaseProps:
    chart_path: Path
    """The chart's directory, copied into the stack as an asset."""
    namespace: str
    values: Mapping[str, Any]
    """The release's values; references to other stacks' outputs are resolved at apply."""
    depends_on: Sequence[Release] = ()
    """Releases that must be ready first (the load balancer controller answers the Ingress's
    admission webhook)."""


class HypernymRelease(Construct):
    """The Hypernym API from the repository's chart, copied into the stack as an asset."""

    def __init__(self, scope: Construct, id: str, *, props: HypernymReleaseProps) -> None:
        super().__init__(scope, id)
        self.chart = TerraformAsset(
            self, "chart", path=str(props.chart_path), type=AssetType.DIRECTORY
        )
        self.release = Release(
            self,
            "release",
            name="hypernym",
            namespace=props.namespace,
            create_namespace=True,
            chart=self.chart.path,
            values=[json.dumps(props.values, indent=2)],
            # Roll back a release whose pods never turn ready instead of leaving it half-done.
            wait=True,
            atomic=True,
            timeout=900,
            depends_on=list(props.depends_on),
        )
