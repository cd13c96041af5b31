"""EKS add-ons and the IRSA roles of everything that runs in the cluster.

Add-ons (EKS-managed, images from EKS's regional ECR registry, so a cluster with no internet
can pull them): the VPC CNI with network policy enforcement and its own IRSA role, kube-proxy,
CoreDNS, metrics-server (so the HPA has metrics) and Amazon CloudWatch Observability (Container
Insights and container logs, Application Signals off, its log groups created here with
retention and the cluster's key). The VPC CNI and kube-proxy come before the nodes, the rest
after. Each runs EKS's default version for the cluster's Kubernetes version, or a pinned one.

IRSA roles, each trusting exactly one service account: the VPC CNI, the CloudWatch agent, the
AWS Load Balancer Controller (its published policy, scoped to this cluster's tag, region and
account) and the Hypernym app (Marketplace metering; its provider secret).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_eks_addon_version import DataAwsEksAddonVersion
from cdktf_cdktf_provider_aws.eks_addon import EksAddon
from constructs import Construct

from modules.constructs.eks_cluster import EksCluster, container_insights_log_group_prefix
from modules.constructs.eks_iam import EksRole
from modules.constructs.tags import name_tag

LOAD_BALANCER_CONTROLLER_NAMESPACE = "kube-system"
LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller"
CLOUDWATCH_NAMESPACE = "amazon-cloudwatch"
CLOUDWATCH_SERVICE_ACCOUNT = "cloudwatch-agent"

CONTAINER_INSIGHTS_LOG_GROUPS = ("application", "dataplane", "host", "performance")
"""The log groups the add-on's Fluent Bit and CloudWatch agent write to (container logs,
kubelet/containerd logs, node logs, Container Insights metrics as EMF)."""

OBSERVABILITY_CONFIGURATION = {
    # The add-on's default agent configuration without its `application_signals` sections:
    # Application Signals bills per request, sends traces to X-Ray (an `xray` endpoint and
    # xray:PutTraceSegments this deployment does not have) and needs ADOT-instrumented
    # workloads, which the Hypernym pods are not. Container Insights stays on.
    "agent": {
        "config": {
            "logs": {"metrics_collected": {"kubernetes": {"enhanced_container_insights": True}}}
        }
    },
}
"""The CloudWatch observability add-on's configuration: Container Insights and container
logs, Application Signals deliberately off."""


@dataclass(frozen=True, kw_only=True)
class EksAddonsProps:
    cluster: EksCluster
    account_id: str
    partition: str
    region: str
    vpc_id: str
    kubernetes_version: str
    """The cluster's version, for which each add-on's version is looked up."""
    addon_versions: Mapping[str, str] = field(default_factory=dict)
    """Add-on name -> pinned version. Default: EKS's default version for the cluster's
    Kubernetes version (aws_eks_addon_version), so an upgrade of the cluster moves them."""
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
    application_log_retention_days: int
    """Retention of the container logs (Container Insights' `application` log group)."""
    cluster_log_retention_days: int
    """Retention of Container Insights' node, data-plane and performance log groups."""
    api_keys_secret_arn: str | None = None
    """The callers' API keys: grant the app read access to exactly this secret. Default: none
    (open access)."""
    api_keys_kms_key_arn: str | None = None
    """Customer-managed key of the API keys secret."""
    node_dependencies: Sequence[ITerraformDependable] = ()
    """What the nodes need before they boot besides the VPC CNI and kube-proxy (the endpoints'
    rule admitting the cluster security group, for the image pulls). Default: nothing."""


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
        self.node_group = cluster.add_node_group(
            depends_on=[*self.addons.values(), *props.node_dependencies]
        )

        self.observability_role = cluster.service_account_role(
            self,
            "observability-role",
            name=props.observability_role_name,
            namespace=CLOUDWATCH_NAMESPACE,
            service_account=CLOUDWATCH_SERVICE_ACCOUNT,
            description="CloudWatch agent and Fluent Bit: Container Insights and container logs",
        )
        self.observability_role.attach_aws_managed("CloudWatchAgentServerPolicy")
        self.container_insights_log_groups = self._container_insights_log_groups()
        # These schedule pods, so they need nodes to turn ACTIVE.
        for name in ("coredns", "metrics-server"):
            self.addons[name] = self._addon(name, after=[self.node_group])
        # After its log groups, or the agents would create them without retention or key.
        self.addons["amazon-cloudwatch-observability"] = self._addon(
            "amazon-cloudwatch-observability",
            after=[self.node_group, *self.container_insights_log_groups],
            service_account_role=self.observability_role,
            configuration=OBSERVABILITY_CONFIGURATION,
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
        if props.api_keys_secret_arn is not None:
            self.app_role.grant_api_keys_read(props.api_keys_secret_arn, props.api_keys_kms_key_arn)

    def _container_insights_log_groups(self) -> list[CloudwatchLogGroup]:
        props, cluster = self._props, self._props.cluster
        prefix = container_insights_log_group_prefix(cluster.cluster_name)
        return [
            CloudwatchLogGroup(
                self,
                f"container-insights-{kind}",
                name=f"{prefix}{kind}",
                retention_in_days=props.application_log_retention_days
                if kind == "application"
                else props.cluster_log_retention_days,
                kms_key_id=cluster.key.arn,
                tags=name_tag(f"{cluster.cluster_name}-container-insights-{kind}"),
            )
            for kind in CONTAINER_INSIGHTS_LOG_GROUPS
        ]

    def _addon(
        self,
        name: str,
        *,
        after: list | None = None,
        service_account_role: EksRole | None = None,
        configuration: dict | None = None,
    ) -> EksAddon:
        props = self._props
        cluster = props.cluster
        version = props.addon_versions.get(name) or (
            DataAwsEksAddonVersion(
                self,
                f"{name}-version",
                addon_name=name,
                kubernetes_version=props.kubernetes_version,
                most_recent=False,
            ).version
        )
        return EksAddon(
            self,
            name,
            cluster_name=cluster.name,
            addon_name=name,
            addon_version=version,
            service_account_role_arn=service_account_role.arn if service_account_role else None,
            configuration_values=json.dumps(configuration) if configuration else None,
            # Terraform owns the add-ons' configuration and version.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            depends_on=after,
            tags=name_tag(f"{cluster.cluster_name}-{name}"),
        )
