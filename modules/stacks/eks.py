"""The EKS deployment's two stacks, deployed in this order:

1. `<deployment>-eks-cluster` (AWS provider only, so it validates, plans and applies like any
   AWS stack): network with the private-cluster endpoints, cluster, nodes, add-ons, IRSA roles.
2. `<deployment>-eks-apps` (Helm provider, and the AWS provider for the alarms and dashboard
   of the ALB the controller creates): the AWS Load Balancer Controller and the
   Hypernym release, with the values of helm-values/eks-<mode>.yaml under what the
   configuration decides (:func:`hypernym_values`). It reads the cluster stack's outputs
   through its remote state and reaches the API server with a token from `aws eks get-token`,
   so it runs where the (private) endpoint is reachable, as a role that has a cluster-admin
   access entry.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from cdktf import App, Aspects, Fn, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_lb import DataAwsLb
from cdktf_cdktf_provider_aws.data_aws_lb_target_group import DataAwsLbTargetGroup
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_helm.provider import (
    HelmProvider,
    HelmProviderKubernetes,
    HelmProviderKubernetesExec,
)
from constructs import Construct

from modules.config import PROJECT_ROOT, DeploymentConfig, naming
from modules.config.derived import (
    api_client_cidrs,
    client_cidrs,
    ecr_chart_mirror_region,
    ecr_domain,
    resource_tags,
    service_image,
)
from modules.constructs.app_release import (
    CLUSTER_AUTOSCALER_NAMESPACE,
    CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
    CLUSTER_AUTOSCALER_UPSTREAM_IMAGE,
    ClusterAutoscalerProps,
    ClusterAutoscalerRelease,
    HypernymRelease,
    HypernymReleaseProps,
    LoadBalancerControllerProps,
    LoadBalancerControllerRelease,
)
from modules.constructs.async_jobs import AsyncJobs
from modules.constructs.backend import configure_backend
from modules.constructs.eks_addons import (
    CONTAINER_INSIGHTS_LOG_GROUPS,
    LOAD_BALANCER_CONTROLLER_NAMESPACE,
    LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
    EksAddons,
    EksAddonsProps,
)
from modules.constructs.eks_cluster import (
    CLUSTER_AUTOSCALER_ENDPOINTS,
    INTERNAL_LOAD_BALANCER_SUBNET_TAGS,
    PRIVATE_CLUSTER_ENDPOINTS,
    EksCluster,
    EksClusterProps,
)
from modules.constructs.eks_iam import EksRole
from modules.constructs.image_cache import PullThroughCache, PullThroughCacheProps
from modules.constructs.log_metrics import ServiceLogMetrics, ServiceLogMetricsProps
from modules.constructs.monitoring import LoadBalancerTargets, MetricSpec
from modules.constructs.security_groups import Peer
from modules.constructs.tags import RequireNameTag
from modules.stacks.base import (
    DeploymentStack,
    build_async_jobs,
    build_monitoring,
    build_network,
    deployment_aws_provider,
    grant_async_jobs,
    s3_state,
    workload_environment,
)

CHART_PATH = PROJECT_ROOT / "service/chart/hypernym"
CONTAINER_INSIGHTS = "ContainerInsights"
"""Namespace of the EKS metrics of the CloudWatch observability add-on (Container Insights)."""
HELM_VALUES_DIR = PROJECT_ROOT / "helm-values"


class HelmValuesError(ValueError):
    """A helm-values file is unreadable or sets a value the apps stack owns."""


def load_static_values(path: Path) -> dict[str, Any]:
    """An example's Kubernetes-only tuning (helm-values/<example>.yaml)."""
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        detail = " ".join(str(error).split())  # one line, as every error the tools print
        raise HelmValuesError(f"{path}: cannot read the Helm values: {detail}") from None
    if not isinstance(values, dict):
        raise HelmValuesError(f"{path}: the Helm values must be a mapping of keys to values")
    return values


def image_values(image: str) -> dict[str, str]:
    """Chart `image` values from a reference `repo[:tag][@sha256:...]` (registry ports allowed)."""
    name, _, digest = image.partition("@")
    repository, tag = name, ""
    last_slash = name.rfind("/")
    if ":" in name[last_slash + 1 :]:
        repository, _, tag = name.rpartition(":")
    return {"repository": repository, "tag": tag, "digest": digest}


