"""A private EKS cluster: control plane, managed nodes, OIDC provider for IRSA.

Default: the API endpoint reachable only from inside the VPC; every control-plane log type in a
log group with retention; Kubernetes Secrets envelope-encrypted with a customer-managed KMS key
(which also encrypts the log group); authentication through EKS access entries only, with
cluster-admin for the configured roles and none for whoever runs Terraform; AL2023 managed
nodes in the private subnets, behind IMDSv2 with a hop limit of 1 so pods cannot borrow the
node role, on encrypted root volumes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cdktf import Fn, TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.ec2_tag import Ec2Tag
from cdktf_cdktf_provider_aws.eks_access_entry import EksAccessEntry
from cdktf_cdktf_provider_aws.eks_access_policy_association import (
    EksAccessPolicyAssociation,
    EksAccessPolicyAssociationAccessScope,
)
from cdktf_cdktf_provider_aws.eks_cluster import (
    EksCluster as AwsEksCluster,
)
from cdktf_cdktf_provider_aws.eks_cluster import (
    EksClusterAccessConfig,
    EksClusterEncryptionConfig,
    EksClusterEncryptionConfigProvider,
    EksClusterUpgradePolicy,
    EksClusterVpcConfig,
)
from cdktf_cdktf_provider_aws.eks_node_group import (
    EksNodeGroup,
    EksNodeGroupLaunchTemplate,
    EksNodeGroupScalingConfig,
    EksNodeGroupUpdateConfig,
)
from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.launch_template import (
    LaunchTemplate,
    LaunchTemplateBlockDeviceMappings,
    LaunchTemplateBlockDeviceMappingsEbs,
    LaunchTemplateMetadataOptions,
    LaunchTemplateTagSpecifications,
)
from constructs import Construct

from modules.constructs.eks_iam import IRSA_AUDIENCE, EksRole, irsa_trust_policy
from modules.constructs.iam import RoleProps, account_administers_key, policy_document
from modules.constructs.security_groups import Peer, SecurityGroup, SecurityGroupProps
from modules.constructs.tags import name_tag

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
"""Every log type the EKS control plane can send to CloudWatch Logs."""

PRIVATE_CLUSTER_ENDPOINTS: Mapping[str, str] = {
    "ec2": "VPC CNI (ipamd) attaches ENIs and assigns pod IPs; the load balancer controller "
    "and the CloudWatch agent describe subnets, security groups and instances",
    "sts": "IRSA: every pod role (app, VPC CNI, load balancer controller, CloudWatch agent) is "
    "assumed with AssumeRoleWithWebIdentity",
    "elasticloadbalancing": "the AWS Load Balancer Controller creates the ALB and target groups "
    "and registers pod IPs",
}
"""Interface endpoints a private cluster needs besides the container ones (ecr.api, ecr.dkr,
logs, S3 gateway): AWS's private-cluster requirements, for what this deployment runs."""

CLUSTER_AUTOSCALER_ENDPOINTS: Mapping[str, str] = {
    "autoscaling": "the Cluster Autoscaler reads and resizes the node group's Auto Scaling group",
}
"""What the Cluster Autoscaler adds to PRIVATE_CLUSTER_ENDPOINTS (its EC2 calls use `ec2`, its
IRSA credentials `sts`; no `eks` endpoint: it calls EKS only for node groups at 0 nodes)."""

CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
INTERNAL_LOAD_BALANCER_SUBNET_TAGS: Mapping[str, str] = {"kubernetes.io/role/internal-elb": "1"}
"""How the AWS Load Balancer Controller finds the subnets of internal load balancers."""


def container_insights_log_group_prefix(cluster_name: str) -> str:
    """Where Container Insights (the CloudWatch observability add-on) writes its log groups."""
    return f"/aws/containerinsights/{cluster_name}/"


def node_ami_type(instance_type: str) -> str:
    """AL2023 for the instance's architecture (Graviton families carry a `g`, as in t4g)."""
    family = instance_type.split(".", 1)[0]
    graviton = re.fullmatch(r"[a-z]+\d+[a-z]*g[a-z]*", family) is not None
    return "AL2023_ARM_64_STANDARD" if graviton else "AL2023_x86_64_STANDARD"


