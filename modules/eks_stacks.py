"""The EKS deployment's two stacks, deployed in this order:

1. `<deployment>-eks-cluster` (AWS provider only, so it validates, plans and applies like any
   AWS stack): network with the private-cluster endpoints, cluster, nodes, add-ons, IRSA roles.
2. `<deployment>-eks-apps` (Helm provider only): the AWS Load Balancer Controller and the
   Hypernym release. It reads the cluster stack's outputs through its remote state and reaches
   the API server with a token from `aws eks get-token`, so it runs where the (private)
   endpoint is reachable, as a role that has a cluster-admin access entry.
"""

from __future__ import annotations

from cdktf import App, Fn, TerraformStack
from cdktf_cdktf_provider_helm.provider import (
    HelmProvider,
    HelmProviderKubernetes,
    HelmProviderKubernetesExec,
)
from constructs import Construct

from modules import naming
from modules.app_release import (
    HypernymRelease,
    HypernymReleaseProps,
    LoadBalancerControllerProps,
    LoadBalancerControllerRelease,
    hypernym_values,
)
from modules.backend import configure_backend
from modules.config import DeploymentConfig
from modules.eks_addons import (
    LOAD_BALANCER_CONTROLLER_NAMESPACE,
    LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
    EksAddons,
    EksAddonsProps,
)
from modules.eks_cluster import (
    INTERNAL_LOAD_BALANCER_SUBNET_TAGS,
    PRIVATE_CLUSTER_ENDPOINTS,
    EksCluster,
    EksClusterProps,
)
from modules.stacks import DeploymentStack, build_network


class EksClusterStack(DeploymentStack):
    """Network, cluster, nodes, add-ons and IRSA roles; everything the apps stack reads is an output."""

    def __init__(self, scope: Construct, config: DeploymentConfig) -> None:
        super().__init__(scope, config, "eks-cluster")
        eks = config.eks
        self.network = build_network(self, PRIVATE_CLUSTER_ENDPOINTS, INTERNAL_LOAD_BALANCER_SUBNET_TAGS)

        def role_name(purpose: str) -> str:
            return naming.role_name(config.name, config.region, purpose)

        self.cluster = EksCluster(self, "cluster", props=EksClusterProps(
            name=config.name, kubernetes_version=eks.kubernetes_version,
            account_id=self.account_id, partition=self.partition, region=config.region,
            subnet_ids=self.network.private_subnet_ids,
            cluster_role_name=role_name("eks-cluster"), node_role_name=role_name("eks-node"),
            endpoint_public_access=eks.endpoint_public_access,
            public_access_cidrs=eks.public_access_cidrs, admin_role_arns=eks.admin_role_arns,
            log_retention_days=eks.log_retention_days, node_instance_type=eks.node_instance_type,
            node_min_count=eks.node_min_count, node_desired_count=eks.node_desired_count,
            node_max_count=eks.node_max_count,
            # Subnets of an existing VPC are not ours to declare: tag them beside.
            tag_subnets=config.existing_vpc,
        ))
        self.addons = EksAddons(self, "addons", props=EksAddonsProps(
            cluster=self.cluster, account_id=self.account_id, partition=self.partition,
            region=config.region, vpc_id=self.network.vpc_id,
            vpc_cni_role_name=role_name("eks-vpc-cni"),
            observability_role_name=role_name("eks-observability"),
            load_balancer_controller_role_name=role_name("eks-lb-controller"),
            app_role_name=role_name("eks-app"),
            app_namespace=eks.namespace, app_service_account=eks.service_account,
            metering=config.marketplace.metering != "off",
            secret_arns=config.inference.service_secret_arns,
            secret_kms_key_arn=config.inference.secret_kms_key_arn,
        ))
        self._outputs()

    def _outputs(self) -> None:
        cluster, addons, config = self.cluster, self.addons, self.config
        self.output("cluster_name", cluster.name, "EKS cluster")
        self.output("cluster_endpoint", cluster.endpoint, "Kubernetes API server (private)")
        self.output("oidc_provider_arn", cluster.oidc_provider_arn, "IRSA identity provider")
        self.output("app_role_arn", addons.app_role.arn, "IRSA role of the Hypernym pods")
        self.output("load_balancer_controller_role_arn", addons.load_balancer_controller_role.arn,
                    "IRSA role of the AWS Load Balancer Controller")
        self.output("vpc_id", self.network.vpc_id, "VPC")
        self.output("private_subnet_ids", self.network.private_subnet_ids, "Private subnets")
        self.output("kubeconfig_command",
                    f"aws eks update-kubeconfig --region {config.region} --name {config.name}",
                    "Configure kubectl (from a network that reaches the private endpoint)")


class EksAppsStack(TerraformStack):
    """Helm releases into the cluster of `cluster_stack`; no AWS provider."""

    def __init__(self, scope: Construct, config: DeploymentConfig, cluster_stack: EksClusterStack) -> None:
        self.stack_name = naming.stack_name(config.name, "eks-apps")
        super().__init__(scope, self.stack_name)
        configure_backend(self, config, self.stack_name)
        self.add_dependency(cluster_stack)
        cluster, addons = cluster_stack.cluster, cluster_stack.addons
        HelmProvider(self, "helm", kubernetes=HelmProviderKubernetes(
            host=cluster.endpoint,
            cluster_ca_certificate=Fn.base64decode(cluster.certificate_authority_data),
            # A short-lived token presigned locally from the caller's AWS credentials.
            exec=HelmProviderKubernetesExec(
                api_version="client.authentication.k8s.io/v1beta1", command="aws",
                args=["eks", "get-token", "--cluster-name", config.name, "--region", config.region],
            ),
        ))
        self.load_balancer_controller = LoadBalancerControllerRelease(
            self, "load-balancer-controller", props=LoadBalancerControllerProps(
                cluster_name=config.name, region=config.region,
                vpc_id=cluster_stack.network.vpc_id,
                role_arn=addons.load_balancer_controller_role.arn,
                namespace=LOAD_BALANCER_CONTROLLER_NAMESPACE,
                service_account=LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
            ))
        # A VPC made here has the configured range; an existing one's is read at apply.
        vpc_cidr = cluster_stack.network.vpc_cidr if config.existing_vpc else config.network.vpc_cidr
        self.hypernym = HypernymRelease(self, "hypernym", props=HypernymReleaseProps(
            namespace=config.eks.namespace,
            values=hypernym_values(config, role_arn=addons.app_role.arn, vpc_cidr=vpc_cidr),
            depends_on=[self.load_balancer_controller.release],
        ))


def eks_stacks(app: App, config: DeploymentConfig) -> list[TerraformStack]:
    """The cluster stack, then the apps stack that depends on it."""
    cluster = EksClusterStack(app, config)
    return [cluster, EksAppsStack(app, config, cluster)]
