"""Security groups whose rules are created one resource per rule, through intent methods.

A group starts with no rules at all (Terraform removes AWS's default allow-all egress), and
each `allow_*` call adds exactly one rule resource named after the caller's rule key, so the
plan shows every opening by name and a rule can change without replacing the group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from cdktf_cdktf_provider_aws.security_group import SecurityGroup as AwsSecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from modules.constructs.tags import name_tag

Rule = TypeVar("Rule", VpcSecurityGroupIngressRule, VpcSecurityGroupEgressRule)


@dataclass(frozen=True, kw_only=True)
class SecurityGroupProps:
    name: str
    """Physical name and Name tag."""
    description: str
    vpc_id: str


@dataclass(frozen=True, kw_only=True)
class Peer:
    """The other side of a rule: exactly one of a CIDR, a security group or a prefix list."""

    cidr: str | None = None
    security_group_id: str | None = None
    prefix_list_id: str | None = None

    def __post_init__(self) -> None:
        given = [
            v for v in (self.cidr, self.security_group_id, self.prefix_list_id) if v is not None
        ]
        if len(given) != 1:
            raise ValueError("a Peer takes exactly one of cidr, security_group_id, prefix_list_id")

    def rule_arguments(self) -> dict[str, Any]:
        if self.cidr is not None:
            return {"cidr_ipv4": self.cidr}
        if self.security_group_id is not None:
            return {"referenced_security_group_id": self.security_group_id}
        return {"prefix_list_id": str(self.prefix_list_id)}


class SecurityGroup(Construct):
    """A security group with no rules until `allow_ingress` / `allow_egress` add them."""

    def __init__(self, scope: Construct, id: str, *, props: SecurityGroupProps) -> None:
        super().__init__(scope, id)
        self._name = props.name
        self.group = AwsSecurityGroup(
            self,
            "group",
            name=props.name,
            description=props.description,
            vpc_id=props.vpc_id,
            tags=name_tag(props.name),
        )
        self.id = self.group.id

    def allow_ingress(
        self, rule_id: str, *, peer: Peer, port: int, description: str
    ) -> VpcSecurityGroupIngressRule:
        """Admit TCP `port` from `peer`."""
        return self._rule(VpcSecurityGroupIngressRule, rule_id, peer, port, description)

    def allow_egress(
        self, rule_id: str, *, peer: Peer, port: int, description: str
    ) -> VpcSecurityGroupEgressRule:
        """Let TCP connections to `peer` on `port` out."""
        return self._rule(VpcSecurityGroupEgressRule, rule_id, peer, port, description)

    def _rule(
        self, kind: type[Rule], rule_id: str, peer: Peer, port: int, description: str
    ) -> Rule:
        return kind(
            self,
            rule_id,
            security_group_id=self.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=description,
            tags=name_tag(f"{self._name}-{rule_id}"),
            **peer.rule_arguments(),
        )


@dataclass(frozen=True, kw_only=True)
class ServiceSecurityGroupsProps:
    name: str
    """Prefix of the group names."""
    vpc_id: str
    vpc_cidr: str
    listener_ports: tuple[int, ...]
    container_port: int
    client_cidrs: tuple[str, ...]
    """Who may reach the load balancer."""
    endpoint_security_group_id: str | None = None
    """The VPC endpoints' group. None: the endpoints are someone else's, somewhere in the VPC."""
    s3_prefix_list_id: str | None = None
    """The S3 gateway endpoint's prefix list (ECR image layers)."""
    dynamodb_prefix_list_id: str | None = None
    """The DynamoDB gateway endpoint's prefix list (asynchronous jobs). None: no rule."""
    upstreams: tuple[tuple[str, int], ...] = ()
    """Other (CIDR, port) destinations the workload calls, e.g. the managed LLM gateway."""
    internet_https: bool = False
    """Allow HTTPS to anywhere (only when the network has NAT egress)."""


class ServiceSecurityGroups(Construct):
    """The load balancer's and the workload's groups, tight both ways.

    Load balancer: in on the listener ports from the client networks, out only to the workload
    on the container port. Workload: in only from the load balancer on the container port, out
    on 443 to the VPC endpoints and S3, plus the configured upstreams (and HTTPS to the internet
    only when asked).
    """

    def __init__(self, scope: Construct, id: str, *, props: ServiceSecurityGroupsProps) -> None:
        super().__init__(scope, id)
        self.load_balancer = SecurityGroup(
            self,
            "alb",
            props=SecurityGroupProps(
                name=f"{props.name}-alb",
                vpc_id=props.vpc_id,
                description="Internal load balancer: clients in, the service's tasks out",
            ),
        )
        self.workload = SecurityGroup(
            self,
            "tasks",
            props=SecurityGroupProps(
                name=f"{props.name}-tasks",
                vpc_id=props.vpc_id,
                description="Service tasks: the load balancer in, AWS endpoints and upstreams out",
            ),
        )
        for i, cidr in enumerate(props.client_cidrs):
            for port in props.listener_ports:
                self.load_balancer.allow_ingress(
                    f"clients-{i + 1}-port-{port}",
                    peer=Peer(cidr=cidr),
                    port=port,
                    description=f"Clients to the listener on {port}",
                )
        self.load_balancer.allow_egress(
            "to-tasks",
            peer=Peer(security_group_id=self.workload.id),
            port=props.container_port,
            description="Forward to the service's tasks",
        )
        self.workload.allow_ingress(
            "from-alb",
            peer=Peer(security_group_id=self.load_balancer.id),
            port=props.container_port,
            description="Requests and health checks from the load balancer",
        )
        endpoints = (
            Peer(cidr=props.vpc_cidr)
            if props.endpoint_security_group_id is None
            else Peer(security_group_id=props.endpoint_security_group_id)
        )
        self.workload.allow_egress(
            "to-endpoints",
            peer=endpoints,
            port=443,
            description="AWS APIs through the VPC endpoints",
        )
        if props.s3_prefix_list_id is not None:
            self.workload.allow_egress(
                "to-s3",
                peer=Peer(prefix_list_id=props.s3_prefix_list_id),
                port=443,
                description="ECR image layers from S3",
            )
        if props.dynamodb_prefix_list_id is not None:
            self.workload.allow_egress(
                "to-dynamodb",
                peer=Peer(prefix_list_id=props.dynamodb_prefix_list_id),
                port=443,
                description="Asynchronous jobs in DynamoDB",
            )
        for i, (cidr, port) in enumerate(props.upstreams):
            self.workload.allow_egress(
                f"to-upstream-{i + 1}",
                peer=Peer(cidr=cidr),
                port=port,
                description=f"LLM gateway on {port}",
            )
        if props.internet_https:
            self.workload.allow_egress(
                "to-internet-https",
                peer=Peer(cidr="0.0.0.0/0"),
                port=443,
                description="HTTPS through NAT (providers on the internet)",
            )