@dataclass(frozen=True, kw_only=True)
class EksClusterProps:
    name: str
    """Cluster name; also the prefix of its Name tags."""
    kubernetes_version: str
    """A version in EKS standard support (checked by the configuration)."""
    account_id: str
    partition: str
    region: str
    subnet_ids: Sequence[str]
    """Private subnets for the control-plane ENIs and the nodes."""
    vpc_id: str
    api_client_cidrs: Sequence[str]
    """Networks admitted to the private API endpoint on 443 (the apps stack's runner,
    kubectl). The cluster security group EKS makes admits only its own members (the nodes)."""
    api_client_security_group_ids: Sequence[str] = ()
    """Security groups also admitted to the API endpoint on 443. Default: none."""
    cluster_role_name: str
    node_role_name: str
    endpoint_public_access: bool
    """False: the API endpoint is private only; kubectl and Terraform run from the VPC or a
    network connected to it."""
    public_access_cidrs: Sequence[str]
    """With `endpoint_public_access`: the only networks that may reach the public endpoint."""
    admin_role_arns: Sequence[str]
    """IAM roles given cluster-admin access entries (the Terraform caller gets no implicit
    admin access)."""
    log_retention_days: int
    node_instance_type: str
    node_min_count: int
    node_desired_count: int
    node_max_count: int
    node_volume_size_gib: int = 20
    tag_subnets: bool
    """Tag `subnet_ids` with INTERNAL_LOAD_BALANCER_SUBNET_TAGS here (aws_ec2_tag), for
    subnets this deployment does not manage. Off: the subnets' own resources carry the
    tags (a subnet resource would remove a tag added beside it on its next apply)."""
    instance_tags: Mapping[str, str]
    """Tags of the nodes' instances, volumes and network interfaces besides their Name: the
    deployment's tags, since the provider's default tags never reach what a launch template
    launches."""


