"""The private network: VPC, private subnets per zone, VPC endpoints, optional NAT egress.

Default: a new VPC with DNS on, one private subnet and route table per availability zone, no
internet gateway and no NAT; AWS services are reached through VPC endpoints (interface
endpoints with private DNS behind a security group admitting 443 only from the groups the
stacks name with `admit_to_endpoints`, plus the free S3 gateway endpoint that ECR image layers
come from, whose policy admits only ECR's layer bucket and the deployment's own buckets).
Interface endpoints of services that accept endpoint policies admit only the deployment's
principals (`limit_endpoints_to`). Alternatively the endpoints (and everything else) go into an
existing VPC and subnets; an existing VPC's own S3 gateway endpoint and NAT are looked up and
checked at plan time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktf import Fn, Postcondition, Precondition, TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_availability_zones import (
    DataAwsAvailabilityZones,
    DataAwsAvailabilityZonesFilter,
)
from cdktf_cdktf_provider_aws.data_aws_prefix_list import DataAwsPrefixList
from cdktf_cdktf_provider_aws.data_aws_route_table import DataAwsRouteTable
from cdktf_cdktf_provider_aws.data_aws_vpc import DataAwsVpc
from cdktf_cdktf_provider_aws.data_aws_vpc_endpoint import (
    DataAwsVpcEndpoint,
    DataAwsVpcEndpointFilter,
)
from cdktf_cdktf_provider_aws.data_aws_vpc_endpoint_service import DataAwsVpcEndpointService
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from modules.config.model import NatGateways
from modules.constructs.iam import Role, Statement, policy_document
from modules.constructs.security_groups import Peer, SecurityGroup, SecurityGroupProps
from modules.constructs.tags import name_tag

CONTAINER_ENDPOINTS: Mapping[str, str] = {
    "ecr.api": "image manifests and the registry auth token",
    "ecr.dkr": "image pulls (layers themselves come through the S3 gateway endpoint)",
    "logs": "container and flow logs to CloudWatch Logs",
}
"""Interface endpoints any container platform here needs with no internet."""

SECRETS_MANAGER_ENDPOINT: Mapping[str, str] = {
    "secretsmanager": "provider credentials and the gateway token, read at start and on rotation",
}
SQS_ENDPOINT: Mapping[str, str] = {
    "sqs": "asynchronous job ids: send, long-poll, extend and delete messages",
}
METERING_SERVICE = "metering.marketplace"
"""AWS Marketplace metering's endpoint service: not offered in every region (or zone)."""
METERING_ENDPOINT: Mapping[str, str] = {
    METERING_SERVICE: "AWS Marketplace RegisterUsage/MeterUsage without internet",
}

ENDPOINT_POLICY_SERVICES = frozenset(
    {"ecr.api", "ecr.dkr", "logs", "secretsmanager", "sts", "ec2", "elasticloadbalancing"}
)
"""Interface endpoint services whose documentation describes endpoint policies (ECR,
CloudWatch Logs, Secrets Manager, STS, EC2, Elastic Load Balancing: "Create an endpoint
policy" in each service's PrivateLink page). Marketplace Metering documents none, so its
endpoint keeps the default policy and relies on the task or pod role's own permissions."""


def ecr_layer_bucket(region: str) -> str:
    """The S3 bucket ECR serves image layers from in `region` (ECR user guide, "Minimum Amazon
    S3 bucket permissions for Amazon ECR")."""
    return f"prod-{region}-starport-layer-bucket"


