"""EKS add-ons and the IRSA roles of everything that runs in the cluster.

Add-ons (EKS-managed, images from EKS's regional ECR registry, so a cluster with no internet
can pull them): the VPC CNI with network policy enforcement and its own IRSA role, kube-proxy,
CoreDNS, metrics-server (so the HPA has metrics) and Amazon CloudWatch Observability (Container
Insights and container logs). The VPC CNI and kube-proxy come before the nodes, the rest after.

IRSA roles, each trusting exactly one service account: the VPC CNI, the CloudWatch agent, the
AWS Load Balancer Controller (its published policy, scoped to this cluster's tag, region and
account) and the Hypernym app (Marketplace metering; its provider secret).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf_cdktf_provider_aws.eks_addon import EksAddon
from constructs import Construct

from modules.constructs.eks_cluster import EksCluster
from modules.constructs.eks_iam import EksRole
from modules.constructs.tags import name_tag

LOAD_BALANCER_CONTROLLER_NAMESPACE = "kube-system"
LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller"
CLOUDWATCH_NAMESPACE = "amazon-cloudwatch"
CLOUDWATCH_SERVICE_ACCOUNT = "cloudwatch-agent"


@dataclass(frozen=True, kw_only=True)
class EksAddonsProps:
    cluster: EksCluster
    account_id: str
    partition: str
    region: str
    vpc_id: str
    vpc_cni_role_name: str
    observability_role_name: str
    load_balancer_controller_role_name: str
    app_role_name: str
    app_namespace: str
    app_service_account: str
    metering: bool = True
    """Grant the app Marketplace RegisterUsage/MeterUsage. Default: granted."""
    secret_arns: Mapping[str, str] = field(default_factory=dict)
    """Purpose -> ARN: grant the app read access to exactly these secrets. Default: none."""
    secret_kms_key_arn: str | None = None
    """Customer-managed key of those secrets (decrypt through Secrets Manager only)."""


class EksAddons(Construct):
    """Add-ons, the managed node group between them, and the IRSA roles; exposes the roles."""

    def __init__(self, scope: Construct, id: str, *, props: EksAddonsProps) -> None:
        super().__init__(scope, id)
        self._props = props
        cluster = props.cluster

        self.vpc_cni_role = cluster.service_account_role(
            self,
            "vpc-cni-role",
            name=props.vpc_cni_role_name,
            namespace="kube-system",
            service_account="aws-node",
            description="VPC CNI: ENIs and pod IPs",
        )
        self.vpc_cni_role.attach_aws_managed("AmazonEKS_CNI_Policy")
        self.addons = {
            # Network policy enforcement makes the chart's NetworkPolicy real.
            "vpc-cni": self._addon(
                "vpc-cni",
                service_account_role=self.vpc_cni_role,
                configuration={"enableNetworkPolicy": "true"},
            ),
            "kube-proxy": self._addon("kube-proxy"),
        }
        self.node_group = cluster.add_node_group(depends_on=list(self.addons.values()))

        self.observability_role = cluster.service_account_role(
            self,
            "observability-role",
            name=props.observability_role_name,
            namespace=CLOUDWATCH_NAMESPACE,
            service_account=CLOUDWATCH_SERVICE_ACCOUNT,
            description="CloudWatch agent and Fluent Bit: Container Insights and container logs",
        )
        self.observability_role.attach_aws_managed("CloudWatchAgentServerPolicy")
        # These schedule pods, so they need nodes to turn ACTIVE.
        for name, role in (
            ("coredns", None),
            ("metrics-server", None),
            ("amazon-cloudwatch-observability", self.observability_role),
        ):
            self.addons[name] = self._addon(
                name, after=[self.node_group], service_account_role=role
            )

        self.load_balancer_controller_role = cluster.service_account_role(
            self,
            "load-balancer-controller-role",
            name=props.load_balancer_controller_role_name,
            namespace=LOAD_BALANCER_CONTROLLER_NAMESPACE,
            service_account=LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
            description="AWS Load Balancer Controller: the Ingress's ALB",
        )
        self.load_balancer_controller_role.grant_load_balancer_controller(
            cluster_name=cluster.cluster_name,
            vpc_id=props.vpc_id,
            region=props.region,
            account_id=props.account_id,
        )

        self.app_role = cluster.service_account_role(
            self,
            "app-role",
            name=props.app_role_name,
            namespace=props.app_namespace,
            service_account=props.app_service_account,
            description="Hypernym API pods: Marketplace metering and their provider secret",
        )
        if props.metering:
            self.app_role.grant_metering()
        for purpose, secret_arn in props.secret_arns.items():
            self.app_role.grant_secret_read(purpose, secret_arn, props.secret_kms_key_arn)

    def _addon(
        self,
        name: str,
        *,
        after: list | None = None,
        service_account_role: EksRole | None = None,
        configuration: dict | None = None,
    ) -> EksAddon:
        cluster = self._props.cluster
        return EksAddon(
            self,
            name,
            cluster_name=cluster.name,
            addon_name=name,
            service_account_role_arn=service_account_role.arn if service_account_role else None,
            configuration_values=json.dumps(configuration) if configuration else None,
            # Terraform owns the add-ons' configuration; the version is EKS's default for the
            # cluster version (a Kubernetes upgrade moves it).
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            depends_on=after,
            tags=name_tag(f"{cluster.cluster_name}-{name}"),
        )
