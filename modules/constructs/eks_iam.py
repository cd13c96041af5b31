"""IAM for EKS: IRSA trust policies and the roles EKS and its controllers assume.

:class:`EksRole` is the project's :class:`modules.iam.Role` with the two kinds of permission
EKS documents for its own roles: AWS-managed policies, and the AWS Load Balancer Controller's
published policy (scoped here to this cluster's tag, region and account).
"""

from __future__ import annotations

import json

from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from modules.constructs.iam import Role, RoleProps, Statement

IRSA_AUDIENCE = "sts.amazonaws.com"
LOAD_BALANCER_CONTROLLER_CLUSTER_TAG = "elbv2.k8s.aws/cluster"
"""The tag the controller puts on everything it creates, valued with the cluster's name."""
CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS = (
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
)
"""The read actions of the Cluster Autoscaler's published policy (cloudprovider/aws README,
v1.35), none of which has resource-level permissions. eks:DescribeNodegroup is left out: the
autoscaler calls it only for a node group with 0 nodes, and the node group's minimum is 1."""


def irsa_trust_policy(
    *, oidc_provider_arn: str, issuer_host_path: str, namespace: str, service_account: str
) -> str:
    """Trust exactly one Kubernetes service account through the cluster's OIDC provider.

    The condition keys are `<issuer host/path>:sub` and `:aud`, the form IAM evaluates; keys
    built from the provider's ARN (the upstream templates' bug) never match, so IRSA fails.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ServiceAccount",
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{issuer_host_path}:sub": (
                                f"system:serviceaccount:{namespace}:{service_account}"
                            ),
                            f"{issuer_host_path}:aud": IRSA_AUDIENCE,
                        }
                    },
                }
            ],
        }
    )


class EksRole(Role):
    """A Role that can also carry AWS-managed policies and the load balancer controller's."""

    def __init__(self, scope: Construct, id: str, *, props: RoleProps, partition: str) -> None:
        super().__init__(scope, id, props=props)
        self._partition = partition

    def attach_aws_managed(self, policy_name: str) -> IamRolePolicyAttachment:
        return IamRolePolicyAttachment(
            self,
            f"managed-{policy_name}",
            role=self.name,
            policy_arn=f"arn:{self._partition}:iam::aws:policy/{policy_name}",
        )

    def grant_load_balancer_controller(
        self, *, cluster_name: str, vpc_id: str, region: str, account_id: str
    ) -> IamRolePolicy:
        """The controller's published IAM policy (v2.13), scoped where the policy allows.

        Narrower than published: resources in this region and account only; mutations only
        on resources tagged with *this* cluster's name (the published policy accepts any
        cluster's tag), listeners, rules and target registration included (the published
        policy leaves them on any resource); security-group rule changes only in this VPC; no
        WAF, Shield or Cognito actions (the controller runs with those integrations off: they
        have no VPC endpoint here).
        """
        return self._grant(
            "load-balancer-controller",
            *load_balancer_controller_statements(
                partition=self._partition,
                cluster_name=cluster_name,
                vpc_id=vpc_id,
                region=region,
                account_id=account_id,
            ),
        )

    def grant_cluster_autoscaler(
        self, *, cluster_name: str, region: str, account_id: str
    ) -> IamRolePolicy:
        """Resize and shrink only this cluster's node groups: Auto Scaling groups in this
        region and account that EKS tagged as owned by *this* cluster (managed node groups
        carry `k8s.io/cluster-autoscaler/<cluster>` = owned), plus the read actions."""
        groups = f"arn:{self._partition}:autoscaling:{region}:{account_id}:autoScalingGroup:*"
        return self._grant(
            "cluster-autoscaler",
            {
                "Sid": "DescribeScalingGroups",
                "Effect": "Allow",
                "Action": list(CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS),
                "Resource": "*",
            },
            {
                "Sid": "ScaleThisClustersNodeGroups",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:SetDesiredCapacity",
                    "autoscaling:TerminateInstanceInAutoScalingGroup",
                ],
                "Resource": f"{groups}:autoScalingGroupName/*",
                "Condition": {
                    "StringEquals": {
                        f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned",
                        "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
                    }
                },
            },
        )

    def grant_pull_through_cache(
        self, *, repository_prefix: str, region: str, account_id: str
    ) -> IamRolePolicy:
        """The first pull of an upstream image through an ECR pull-through cache rule creates
        its repository and imports the image (ECR user guide, pull through cache IAM), only
        under the rule's prefix."""
        return self._grant(
            "pull-through-cache",
            {
                "Sid": "PullThroughCache",
                "Effect": "Allow",
                "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
                "Resource": (
                    f"arn:{self._partition}:ecr:{region}:{account_id}:"
                    f"repository/{repository_prefix}/*"
                ),
            },
        )


