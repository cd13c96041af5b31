"""The private network: VPC, private subnets per zone, VPC endpoints, optional NAT egress.

Default: a new VPC with DNS on, one private subnet and route table per availability zone, no
internet gateway and no NAT; AWS services are reached through VPC endpoints (interface
endpoints with private DNS behind a security group admitting 443 from the VPC, plus the free S3
gateway endpoint that ECR image layers come from). Alternatively the endpoints (and everything
else) go into an existing VPC and subnets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf import Fn, Precondition, TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_availability_zones import (
    DataAwsAvailabilityZones,
    DataAwsAvailabilityZonesFilter,
)
from cdktf_cdktf_provider_aws.data_aws_vpc import DataAwsVpc
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
from constructs import Construct

from modules.config.model import NatGateways
from modules.constructs.iam import Role
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
METERING_SERVICE = "metering.marketplace"
"""AWS Marketplace metering's endpoint service: not offered in every region (or zone)."""
METERING_ENDPOINT: Mapping[str, str] = {
    METERING_SERVICE: "AWS Marketplace RegisterUsage/MeterUsage without internet",
}


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
    private_subnet_tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags on the private subnets made here (e.g. for load balancer discovery).
    Default: none."""
    looked_up_endpoints: Mapping[str, str] = field(default_factory=dict)
    """Interface endpoints (of `interface_endpoints`) whose service not every region offers,
    to what to do instead. Each is looked up at plan time, so a region without it fails the
    plan at that lookup, and the plan checks it is offered in every zone of the private
    subnets made here. Default: none."""


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
        self.endpoint_security_group: SecurityGroup | None = None
        self._endpoint_services: dict[str, DataAwsVpcEndpointService] = {}
        self.s3_prefix_list_id: str | None = None
        if props.create_vpc_endpoints:
            self._create_endpoints()

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
        self.endpoint_security_group.allow_ingress(
            "https-from-vpc",
            peer=Peer(cidr=self.vpc_cidr),
            port=443,
            description="HTTPS to AWS APIs from anything in the VPC",
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
            tags=name_tag(f"{props.name}-s3"),
        )
        self.s3_prefix_list_id = s3.prefix_list_id