def hypernym_values(
    config: DeploymentConfig,
    *,
    role_arn: str,
    vpc_cidr: str,
    account_id: str,
    jobs: AsyncJobs | None = None,
) -> dict[str, Any]:
    """The Hypernym release's values: helm-values/eks-<mode>.yaml under what the configuration
    decides for both platforms (the environment contract, load balancer and scaling settings,
    the same as the ECS service's) and what the cluster stack made (the IRSA role, the
    asynchronous jobs' resources)."""
    lb, service = config.load_balancer, config.service
    owned = {
        "image": image_values(service_image(config, account_id)),
        "env": workload_environment(config, jobs),
        "serviceAccount": {"name": config.eks.service_account, "roleArn": role_arn},
        "ingress": {
            "inboundCidrs": list(client_cidrs(config, vpc_cidr)),
            "certificateArn": (lb.certificate_arn or "") if lb.protocol == "https" else "",
            "sslPolicy": lb.ssl_policy,
            "idleTimeoutSeconds": lb.idle_timeout_seconds,
            "deregistrationDelaySeconds": lb.deregistration_delay_seconds,
            # Named, protected and logged as the ECS load balancer of the same file is.
            "loadBalancerName": naming.load_balancer_name(config.name),
            "deletionProtection": lb.deletion_protection,
            "accessLogs": {
                "bucket": lb.access_logs_bucket or "",
                "prefix": naming.load_balancer_name(config.name) if lb.access_logs_bucket else "",
            },
        },
        "autoscaling": {
            "minReplicas": service.min_count,
            "maxReplicas": service.max_count,
            "targetCPUUtilizationPercentage": service.cpu_target_percent,
            "targetMemoryUtilizationPercentage": service.memory_target_percent,
            "scaleUpPeriodSeconds": service.scale_out_cooldown_seconds,
            "scaleDownStabilizationSeconds": service.scale_in_cooldown_seconds,
        },
        # The ALB's addresses and the kubelet's (probes) are all inside the VPC.
        "networkPolicy": {"ingressCidrs": [vpc_cidr]},
    }
    path = HELM_VALUES_DIR / f"eks-{config.inference.mode}.yaml"
    return overlay(load_static_values(path), owned, source=path)