class EksCluster(Construct):
    """The cluster, its nodes and its OIDC provider; exposes what IRSA and Helm need."""

    def __init__(self, scope: Construct, id: str, *, props: EksClusterProps) -> None:
        super().__init__(scope, id)
        self._props = props
        self.key = self._create_key()
        self.log_group = CloudwatchLogGroup(
            self,
            "control-plane-logs",
            name=f"/aws/eks/{props.name}/cluster",
            retention_in_days=props.log_retention_days,
            kms_key_id=self.key.arn,
            tags=name_tag(f"{props.name}-control-plane"),
        )
        self.cluster_role = self._service_role(
            "cluster-role", props.cluster_role_name, "eks.amazonaws.com", "EKS control plane"
        )
        cluster_policy = self.cluster_role.attach_aws_managed("AmazonEKSClusterPolicy")
        self.api_security_group = self._create_api_security_group()
        self.cluster = self._create_cluster(depends_on=[self.log_group, cluster_policy])
        self.cluster_name = props.name
        """The configured name, for names and tags (`name` is the reference that orders
        Terraform after the cluster's creation)."""
        self.name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.certificate_authority_data = self.cluster.certificate_authority.get(0).data
        self.security_group_id = self.cluster.vpc_config.cluster_security_group_id
        self.oidc_issuer_url = self.cluster.identity.get(0).oidc.get(0).issuer
        self.oidc_issuer_host_path = Token.as_string(
            Fn.replace(self.oidc_issuer_url, "https://", "")
        )
        self.oidc_provider = IamOpenidConnectProvider(
            self,
            "oidc-provider",
            url=self.oidc_issuer_url,
            client_id_list=[IRSA_AUDIENCE],
            tags=name_tag(f"{props.name}-irsa"),
        )
        self.oidc_provider_arn = self.oidc_provider.arn
        for index, role_arn in enumerate(props.admin_role_arns):
            self._grant_admin(index, role_arn)
        if props.tag_subnets:
            for index, subnet_id in enumerate(props.subnet_ids):
                for key, value in INTERNAL_LOAD_BALANCER_SUBNET_TAGS.items():
                    Ec2Tag(
                        self,
                        f"subnet-{index + 1}-{re.sub(r'[^a-z0-9]+', '-', key)}",
                        resource_id=subnet_id,
                        key=key,
                        value=value,
                    )
        self.node_role = self._service_role(
            "node-role", props.node_role_name, "ec2.amazonaws.com", "EKS managed nodes"
        )
        # No CNI policy here: the VPC CNI gets its own IRSA role (eks_addons), so pods on the
        # node cannot use ENI permissions through the node role.
        self._node_policies = [
            self.node_role.attach_aws_managed(policy)
            # PullOnly: images, no listing or describing of the account's repositories.
            for policy in ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")
        ]
        self.launch_template = self._create_launch_template()
        self.node_group: EksNodeGroup | None = None

    def service_account_role(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        namespace: str,
        service_account: str,
        description: str,
    ) -> EksRole:
        """An IRSA role that exactly one service account (`namespace`/`service_account`) may
        assume."""
        return EksRole(
            scope,
            id,
            props=RoleProps(
                name=name,
                description=description,
                region=self._props.region,
                trust_policy=irsa_trust_policy(
                    oidc_provider_arn=self.oidc_provider_arn,
                    issuer_host_path=self.oidc_issuer_host_path,
                    namespace=namespace,
                    service_account=service_account,
                ),
            ),
            partition=self._props.partition,
        )

    def add_node_group(self, *, depends_on: Sequence[object] = ()) -> EksNodeGroup:
        """The managed node group; `depends_on` lets the VPC CNI add-on come first."""
        props = self._props
        self.node_group = EksNodeGroup(
            self,
            "nodes",
            cluster_name=self.name,
            node_group_name=f"{props.name}-nodes",
            # The control plane's version: an upgrade rolls the nodes after the control plane.
            version=self.cluster.version,
            node_role_arn=self.node_role.arn,
            subnet_ids=list(props.subnet_ids),
            ami_type=node_ami_type(props.node_instance_type),
            capacity_type="ON_DEMAND",
            instance_types=[props.node_instance_type],
            scaling_config=EksNodeGroupScalingConfig(
                min_size=props.node_min_count,
                desired_size=props.node_desired_count,
                max_size=props.node_max_count,
            ),
            update_config=EksNodeGroupUpdateConfig(max_unavailable=1),
            launch_template=EksNodeGroupLaunchTemplate(
                id=self.launch_template.id,
                version=Token.as_string(self.launch_template.latest_version),
            ),
            # A scaler (or an operator during an incident) owns the running count.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["scaling_config[0].desired_size"]),
            depends_on=[*self._node_policies, *depends_on],  # type: ignore[list-item]
            tags=name_tag(f"{props.name}-nodes"),
        )
        return self.node_group

    def _create_key(self) -> KmsKey:
        props = self._props
        log_groups = f"arn:{props.partition}:logs:{props.region}:{props.account_id}:log-group:"
        # The control plane's and Container Insights' (eks_addons) log groups, and no others.
        log_group_arns = [
            f"{log_groups}/aws/eks/{props.name}/cluster",
            f"{log_groups}{container_insights_log_group_prefix(props.name)}*",
        ]
        key = KmsKey(
            self,
            "key",
            description=f"{props.name}: Kubernetes Secrets, control-plane and container logs",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy_document(
                account_administers_key(partition=props.partition, account_id=props.account_id),
                {
                    "Sid": "ClusterLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{props.region}.amazonaws.com"},
                    "Action": [
                        "kms:Encrypt*",
                        "kms:Decrypt*",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:Describe*",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arns}
                    },
                },
            ),
            tags=name_tag(f"{props.name}-eks"),
        )
        KmsAlias(self, "key-alias", name=f"alias/{props.name}-eks", target_key_id=key.key_id)
        return key

    def _service_role(self, id: str, name: str, service: str, what: str) -> EksRole:
        # EKS and EC2 assume these roles without a source account/ARN in the request context,
        # so the confused-deputy conditions of iam.service_trust_policy would lock them out.
        trust = policy_document(
            {
                "Sid": "TrustedService",
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
            }
        )
        return EksRole(
            self,
            id,
            props=RoleProps(
                name=name,
                description=f"{self._props.name}: {what}",
                trust_policy=trust,
                region=self._props.region,
            ),
            partition=self._props.partition,
        )

    def _create_cluster(self, *, depends_on: list) -> AwsEksCluster:
        props = self._props
        return AwsEksCluster(
            self,
            "cluster",
            name=props.name,
            version=props.kubernetes_version,
            role_arn=self.cluster_role.arn,
            vpc_config=EksClusterVpcConfig(
                subnet_ids=list(props.subnet_ids),
                security_group_ids=[self.api_security_group.id],
                endpoint_private_access=True,
                endpoint_public_access=props.endpoint_public_access,
                public_access_cidrs=list(props.public_access_cidrs)
                if props.endpoint_public_access
                else None,
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            encryption_config=EksClusterEncryptionConfig(
                resources=["secrets"],
                provider=EksClusterEncryptionConfigProvider(key_arn=self.key.arn),
            ),
            access_config=EksClusterAccessConfig(
                authentication_mode="API",
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            # The VPC CNI, kube-proxy and CoreDNS come as managed add-ons (eks_addons) instead.
            bootstrap_self_managed_addons=False,
            # Upgrade at the end of standard support rather than pay for extended support.
            upgrade_policy=EksClusterUpgradePolicy(support_type="STANDARD"),
            depends_on=depends_on,
            tags=name_tag(props.name),
        )

    def _create_api_security_group(self) -> SecurityGroup:
        """The control plane's additional group: HTTPS from the API's clients, nothing else."""
        props = self._props
        group = SecurityGroup(
            self,
            "api-sg",
            props=SecurityGroupProps(
                name=f"{props.name}-api",
                vpc_id=props.vpc_id,
                description="EKS API endpoint: HTTPS from the apps stack's runner and kubectl",
            ),
        )
        for index, cidr in enumerate(props.api_client_cidrs):
            group.allow_ingress(
                f"clients-{index + 1}",
                peer=Peer(cidr=cidr),
                port=443,
                description="Kubernetes API from a client network",
            )
        for index, group_id in enumerate(props.api_client_security_group_ids):
            group.allow_ingress(
                f"client-group-{index + 1}",
                peer=Peer(security_group_id=group_id),
                port=443,
                description="Kubernetes API from a client security group",
            )
        return group

    def _grant_admin(self, index: int, role_arn: str) -> None:
        entry = EksAccessEntry(
            self,
            f"admin-{index + 1}",
            cluster_name=self.name,
            principal_arn=role_arn,
            type="STANDARD",
            tags=name_tag(f"{self._props.name}-admin-{index + 1}"),
        )
        EksAccessPolicyAssociation(
            self,
            f"admin-{index + 1}-policy",
            cluster_name=self.name,
            principal_arn=role_arn,
            policy_arn=f"arn:{self._props.partition}:eks::aws:cluster-access-policy/{CLUSTER_ADMIN_POLICY}",
            access_scope=EksAccessPolicyAssociationAccessScope(type="cluster"),
            depends_on=[entry],
        )

    def _create_launch_template(self) -> LaunchTemplate:
        props = self._props
        return LaunchTemplate(
            self,
            "node-template",
            name=f"{props.name}-nodes",
            update_default_version=True,
            description="EKS nodes: IMDSv2 only, hop limit 1, encrypted root volume",
            metadata_options=LaunchTemplateMetadataOptions(
                http_endpoint="enabled",
                http_tokens="required",
                # One hop: the node itself reaches IMDS, containers behind it cannot.
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                LaunchTemplateBlockDeviceMappings(
                    device_name="/dev/xvda",
                    ebs=LaunchTemplateBlockDeviceMappingsEbs(
                        volume_size=props.node_volume_size_gib,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            tag_specifications=[
                LaunchTemplateTagSpecifications(
                    resource_type=kind,
                    tags={**props.instance_tags, **name_tag(f"{props.name}-node")},
                )
                for kind in ("instance", "volume", "network-interface")
            ],
            tags=name_tag(f"{props.name}-nodes"),
        )