def load_balancer_controller_statements(
    *, partition: str, cluster_name: str, vpc_id: str, region: str, account_id: str
) -> list[Statement]:
    ec2 = f"arn:{partition}:ec2:{region}:{account_id}"
    elb = f"arn:{partition}:elasticloadbalancing:{region}:{account_id}"
    tag = LOAD_BALANCER_CONTROLLER_CLUSTER_TAG
    ours = {"StringEquals": {f"aws:ResourceTag/{tag}": cluster_name}}
    tagging_ours = {"StringEquals": {f"aws:RequestTag/{tag}": cluster_name}}
    balancers_and_groups = [
        f"{elb}:targetgroup/*/*",
        f"{elb}:loadbalancer/app/*/*",
        f"{elb}:loadbalancer/net/*/*",
    ]
    return [
        {
            "Sid": "ServiceLinkedRole",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}
            },
        },
        {
            "Sid": "Describe",
            "Effect": "Allow",
            "Resource": "*",
            "Action": [
                "ec2:DescribeAccountAttributes",
                "ec2:DescribeAddresses",
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeInternetGateways",
                "ec2:DescribeVpcs",
                "ec2:DescribeVpcPeeringConnections",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeInstances",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeTags",
                "ec2:DescribeRouteTables",
                "ec2:GetSecurityGroupsForVpc",
                "ec2:DescribeIpamPools",
                "ec2:GetCoipPoolUsage",
                "ec2:DescribeCoipPools",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeLoadBalancerAttributes",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeListenerCertificates",
                "elasticloadbalancing:DescribeSSLPolicies",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTargetHealth",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTrustStores",
                "elasticloadbalancing:DescribeListenerAttributes",
                "elasticloadbalancing:DescribeCapacityReservation",
                "acm:ListCertificates",
                "acm:DescribeCertificate",
            ],
        },
        {
            "Sid": "CreateSecurityGroup",
            "Effect": "Allow",
            "Action": "ec2:CreateSecurityGroup",
            "Resource": [f"{ec2}:vpc/{vpc_id}", f"{ec2}:security-group/*"],
        },
        {
            "Sid": "TagNewSecurityGroup",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": f"{ec2}:security-group/*",
            "Condition": {
                "StringEquals": {
                    "ec2:CreateAction": "CreateSecurityGroup",
                    f"aws:RequestTag/{tag}": cluster_name,
                }
            },
        },
        {
            "Sid": "RetagOwnSecurityGroup",
            "Effect": "Allow",
            "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
            "Resource": f"{ec2}:security-group/*",
            "Condition": {"Null": {f"aws:RequestTag/{tag}": "true"}, **ours},
        },
        {
            "Sid": "SecurityGroupRulesInVpc",
            "Effect": "Allow",
            "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            "Resource": f"{ec2}:security-group/*",
            "Condition": {"ArnEquals": {"ec2:Vpc": f"{ec2}:vpc/{vpc_id}"}},
        },
        {
            "Sid": "DeleteOwnSecurityGroup",
            "Effect": "Allow",
            "Action": "ec2:DeleteSecurityGroup",
            "Resource": f"{ec2}:security-group/*",
            "Condition": ours,
        },
        {
            "Sid": "CreateLoadBalancer",
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateTargetGroup",
            ],
            "Resource": "*",
            "Condition": tagging_ours,
        },
        {
            "Sid": "TagOnCreate",
            "Effect": "Allow",
            "Action": "elasticloadbalancing:AddTags",
            "Resource": balancers_and_groups,
            "Condition": {
                "StringEquals": {
                    "elasticloadbalancing:CreateAction": [
                        "CreateTargetGroup",
                        "CreateLoadBalancer",
                    ],
                    f"aws:RequestTag/{tag}": cluster_name,
                }
            },
        },
        {
            # On the tag of the load balancer (CreateListener), listener (CreateRule,
            # DeleteListener) or rule (DeleteRule): the controller tags listeners and rules
            # with the cluster's name (feature gate ListenerRulesTagging, on).
            "Sid": "ListenersAndRules",
            "Effect": "Allow",
            "Resource": "*",
            "Condition": ours,
            "Action": [
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:DeleteRule",
            ],
        },
        {
            "Sid": "RetagOwnLoadBalancer",
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            "Resource": balancers_and_groups,
            "Condition": {"Null": {f"aws:RequestTag/{tag}": "true"}, **ours},
        },
        {
            "Sid": "TagListenersAndRules",
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
            "Resource": [
                f"{elb}:listener/app/*/*/*",
                f"{elb}:listener/net/*/*/*",
                f"{elb}:listener-rule/app/*/*/*",
                f"{elb}:listener-rule/net/*/*/*",
            ],
        },
        {
            "Sid": "ModifyOwnLoadBalancer",
            "Effect": "Allow",
            "Resource": "*",
            "Condition": ours,
            "Action": [
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyListenerAttributes",
                "elasticloadbalancing:ModifyCapacityReservation",
                "elasticloadbalancing:ModifyIpPools",
            ],
        },
        {
            "Sid": "Targets",
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:DeregisterTargets",
            ],
            "Resource": f"{elb}:targetgroup/*/*",
            "Condition": ours,
        },
        {
            "Sid": "ListenerSettings",
            "Effect": "Allow",
            "Resource": "*",
            "Condition": ours,
            "Action": [
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:AddListenerCertificates",
                "elasticloadbalancing:RemoveListenerCertificates",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:SetRulePriorities",
            ],
        },
    ]