def overlay(
    static: Mapping[str, Any], owned: Mapping[str, Any], *, source: Path, at: str = ""
) -> dict[str, Any]:
    """`owned` laid over `static`; `static` setting an owned value is an error, not a silent
    loss."""
    merged = copy.deepcopy(dict(static))
    for key, value in owned.items():
        path = f"{at}{key}"
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = overlay(merged[key], value, source=source, at=f"{path}.")
        elif key in merged:
            raise HelmValuesError(
                f"{source}: `{path}` comes from the deployment configuration "
                "(or the cluster stack); remove it from the file"
            )
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class EksClusterStack(DeploymentStack):
    """Network, cluster, nodes, add-ons and IRSA roles; all the apps stack reads is an output."""

    def __init__(self, scope: Construct, config: DeploymentConfig) -> None:
        super().__init__(scope, config, "eks-cluster")
        eks = config.eks
        autoscaler = eks.node_autoscaler == "cluster-autoscaler"
        endpoints = {**PRIVATE_CLUSTER_ENDPOINTS}
        if autoscaler:
            endpoints.update(CLUSTER_AUTOSCALER_ENDPOINTS)
        self.network = build_network(self, endpoints, INTERNAL_LOAD_BALANCER_SUBNET_TAGS)

        def role_name(purpose: str) -> str:
            return naming.role_name(config.name, config.region, purpose)

        self.cluster = EksCluster(
            self,
            "cluster",
            props=EksClusterProps(
                name=config.name,
                kubernetes_version=eks.kubernetes_version,
                account_id=self.account_id,
                partition=self.partition,
                region=config.region,
                subnet_ids=self.network.private_subnet_ids,
                vpc_id=self.network.vpc_id,
                api_client_cidrs=api_client_cidrs(config, self.network.vpc_cidr),
                api_client_security_group_ids=eks.api_client_security_group_ids,
                cluster_role_name=role_name("eks-cluster"),
                node_role_name=role_name("eks-node"),
                endpoint_public_access=eks.endpoint_public_access,
                public_access_cidrs=eks.public_access_cidrs,
                admin_role_arns=eks.admin_role_arns,
                log_retention_days=eks.log_retention_days,
                node_instance_type=eks.node_instance_type,
                node_min_count=eks.node_min_count,
                node_desired_count=eks.node_desired_count,
                node_max_count=eks.node_max_count,
                # Subnets of an existing VPC are not ours to declare: tag them beside.
                tag_subnets=config.existing_vpc,
                instance_tags=resource_tags(config),
            ),
        )
        nodes_to_endpoints = self.network.admit_to_endpoints(
            "https-from-cluster",
            peer=Peer(security_group_id=self.cluster.security_group_id),
            description="AWS APIs from the nodes and pods",
        )
        self.addons = EksAddons(
            self,
            "addons",
            props=EksAddonsProps(
                cluster=self.cluster,
                account_id=self.account_id,
                partition=self.partition,
                region=config.region,
                vpc_id=self.network.vpc_id,
                kubernetes_version=eks.kubernetes_version,
                addon_versions=eks.addon_versions,
                vpc_cni_role_name=role_name("eks-vpc-cni"),
                observability_role_name=role_name("eks-observability"),
                load_balancer_controller_role_name=role_name("eks-lb-controller"),
                app_role_name=role_name("eks-app"),
                app_namespace=eks.namespace,
                app_service_account=eks.service_account,
                metering=config.marketplace.metering != "off",
                secret_arns=config.inference.service_secret_arns,
                secret_kms_key_arn=config.inference.secret_kms_key_arn,
                # Container logs are the service's logs, kept as long as on ECS.
                application_log_retention_days=config.service.log_retention_days,
                cluster_log_retention_days=eks.log_retention_days,
                api_keys_secret_arn=config.api.keys_secret_arn,
                api_keys_kms_key_arn=config.api.keys_kms_key_arn,
                node_dependencies=nodes_to_endpoints,
            ),
        )
        self.image_cache: PullThroughCache | None = None
        self.autoscaler_role: EksRole | None = None
        if autoscaler:
            self._node_autoscaler(role_name("eks-autoscaler"))
        self.async_jobs = build_async_jobs(self)
        if self.async_jobs is not None:
            grant_async_jobs(self.addons.app_role, self.async_jobs)
        self._limit_endpoints(config)
        # The add-on's Fluent Bit nests each line: EMF is not extracted, these filters read it.
        log_groups = dict(
            zip(
                CONTAINER_INSIGHTS_LOG_GROUPS,
                self.addons.container_insights_log_groups,
                strict=True,
            )
        )
        self.service_metrics = ServiceLogMetrics(
            self,
            "service-metrics",
            props=ServiceLogMetricsProps(
                name=config.name, log_group_name=log_groups["application"].name
            ),
        )
        self._outputs()

    def _node_autoscaler(self, role_name: str) -> None:
        """The Cluster Autoscaler's IRSA role and the cache its image comes through."""
        config = self.config
        self.image_cache = PullThroughCache(
            self,
            "image-cache",
            props=PullThroughCacheProps(
                repository_prefix=naming.pull_through_cache_prefix(config.name)
            ),
        )
        self.cluster.node_role.grant_pull_through_cache(
            repository_prefix=self.image_cache.repository_prefix,
            region=config.region,
            account_id=self.account_id,
        )
        self.autoscaler_role = self.cluster.service_account_role(
            self,
            "cluster-autoscaler-role",
            name=role_name,
            namespace=CLUSTER_AUTOSCALER_NAMESPACE,
            service_account=CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
            description="Cluster Autoscaler: resizes this cluster's node groups",
        )
        self.autoscaler_role.grant_cluster_autoscaler(
            cluster_name=config.name, region=config.region, account_id=self.account_id
        )
        self.output(
            "cluster_autoscaler_role_arn",
            self.autoscaler_role.arn,
            "IRSA role of the Cluster Autoscaler",
        )

    def _limit_endpoints(self, config: DeploymentConfig) -> None:
        """Endpoints admit the deployment's roles, and besides the nodes and pods (the cluster
        security group EKS puts them in, admitted before the nodes boot) the apps stack's runner
        when it pulls the controller chart from an ECR mirror in this region through them."""
        network, cluster, addons = self.network, self.cluster, self.addons
        if ecr_chart_mirror_region(config.eks.load_balancer_controller_chart_repository) == (
            config.region
        ):
            for index, cidr in enumerate(api_client_cidrs(config, network.vpc_cidr)):
                network.admit_to_endpoints(
                    f"https-from-api-clients-{index + 1}",
                    peer=Peer(cidr=cidr),
                    description="The controller chart's ECR mirror from the apps stack's runner",
                )
        service_account_roles = [
            addons.vpc_cni_role.arn,
            addons.observability_role.arn,
            addons.load_balancer_controller_role.arn,
            addons.app_role.arn,
            *([self.autoscaler_role.arn] if self.autoscaler_role else []),
        ]
        network.limit_endpoints_to(
            [
                cluster.node_role.arn,
                *service_account_roles,
                *config.eks.admin_role_arns,
                *config.network.endpoint_principal_arns,
            ],
            web_identity_role_arns=service_account_roles,
        )

    def _outputs(self) -> None:
        cluster, addons, config = self.cluster, self.addons, self.config
        self.output("cluster_name", cluster.name, "EKS cluster")
        self.output("cluster_endpoint", cluster.endpoint, "Kubernetes API server (private)")
        self.output("oidc_provider_arn", cluster.oidc_provider_arn, "IRSA identity provider")
        self.output("app_role_arn", addons.app_role.arn, "IRSA role of the Hypernym pods")
        self.output(
            "load_balancer_controller_role_arn",
            addons.load_balancer_controller_role.arn,
            "IRSA role of the AWS Load Balancer Controller",
        )
        self.output("vpc_id", self.network.vpc_id, "VPC")
        self.output("private_subnet_ids", self.network.private_subnet_ids, "Private subnets")
        self.output(
            "kubeconfig_command",
            f"aws eks update-kubeconfig --region {config.region} --name {config.name}",
            "Configure kubectl (from a network that reaches the private endpoint)",
        )