@dataclass(frozen=True, kw_only=True)
class NetworkProps:
    name: str
    """Prefix of the Name tags."""
    region: str
    vpc_cidr: str
    """The new VPC's range (ignored with `existing_vpc_id`)."""
    private_subnet_cidrs: tuple[str, ...]
    availability_zones: tuple[str, ...]
    """Zone of each private subnet; empty: the region's first available zones, in order."""
    interface_endpoints: Mapping[str, str]
    """Interface endpoints to create, service name (after com.amazonaws.<region>.) to the reason
    it is needed (at least CONTAINER_ENDPOINTS). The S3 gateway endpoint is always created."""
    create_vpc_endpoints: bool
    """Off only for an existing VPC that already has the endpoints."""
    nat_gateways: NatGateways
    """Internet egress: none, one NAT gateway, or one per zone."""
    public_subnet_cidrs: tuple[str, ...]
    """One per zone, for the NAT gateways."""
    existing_vpc_id: str | None
    """Use this VPC and the subnets below instead of creating them."""
    existing_private_subnet_ids: tuple[str, ...]
    existing_private_route_table_ids: tuple[str, ...]
    flow_logs: Role | None
    """Role for VPC Flow Logs (all traffic, to a log group); None: no flow logs."""
    flow_log_retention_days: int
    partition: str
    """The AWS partition, for the S3 gateway endpoint policy's bucket ARNs."""
    deployment_buckets: tuple[str, ...] = ()
    """The deployment's own S3 buckets (remote state), reachable through the S3 gateway endpoint
    besides ECR's layer bucket. Default: none."""
    existing_vpc_internet_egress: bool = False
    """With `existing_vpc_id`: its private route tables have a default route (to its own NAT),
    checked at plan time. Default: no internet egress."""
    private_subnet_tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags on the private subnets made here (e.g. for load balancer discovery).
    Default: none."""
    looked_up_endpoints: Mapping[str, str] = field(default_factory=dict)
    """Interface endpoints (of `interface_endpoints`) whose service not every region offers,
    to what to do instead. Each is looked up at plan time, so a region without it fails the
    plan at that lookup, and the plan checks it is offered in every zone of the private
    subnets made here. Default: none."""
    dynamodb_gateway: bool = False
    """Also create the (free) DynamoDB gateway endpoint on the private route tables."""


class Network(Construct):
    """VPC, subnets, routes and endpoints; exposes their ids for the other constructs."""

    def __init__(self, scope: Construct, id: str, *, props: NetworkProps) -> None:
        super().__init__(scope, id)
        self._props = props
        self.internet_egress = props.nat_gateways != "none"
        if props.existing_vpc_id is None:
            self._create_vpc()
        else:
            existing = DataAwsVpc(self, "existing-vpc", id=props.existing_vpc_id)
            self.vpc_id: str = existing.id
            self.vpc_cidr: str = existing.cidr_block
            self.private_subnet_ids: list[str] = list(props.existing_private_subnet_ids)
            self.private_route_table_ids: list[str] = list(props.existing_private_route_table_ids)
            if props.existing_vpc_internet_egress:
                self._check_existing_default_routes()
                self.internet_egress = True
        self.endpoint_security_group: SecurityGroup | None = None
        self._endpoint_services: dict[str, DataAwsVpcEndpointService] = {}
        self.interface_endpoints: dict[str, VpcEndpoint] = {}
        self.s3_prefix_list_id: str | None = None
        self.dynamodb_prefix_list_id: str | None = None
        if props.create_vpc_endpoints:
            self._create_endpoints()
        else:
            self._find_existing_s3_gateway()

    def _create_vpc(self) -> None:
        props = self._props
        vpc = Vpc(
            self,
            "vpc",
            cidr_block=props.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=name_tag(f"{props.name}-vpc"),
        )
        self.vpc = vpc
        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        # The default security group of a new VPC allows all traffic among its members; empty it.
        DefaultSecurityGroup(
            self, "default-sg", vpc_id=vpc.id, tags=name_tag(f"{props.name}-default-deny")
        )
        zones = self._zones(len(props.private_subnet_cidrs))
        self.private_subnets = [
            Subnet(
                self,
                f"private-{i + 1}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={
                    **name_tag(f"{props.name}-private-{i + 1}"),
                    "Tier": "private",
                    **props.private_subnet_tags,
                },
            )
            for i, (cidr, zone) in enumerate(zip(props.private_subnet_cidrs, zones, strict=True))
        ]
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.private_route_tables = []
        for i, subnet in enumerate(self.private_subnets):
            table = RouteTable(
                self,
                f"private-{i + 1}-routes",
                vpc_id=vpc.id,
                tags=name_tag(f"{props.name}-private-{i + 1}"),
            )
            RouteTableAssociation(
                self, f"private-{i + 1}-association", subnet_id=subnet.id, route_table_id=table.id
            )
            self.private_route_tables.append(table)
        self.private_route_table_ids = [t.id for t in self.private_route_tables]
        self.nat_gateway_ids: list[str] = []
        if self.internet_egress:
            self._create_nat_egress(zones)
        if props.flow_logs is not None:
            self._create_flow_logs(props.flow_logs)

    def _zones(self, count: int) -> list[str]:
        if self._props.availability_zones:
            return list(self._props.availability_zones)
        # A closed set of regular zone names (<region>a-f): the result cannot grow when AWS adds
        # a zone, and Local/Wavelength Zones (no endpoints, no Fargate) never match.
        available = DataAwsAvailabilityZones(
            self,
            "zones",
            state="available",
            filter=[
                DataAwsAvailabilityZonesFilter(
                    name="zone-name",
                    values=[f"{self._props.region}{letter}" for letter in "abcdef"],
                )
            ],
        )
        return [Token.as_string(Fn.element(available.names, i)) for i in range(count)]

    def _create_nat_egress(self, zones: list[str]) -> None:
        """Public subnets with NAT gateways; private route tables default-route through them."""
        props = self._props
        gateway = InternetGateway(
            self, "internet-gateway", vpc_id=self.vpc_id, tags=name_tag(f"{props.name}-igw")
        )
        public_routes = RouteTable(
            self, "public-routes", vpc_id=self.vpc_id, tags=name_tag(f"{props.name}-public")
        )
        Route(
            self,
            "public-default-route",
            route_table_id=public_routes.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
        )
        nat_count = 1 if props.nat_gateways == "single" else len(zones)
        for i, (cidr, zone) in enumerate(zip(props.public_subnet_cidrs, zones, strict=True)):
            subnet = Subnet(
                self,
                f"public-{i + 1}",
                vpc_id=self.vpc_id,
                cidr_block=cidr,
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**name_tag(f"{props.name}-public-{i + 1}"), "Tier": "public"},
            )
            RouteTableAssociation(
                self,
                f"public-{i + 1}-association",
                subnet_id=subnet.id,
                route_table_id=public_routes.id,
            )
            if i < nat_count:
                address = Eip(
                    self,
                    f"nat-{i + 1}-address",
                    domain="vpc",
                    tags=name_tag(f"{props.name}-nat-{i + 1}"),
                )
                nat = NatGateway(
                    self,
                    f"nat-{i + 1}",
                    allocation_id=address.allocation_id,
                    subnet_id=subnet.id,
                    tags=name_tag(f"{props.name}-nat-{i + 1}"),
                    depends_on=[gateway],
                )
                self.nat_gateway_ids.append(nat.id)
        for i, table in enumerate(self.private_route_tables):
            Route(
                self,
                f"private-{i + 1}-default-route",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=self.nat_gateway_ids[i % nat_count],
            )

    def _create_flow_logs(self, role: Role) -> None:
        props = self._props
        logs = CloudwatchLogGroup(
            self,
            "flow-logs",
            name=f"/vpc/{props.name}/flow-logs",
            retention_in_days=props.flow_log_retention_days,
            tags=name_tag(f"{props.name}-flow-logs"),
        )
        role.grant_flow_log_delivery(logs.arn)
        FlowLog(
            self,
            "flow-log",
            vpc_id=self.vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=logs.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=name_tag(f"{props.name}-flow-log"),
        )

    def _service_name(self, service: str) -> str:
        """The endpoint service's name; looked up (at plan time) when not every region has it."""
        name = f"com.amazonaws.{self._props.region}.{service}"
        if service not in self._props.looked_up_endpoints:
            return name
        # A region without the service fails the plan at this lookup, before anything is
        # created (the provider reports AWS's InvalidServiceName as "couldn't find resource").
        self._endpoint_services[service] = DataAwsVpcEndpointService(
            self,
            f"endpoint-service-{service.replace('.', '-')}",
            service_name=name,
            service_type="Interface",
        )
        return self._endpoint_services[service].service_name

    def _offered_in_every_zone(self, service: str) -> TerraformResourceLifecycle | None:
        """A plan-time check that `service` is offered in the zone of every private subnet made
        here (an existing VPC's subnet zones are not known to the plan)."""
        found = self._endpoint_services.get(service)
        if found is None or self._props.existing_vpc_id is not None:
            return None
        props = self._props
        zones = [subnet.availability_zone for subnet in self.private_subnets]
        return TerraformResourceLifecycle(
            precondition=[
                Precondition(
                    condition=Fn.alltrue(
                        [Fn.contains(found.availability_zones, zone) for zone in zones]
                    ),
                    error_message=(
                        f"com.amazonaws.{props.region}.{service} is not offered in every "
                        f"availability zone of the private subnets in {props.region}: "
                        f"{props.looked_up_endpoints[service]}"
                    ),
                )
            ]
        )

    def _check_existing_default_routes(self) -> None:
        """Fail the plan, naming the table, when an existing route table has no default route."""
        for index, table_id in enumerate(self._props.existing_private_route_table_ids):
            DataAwsRouteTable(
                self,
                f"existing-routes-{index + 1}",
                route_table_id=table_id,
                lifecycle=TerraformResourceLifecycle(
                    postcondition=[
                        Postcondition(
                            condition=(
                                "${anytrue([for route in self.routes : route.cidr_block == "
                                '"0.0.0.0/0"])}'
                            ),
                            error_message=(
                                f"Route table {table_id} has no 0.0.0.0/0 route (to the VPC's "
                                "NAT): add one, or set network.existing_vpc_internet_egress = "
                                "false"
                            ),
                        )
                    ]
                ),
            )

    def _find_existing_s3_gateway(self) -> None:
        """The existing VPC's S3 gateway endpoint (checked to serve the configured route tables)
        and the region's S3 prefix list, for the workload's egress rule."""
        props = self._props
        service = f"com.amazonaws.{props.region}.s3"
        tables = ", ".join(f'"{t}"' for t in props.existing_private_route_table_ids)
        DataAwsVpcEndpoint(
            self,
            "existing-s3-endpoint",
            vpc_id=self.vpc_id,
            service_name=service,
            filter=[
                DataAwsVpcEndpointFilter(name="vpc-endpoint-type", values=["Gateway"]),
                DataAwsVpcEndpointFilter(name="vpc-endpoint-state", values=["available"]),
            ],
            lifecycle=TerraformResourceLifecycle(
                postcondition=[
                    Postcondition(
                        condition=(
                            f"${{alltrue([for table in [{tables}] : "
                            "contains(self.route_table_ids, table)])}"
                        ),
                        error_message=(
                            f"The VPC's S3 gateway endpoint must serve the route tables "
                            f"[{tables}] (ECR image layers come through it): associate them "
                            "with it, or set network.create_vpc_endpoints = true"
                        ),
                    )
                ]
            ),
        )
        self.s3_prefix_list_id = DataAwsPrefixList(self, "s3-prefix-list", name=service).id

    def admit_to_endpoints(
        self, rule_id: str, *, peer: Peer, description: str
    ) -> list[VpcSecurityGroupIngressRule]:
        """Let `peer` (the workload's, nodes' or pods' group) reach the interface endpoints made
        here; returns the rule (none when the VPC's own endpoints are used)."""
        if self.endpoint_security_group is None:
            return []
        return [
            self.endpoint_security_group.allow_ingress(
                rule_id, peer=peer, port=443, description=description
            )
        ]

    def limit_endpoints_to(
        self, principal_arns: Sequence[str], web_identity_role_arns: Sequence[str] = ()
    ) -> None:
        """Endpoint policies: only `principal_arns` may call through the interface endpoints
        that accept a policy; STS also lets anyone exchange a web identity token for exactly
        `web_identity_role_arns` (IRSA: that call carries no AWS principal yet)."""
        for service, endpoint in self.interface_endpoints.items():
            if service not in ENDPOINT_POLICY_SERVICES:
                continue
            statements: list[Statement] = [
                {
                    "Sid": "DeploymentPrincipals",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"ArnEquals": {"aws:PrincipalArn": list(principal_arns)}},
                }
            ]
            if service == "sts" and web_identity_role_arns:
                statements.append(
                    {
                        "Sid": "WebIdentityToDeploymentRoles",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Resource": list(web_identity_role_arns),
                    }
                )
            endpoint.policy = policy_document(*statements)

    def _s3_gateway_policy(self) -> str:
        props = self._props
        s3 = f"arn:{props.partition}:s3:::"
        statements: list[Statement] = [
            {
                "Sid": "EcrImageLayers",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"{s3}{ecr_layer_bucket(props.region)}/*",
            }
        ]
        if props.deployment_buckets:
            statements.append(
                {
                    "Sid": "DeploymentBuckets",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": [
                        "s3:GetObject",
                        "s3:PutObject",
                        "s3:DeleteObject",
                        "s3:ListBucket",
                    ],
                    "Resource": [
                        arn
                        for bucket in props.deployment_buckets
                        for arn in (f"{s3}{bucket}", f"{s3}{bucket}/*")
                    ],
                }
            )
        return policy_document(*statements)

    def _create_endpoints(self) -> None:
        props = self._props
        self.endpoint_security_group = SecurityGroup(
            self,
            "endpoint-sg",
            props=SecurityGroupProps(
                name=f"{props.name}-endpoints",
                vpc_id=self.vpc_id,
                description="VPC interface endpoints: HTTPS from inside the VPC",
            ),
        )
        self.interface_endpoints = {
            service: VpcEndpoint(
                self,
                f"endpoint-{service.replace('.', '-')}",
                vpc_id=self.vpc_id,
                service_name=self._service_name(service),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[self.endpoint_security_group.id],
                lifecycle=self._offered_in_every_zone(service),
                tags=name_tag(f"{props.name}-{service}"),
            )
            for service in sorted(props.interface_endpoints)
        }
        s3 = VpcEndpoint(
            self,
            "endpoint-s3",
            vpc_id=self.vpc_id,
            service_name=f"com.amazonaws.{props.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=self.private_route_table_ids,
            policy=self._s3_gateway_policy(),
            tags=name_tag(f"{props.name}-s3"),
        )
        self.s3_prefix_list_id = s3.prefix_list_id
        if props.dynamodb_gateway:
            dynamodb = VpcEndpoint(
                self,
                "endpoint-dynamodb",
                vpc_id=self.vpc_id,
                service_name=f"com.amazonaws.{props.region}.dynamodb",
                vpc_endpoint_type="Gateway",
                route_table_ids=self.private_route_table_ids,
                tags=name_tag(f"{props.name}-dynamodb"),
            )
            self.dynamodb_prefix_list_id = dynamodb.prefix_list_id