class EksAppsStack(TerraformStack):
    """Helm releases into the cluster of `cluster_stack`, and the deployment's monitoring."""

    def __init__(
        self, scope: Construct, config: DeploymentConfig, cluster_stack: EksClusterStack
    ) -> None:
        self.stack_name = naming.stack_name(config.name, "eks-apps")
        super().__init__(scope, self.stack_name)
        configure_backend(self, self.stack_name, s3_state(config, self.stack_name))
        self.add_dependency(cluster_stack)
        cluster, addons = cluster_stack.cluster, cluster_stack.addons
        HelmProvider(
            self,
            "helm",
            kubernetes=HelmProviderKubernetes(
                host=cluster.endpoint,
                cluster_ca_certificate=Fn.base64decode(cluster.certificate_authority_data),
                # A short-lived token presigned locally from the caller's AWS credentials.
                exec=HelmProviderKubernetesExec(
                    api_version="client.authentication.k8s.io/v1beta1",
                    command="aws",
                    args=[
                        "eks",
                        "get-token",
                        "--cluster-name",
                        config.name,
                        "--region",
                        config.region,
                    ],
                ),
            ),
        )
        self.load_balancer_controller = LoadBalancerControllerRelease(
            self,
            "load-balancer-controller",
            props=LoadBalancerControllerProps(
                cluster_name=config.name,
                region=config.region,
                vpc_id=cluster_stack.network.vpc_id,
                chart_repository=config.eks.load_balancer_controller_chart_repository,
                role_arn=addons.load_balancer_controller_role.arn,
                namespace=LOAD_BALANCER_CONTROLLER_NAMESPACE,
                service_account=LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
                default_tags=resource_tags(config),
            ),
        )
        self.cluster_autoscaler: ClusterAutoscalerRelease | None = None
        if cluster_stack.image_cache is not None and cluster_stack.autoscaler_role is not None:
            registry = ecr_domain(config.region, cluster_stack.account_id)
            self.cluster_autoscaler = ClusterAutoscalerRelease(
                self,
                "cluster-autoscaler",
                props=ClusterAutoscalerProps(
                    cluster_name=config.name,
                    region=config.region,
                    role_arn=cluster_stack.autoscaler_role.arn,
                    image_repository=cluster_stack.image_cache.image(
                        registry, CLUSTER_AUTOSCALER_UPSTREAM_IMAGE
                    ),
                    kubernetes_version=config.eks.kubernetes_version,
                ),
            )
        # A VPC made here has the configured range; an existing one's is read at apply.
        vpc_cidr = (
            cluster_stack.network.vpc_cidr if config.existing_vpc else config.network.vpc_cidr
        )
        self.hypernym = HypernymRelease(
            self,
            "hypernym",
            props=HypernymReleaseProps(
                chart_path=CHART_PATH,
                namespace=config.eks.namespace,
                values=hypernym_values(
                    config,
                    role_arn=addons.app_role.arn,
                    vpc_cidr=vpc_cidr,
                    account_id=cluster_stack.account_id,
                    jobs=cluster_stack.async_jobs,
                ),
                depends_on=[self.load_balancer_controller.release],
            ),
        )
        self._monitor(config)

    def _monitor(self, config: DeploymentConfig) -> None:
        """Alarms and dashboard. The ALB is the controller's, found by the tags it gives it; the
        data sources are read at apply after the release is ready (its pods take longer to turn
        ready than the controller takes to create the ALB for the new Ingress)."""
        deployment_aws_provider(self, config)
        Aspects.of(self).add(RequireNameTag())
        release = self.hypernym.release
        controller_tags = {
            "elbv2.k8s.aws/cluster": config.name,
            # <namespace>/<Ingress name>: the release's name, the chart's full name
            "ingress.k8s.aws/stack": f"{config.eks.namespace}/{release.name}",
        }
        load_balancer = DataAwsLb(
            self,
            "load-balancer",
            tags={**controller_tags, "ingress.k8s.aws/resource": "LoadBalancer"},
            depends_on=[release],
        )
        # The Ingress has one backend, so its stack has one target group.
        target_group = DataAwsLbTargetGroup(
            self, "target-group", tags=controller_tags, depends_on=[release]
        )
        in_cluster = {"ClusterName": config.name}
        in_namespace = {"Namespace": config.eks.namespace, **in_cluster}
        self.monitoring = build_monitoring(
            self,
            config,
            account_id=DataAwsCallerIdentity(self, "caller").account_id,
            partition=DataAwsPartition(self, "partition").partition,
            load_balancer=LoadBalancerTargets(
                load_balancer_arn_suffix=load_balancer.arn_suffix,
                target_group_arn_suffix=target_group.arn_suffix,
            ),
            running=MetricSpec(
                namespace=CONTAINER_INSIGHTS,
                name="namespace_number_of_running_pods",
                dimensions=in_namespace,
            ),
            utilization=[
                *(
                    MetricSpec(namespace=CONTAINER_INSIGHTS, name=name, dimensions=in_cluster)
                    for name in ("node_cpu_utilization", "node_memory_utilization")
                ),
                *(
                    MetricSpec(namespace=CONTAINER_INSIGHTS, name=name, dimensions=in_namespace)
                    for name in ("pod_cpu_utilization", "pod_memory_utilization")
                ),
            ],
        )
        TerraformOutput(
            self,
            "alarm_topic_arn",
            value=self.monitoring.topic.arn,
            description="SNS topic the alarms notify",
        )
        TerraformOutput(
            self,
            "dashboard_name",
            value=self.monitoring.dashboard.dashboard_name,
            description="CloudWatch dashboard",
        )


def eks_stacks(app: App, config: DeploymentConfig) -> list[TerraformStack]:
    """The cluster stack, then the apps stack that depends on it."""
    cluster = EksClusterStack(app, config)
    return [cluster, EksAppsStack(app, config, cluster)]
