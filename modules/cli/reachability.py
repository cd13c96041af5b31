"""Reachability from the synthesized Terraform JSON: can A reach B on port P.

moto creates whatever it is given; it does not evaluate security groups or route packets. This
module reads a deployment's synthesized stacks the way the account enforces them: security
group rules (CIDRs, referenced groups, prefix lists, the group EKS makes for a cluster), route
tables with their NAT and internet gateway routes, interface endpoints with private DNS and the
S3 gateway endpoint on its route tables. Each platform and mode declares the flows it needs and
the flows it forbids (:func:`declared_flows`); :func:`analyze` answers each one with the rules
that open it or the reason it is closed.

What the JSON cannot show is taken from the configuration and says so ("assumed"): an existing
VPC's own endpoints, its NAT (checked at plan time by the data sources the network adds), and
networks beyond the VPC (peering, VPN).

    hypernym-deploy reachability [--config PATH|NAME]

prints the matrix; exit status 0 when every flow holds, 1 when one does not, 2 when the
configuration is invalid.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modules.cli.deployment import reported_config, synthesize
from modules.config import DeploymentConfig
from modules.config.derived import (
    api_client_cidrs,
    client_cidrs,
    internet_egress,
    managed_gateway_upstreams,
)
from service.contract import CONTAINER_PORT

Body = dict[str, Any]
HTTPS = 443
REFERENCE = re.compile(r"^\$\{([a-z0-9_.]+?\.[A-Za-z0-9_-]+)\.([a-z_\[\]0-9.]+)\}$")
EKS_CLUSTER_GROUP = "vpc_config[0].cluster_security_group_id"
LISTENER_PORTS = {"http": (80,), "https": (443, 80)}
"""Listener ports per protocol, as the ALB construct opens them (80 redirects with HTTPS)."""


# --- address ranges ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Net:
    """An IPv4 range, or the existing VPC's range (`cidr` None: known only at apply)."""

    cidr: ipaddress.IPv4Network | None

    def within(self, other: Net) -> bool:
        if other.cidr is not None and other.cidr.prefixlen == 0:
            return True
        if self.cidr is None or other.cidr is None:
            return self.cidr is None and other.cidr is None
        return self.cidr.subnet_of(other.cidr)

    def __str__(self) -> str:
        return "the VPC's range" if self.cidr is None else str(self.cidr)


def net(value: str) -> Net:
    return Net(ipaddress.IPv4Network(value))


# --- the topology the JSON declares --------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One security group rule: `direction` of `group`, TCP `ports` (None: all traffic)."""

    name: str
    direction: str
    group: str
    ports: tuple[int, int] | None
    cidr: Net | None = None
    peer_group: str | None = None
    prefix_list: str | None = None

    def covers(self, port: int) -> bool:
        return self.ports is None or self.ports[0] <= port <= self.ports[1]


@dataclass(frozen=True)
class Place:
    """Something that sends or receives: its security groups, addresses and route tables."""

    name: str
    groups: frozenset[str] = frozenset()
    nets: tuple[Net, ...] = ()
    route_tables: frozenset[str] = frozenset()


@dataclass
class Topology:
    """Security groups, routes and endpoints of every stack of one deployment."""

    vpc: Net
    rules: list[Rule] = field(default_factory=list)
    subnets: dict[str, Net] = field(default_factory=dict)
    """Subnet reference -> its range."""
    subnet_tables: dict[str, str] = field(default_factory=dict)
    nat_subnets: dict[str, str] = field(default_factory=dict)
    """NAT gateway reference -> the subnet it sits in."""
    default_routes: dict[str, str] = field(default_factory=dict)
    """Route table -> the target of its 0.0.0.0/0 route (`nat:<ref>`, `igw:<ref>`, `assumed`)."""
    interface_endpoints: dict[str, Body] = field(default_factory=dict)
    """Service (after com.amazonaws.<region>.) -> the endpoint's body."""
    gateway_tables: dict[str, frozenset[str]] = field(default_factory=dict)
    """S3 prefix list reference -> the route tables its gateway endpoint serves."""
    resources: dict[str, dict[str, Body]] = field(default_factory=dict)
    existing_route_tables: frozenset[str] = frozenset()
    """The route tables of an existing VPC's subnets, as the configuration names them."""


def _reference(value: str) -> str:
    """`${aws_x.name.id}` -> `aws_x.name`; the EKS cluster group -> `<cluster>.<attribute>`;
    literal ids stay as they are."""
    match = REFERENCE.match(value)
    if match is None:
        return value
    address, attribute = match.groups()
    return f"{address}.{attribute}" if attribute == EKS_CLUSTER_GROUP else address


def topology(config: DeploymentConfig, documents: Mapping[str, Body]) -> Topology:
    """The network of the synthesized stacks (`stack name -> cdk.tf.json`)."""
    resources: dict[str, dict[str, Body]] = {}
    for document in documents.values():
        for kind, by_name in document.get("resource", {}).items():
            resources.setdefault(kind, {}).update(by_name)
        for kind, by_name in document.get("data", {}).items():
            resources.setdefault(f"data.{kind}", {}).update(by_name)
    vpcs = resources.get("aws_vpc", {})
    found = Topology(
        vpc=Net(None) if config.existing_vpc else net(next(iter(vpcs.values()))["cidr_block"]),
        resources=resources,
        existing_route_tables=frozenset(config.network.existing_private_route_table_ids),
    )
    _read_rules(found)
    _read_routes(found)
    _read_endpoints(found, f"com.amazonaws.{config.region}.")
    return found


def _cidr(found: Topology, value: str) -> Net:
    address = _reference(value)
    if address.startswith(("aws_vpc.", "data.aws_vpc.")):
        return found.vpc
    return net(value)


def _read_rules(found: Topology) -> None:
    for direction in ("ingress", "egress"):
        rules = found.resources.get(f"aws_vpc_security_group_{direction}_rule", {})
        for name, body in rules.items():
            protocol = str(body["ip_protocol"])
            cidr = body.get("cidr_ipv4")
            if "cidr_ipv6" in body:
                if body["cidr_ipv6"] != "::/0":
                    continue  # no IPv6 addresses in this design: nothing it could match
                cidr = "0.0.0.0/0"  # anywhere, as far as these flows are concerned
            peer_group = body.get("referenced_security_group_id")
            prefix_list = body.get("prefix_list_id")
            found.rules.append(
                Rule(
                    name=f"{direction} {body.get('tags', {}).get('Name', name)}",
                    direction=direction,
                    group=_reference(body["security_group_id"]),
                    ports=None
                    if protocol == "-1"
                    else (int(body["from_port"]), int(body["to_port"])),
                    cidr=None if cidr is None else _cidr(found, cidr),
                    peer_group=None if peer_group is None else _reference(peer_group),
                    prefix_list=None if prefix_list is None else _reference(prefix_list),
                )
            )
    for name in found.resources.get("aws_eks_cluster", {}):
        # The group EKS makes for a cluster: all traffic among its members (control plane,
        # nodes, pods on the nodes' ENIs), all traffic out (EKS user guide, "Security group
        # requirements").
        group = f"aws_eks_cluster.{name}.{EKS_CLUSTER_GROUP}"
        label = "the cluster security group (EKS-made)"
        found.rules.append(
            Rule(f"ingress {label}: its members", "ingress", group, None, peer_group=group)
        )
        found.rules.append(
            Rule(f"egress {label}: all", "egress", group, None, cidr=net("0.0.0.0/0"))
        )


def _read_routes(found: Topology) -> None:
    resources = found.resources
    for name, body in resources.get("aws_subnet", {}).items():
        found.subnets[f"aws_subnet.{name}"] = net(body["cidr_block"])
    for body in resources.get("aws_route_table_association", {}).values():
        found.subnet_tables[_reference(body["subnet_id"])] = _reference(body["route_table_id"])
    for name, body in resources.get("aws_nat_gateway", {}).items():
        found.nat_subnets[f"aws_nat_gateway.{name}"] = _reference(body["subnet_id"])
    for body in resources.get("aws_route", {}).values():
        if body.get("destination_cidr_block") == "0.0.0.0/0":
            target = (
                f"nat:{_reference(body['nat_gateway_id'])}"
                if "nat_gateway_id" in body
                else f"igw:{_reference(body.get('gateway_id', ''))}"
            )
            found.default_routes[_reference(body["route_table_id"])] = target
    # An existing VPC's tables: a default route checked by a plan-time postcondition.
    for body in resources.get("data.aws_route_table", {}).values():
        checks = body.get("lifecycle", {}).get("postcondition", [])
        if any('"0.0.0.0/0"' in check["condition"] for check in checks):
            found.default_routes[body["route_table_id"]] = "assumed"


def _read_endpoints(found: Topology, prefix: str) -> None:
    resources = found.resources
    lookups = resources.get("data.aws_vpc_endpoint_service", {})
    for name, body in resources.get("aws_vpc_endpoint", {}).items():
        # A service not every region offers is named through its plan-time lookup.
        looked_up = _reference(body["service_name"]).removeprefix("data.aws_vpc_endpoint_service.")
        service_name = (
            lookups[looked_up]["service_name"] if looked_up in lookups else body["service_name"]
        )
        service = service_name.removeprefix(prefix)
        if body["vpc_endpoint_type"] == "Interface":
            found.interface_endpoints[service] = body
        elif service == "s3":
            tables = frozenset(_reference(t) for t in body.get("route_table_ids", []))
            found.gateway_tables[f"aws_vpc_endpoint.{name}"] = tables
    existing = resources.get("data.aws_vpc_endpoint", {}).values()
    if any(e.get("service_name") == f"{prefix}s3" for e in existing):
        # The existing VPC's gateway endpoint, checked at plan time to serve the configured
        # route tables; its prefix list is looked up beside it.
        for list_name in resources.get("data.aws_prefix_list", {}):
            found.gateway_tables[f"data.aws_prefix_list.{list_name}"] = found.existing_route_tables


# --- places of a deployment ----------------------------------------------------------------------


def _subnet_place(found: Topology, name: str, groups: list[str], subnets: list[str]) -> Place:
    nets, tables = [], set()
    for subnet in map(_reference, subnets):
        nets.append(found.subnets.get(subnet, Net(None)))
        if subnet in found.subnet_tables:
            tables.add(found.subnet_tables[subnet])
    if not tables:  # an existing VPC's subnets: the route tables the configuration names
        tables = set(found.existing_route_tables)
    return Place(name, frozenset(map(_reference, groups)), tuple(nets), frozenset(tables))


def _only(found: Topology, kind: str) -> Body:
    (body,) = found.resources.get(kind, {}).values()
    return body


def workload(config: DeploymentConfig, found: Topology) -> Place:
    """ECS tasks, or EKS nodes and the pods on their ENIs."""
    if config.platform == "ecs":
        network = _only(found, "aws_ecs_service")["network_configuration"]
        return _subnet_place(found, "tasks", network["security_groups"], network["subnets"])
    nodes = _only(found, "aws_eks_node_group")
    (cluster,) = found.resources["aws_eks_cluster"]
    group = f"${{aws_eks_cluster.{cluster}.{EKS_CLUSTER_GROUP}}}"
    return _subnet_place(found, "nodes and pods", [group], nodes["subnet_ids"])


def control_plane(found: Topology) -> Place:
    (name, cluster) = next(iter(found.resources["aws_eks_cluster"].items()))
    vpc_config = cluster["vpc_config"]
    groups = [f"${{aws_eks_cluster.{name}.{EKS_CLUSTER_GROUP}}}"]
    groups += vpc_config.get("security_group_ids", [])
    return _subnet_place(found, "EKS API endpoint", groups, vpc_config["subnet_ids"])


def load_balancer(found: Topology) -> Place:
    alb = _only(found, "aws_lb")
    return _subnet_place(found, "load balancer", alb["security_groups"], alb["subnets"])


def endpoint(found: Topology, service: str) -> Place | None:
    """The interface endpoint of `service` this deployment made; None: not made here."""
    body = found.interface_endpoints.get(service)
    if body is None:
        return None
    return _subnet_place(
        found, f"{service} endpoint", body.get("security_group_ids", []), body["subnet_ids"]
    )


# --- flows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    """`source` to `target` on TCP `port` (0: any port): needed (must be open) or forbidden
    (must be closed)."""

    purpose: str
    source: str
    target: str
    port: int
    needed: bool


@dataclass(frozen=True)
class Verdict:
    flow: Flow
    reachable: bool
    why: str

    @property
    def holds(self) -> bool:
        return self.reachable == self.flow.needed

    def line(self) -> str:
        kind = "needed" if self.flow.needed else "forbidden"
        state = "reachable" if self.reachable else "unreachable"
        port = self.flow.port or "any port"
        return (
            f"{kind} flow {self.flow.source} -> {self.flow.target} on {port} "
            f"({self.flow.purpose}) is {state}: {self.why}"
        )


def _egress(found: Topology, source: Place, port: int) -> Iterator[Rule]:
    return (
        r
        for r in found.rules
        if r.direction == "egress" and r.group in source.groups and r.covers(port)
    )


def _ingress(found: Topology, target: Place, port: int) -> Iterator[Rule]:
    return (
        r
        for r in found.rules
        if r.direction == "ingress" and r.group in target.groups and r.covers(port)
    )


def _out_to_place(found: Topology, source: Place, target: Place, port: int) -> Rule | None:
    for rule in _egress(found, source, port):
        if rule.peer_group is not None and rule.peer_group in target.groups:
            return rule
        if rule.cidr is not None and target.nets and all(n.within(rule.cidr) for n in target.nets):
            return rule
    return None


def _in_from_place(found: Topology, target: Place, source: Place, port: int) -> Rule | None:
    """The ingress rule admitting `source`, one naming its group first, else its range."""
    rules = list(_ingress(found, target, port))
    by_group = (r for r in rules if r.peer_group is not None and r.peer_group in source.groups)
    by_range = (
        r
        for r in rules
        if r.cidr is not None and source.nets and all(n.within(r.cidr) for n in source.nets)
    )
    return next(by_group, None) or next(by_range, None)


def place_to_place(found: Topology, source: Place, target: Place, port: int) -> tuple[bool, str]:
    """Both groups must agree (stateful: replies need no rule); inside the VPC the local route
    carries the packets."""
    if source.groups:
        out = _out_to_place(found, source, target, port)
        if out is None:
            return False, f"no egress rule of {source.name} admits {target.name} on {port}"
        via = [out.name]
    else:
        via = [f"{source.name}: no security group of this deployment"]
    into = _in_from_place(found, target, source, port)
    if into is None:
        return False, f"no ingress rule of {target.name} admits {source.name} on {port}"
    return True, "; ".join([*via, into.name, "local route"])


def _default_route(found: Topology, table: str) -> str | None:
    """How `table` reaches the internet: NAT -> internet gateway, the existing VPC's NAT
    (checked at plan time), or None."""
    target = found.default_routes.get(table)
    if target is None:
        return None
    if target == "assumed":
        return "the existing VPC's default route (checked at plan time)"
    if target.startswith("nat:"):
        nat_subnet = found.nat_subnets.get(target.removeprefix("nat:"))
        public_table = found.subnet_tables.get(nat_subnet or "")
        upstream = found.default_routes.get(public_table or "", "")
        if upstream.startswith("igw:"):
            return "NAT gateway -> internet gateway"
        return None
    return None  # an internet gateway on a private route table is not this design's


def to_internet(found: Topology, source: Place, port: int | None) -> tuple[bool, str]:
    """Out to 0.0.0.0/0 on `port` (None: on any port) through NAT on every route table."""
    candidates = (
        (r for r in found.rules if r.direction == "egress" and r.group in source.groups)
        if port is None
        else _egress(found, source, port)
    )
    rule = next((r for r in candidates if r.cidr == net("0.0.0.0/0")), None)
    if rule is None:
        return False, f"no egress rule of {source.name} admits 0.0.0.0/0 on {port or 'any port'}"
    routes = {table: _default_route(found, table) for table in sorted(source.route_tables)}
    missing = [table for table, route in routes.items() if route is None]
    if not routes or missing:
        return False, f"{rule.name} opens it, but no default route through NAT in {missing}"
    return True, f"{rule.name}; {sorted(set(filter(None, routes.values())))[0]}"


def to_cidr(found: Topology, source: Place, target: Net, port: int) -> tuple[bool, str]:
    rule = next((r for r in _egress(found, source, port) if r.cidr and target.within(r.cidr)), None)
    if rule is None:
        return False, f"no egress rule of {source.name} admits {target} on {port}"
    if target.within(found.vpc):
        return True, f"{rule.name}; local route"
    if target.cidr is not None and target.cidr.prefixlen == 0:
        return to_internet(found, source, port)
    return True, f"{rule.name}; beyond the VPC (peering, VPN): assumed routed"


def to_s3(found: Topology, source: Place) -> tuple[bool, str]:
    """Through a gateway endpoint on every route table of the source (its prefix list in an
    egress rule), else over the internet."""
    for prefix_list, tables in found.gateway_tables.items():
        if not source.route_tables <= tables or not source.route_tables:
            continue
        rules = list(_egress(found, source, HTTPS))
        rule = next((r for r in rules if r.prefix_list == prefix_list), None) or next(
            (r for r in rules if r.cidr == net("0.0.0.0/0")), None
        )
        if rule is not None:
            return True, (
                f"{rule.name}; the S3 gateway endpoint serves all {len(source.route_tables)} "
                f"route tables of {source.name}"
            )
        return False, f"no egress rule of {source.name} admits the S3 prefix list on 443"
    if found.gateway_tables:
        return False, (
            f"the S3 gateway endpoint does not serve the route tables of {source.name} "
            f"({sorted(source.route_tables) or 'unknown'})"
        )
    reachable, why = to_internet(found, source, HTTPS)
    return reachable, ("no S3 gateway endpoint; " if not reachable else "") + why


def to_service(
    config: DeploymentConfig, found: Topology, source: Place, service: str
) -> tuple[bool, str]:
    """An AWS API by its public name: the interface endpoint with private DNS made here, or the
    existing VPC's own endpoints (assumed), or the internet."""
    target = endpoint(found, service)
    if target is not None:
        if found.interface_endpoints[service].get("private_dns_enabled") is not True:
            return False, f"the {service} endpoint has no private DNS: its public name resolves out"
        reachable, why = place_to_place(found, source, target, HTTPS)
        return reachable, why + ("; private DNS" if reachable else "")
    if config.existing_vpc and not config.network.create_vpc_endpoints:
        reachable, why = to_cidr(found, source, found.vpc, HTTPS)
        return reachable, why + ("; the existing VPC's endpoint: assumed" if reachable else "")
    reachable, why = to_internet(found, source, HTTPS)
    return reachable, (f"no {service} endpoint; " if not reachable else "") + why


def anywhere_ingress(found: Topology) -> tuple[bool, str]:
    ingress = [r for r in found.rules if r.direction == "ingress"]
    wide = [r.name for r in ingress if r.cidr is not None and r.cidr == net("0.0.0.0/0")]
    if wide:
        return True, f"open by {', '.join(wide)}"
    return False, f"none of the {len(ingress)} ingress rules admits 0.0.0.0/0 or ::/0"


# --- what each platform and mode declares --------------------------------------------------------


def required_services(config: DeploymentConfig) -> dict[str, str]:
    """The AWS APIs the workload calls, declared here apart from the endpoint lists the stacks
    build from (modules/constructs/network.py, eks_cluster.py), so that an endpoint dropped
    there fails here."""
    services = {
        "ecr.api": "image manifests, registry token",
        "ecr.dkr": "image pulls",
        "logs": "container logs",
    }
    if config.secrets_manager_used:
        services["secretsmanager"] = "the provider secret, gateway token or API keys"
    if config.marketplace.metering != "off":
        services["metering.marketplace"] = "Marketplace metering"
    if config.async_jobs.enabled:
        services["sqs"] = "the asynchronous jobs' queue"
    if config.platform == "eks":
        services["sts"] = "IRSA role assumption"
        services["ec2"] = "VPC CNI, controller, CloudWatch agent"
        services["elasticloadbalancing"] = "the load balancer controller"
        if config.eks.node_autoscaler == "cluster-autoscaler":
            services["autoscaling"] = "the Cluster Autoscaler"
    return services


def analyze(config: DeploymentConfig, documents: Mapping[str, Body]) -> list[Verdict]:
    """Every declared flow of the deployment, answered from its synthesized stacks."""
    found = topology(config, documents)
    verdicts: list[Verdict] = []

    def check(flow: Flow, answer: tuple[bool, str]) -> None:
        verdicts.append(Verdict(flow, *answer))

    source = workload(config, found)
    vpc_cidr = str(found.vpc) if found.vpc.cidr is not None else "${vpc}"
    for service, purpose in required_services(config).items():
        check(
            Flow(purpose, source.name, f"AWS {service}", HTTPS, True),
            to_service(config, found, source, service),
        )
    check(Flow("ECR image layers", source.name, "S3", HTTPS, True), to_s3(found, source))
    if config.inference.mode == "managed":
        for cidr, port in managed_gateway_upstreams(config, vpc_cidr):
            target = _values_net(found, cidr)
            check(
                Flow("managed LLM gateway", source.name, str(target), port, True),
                to_cidr(found, source, target, port),
            )
        check(
            Flow("no internet in managed mode", source.name, "internet", 0, False),
            to_internet(found, source, None),
        )
    elif internet_egress(config):
        check(
            Flow("BYOP provider through NAT", source.name, "internet", HTTPS, True),
            to_internet(found, source, HTTPS),
        )
    clients = [
        Place(f"clients {n}", nets=(n,))
        for n in (_values_net(found, c) for c in client_cidrs(config, vpc_cidr))
    ]
    if config.platform == "ecs":
        alb = load_balancer(found)
        for client in clients:
            for port in LISTENER_PORTS[config.load_balancer.protocol]:
                check(
                    Flow("the listener", client.name, alb.name, port, True),
                    place_to_place(found, client, alb, port),
                )
        check(
            Flow("forward to the service", alb.name, source.name, CONTAINER_PORT, True),
            place_to_place(found, alb, source, CONTAINER_PORT),
        )
    else:
        verdicts += _eks_verdicts(config, found, source, clients, vpc_cidr)
    check(
        Flow("no ingress from anywhere", "0.0.0.0/0, ::/0", "any group", 0, False),
        anywhere_ingress(found),
    )
    return verdicts


def _release_values(found: Topology, name: str) -> Body:
    (release,) = [r for r in found.resources.get("helm_release", {}).values() if r["name"] == name]
    (values,) = release["values"]
    return json.loads(values)


def _eks_verdicts(
    config: DeploymentConfig,
    found: Topology,
    pods: Place,
    clients: list[Place],
    vpc_cidr: str,
) -> list[Verdict]:
    api = control_plane(found)
    runners = [
        Place(f"runner {n}", nets=(n,))
        for n in (_values_net(found, c) for c in api_client_cidrs(config, vpc_cidr))
    ] + [
        Place(f"runner in {g}", groups=frozenset({g}), nets=(found.vpc,))
        for g in config.eks.api_client_security_group_ids
    ]
    verdicts = [
        Verdict(
            Flow("kubelet and controllers", pods.name, api.name, HTTPS, True),
            *place_to_place(found, pods, api, HTTPS),
        )
    ]
    for runner in runners:
        # A runner's own egress is its network's business; the control plane must admit it.
        into = _in_from_place(found, api, runner, HTTPS)
        verdicts.append(
            Verdict(
                Flow("the apps stack (Helm), kubectl", runner.name, api.name, HTTPS, True),
                into is not None,
                f"{into.name}; local route"
                if into is not None
                else f"no ingress rule of {api.name} admits {runner.name} on 443",
            )
        )
    # The ALB is the controller's: its groups come from the Ingress (inboundCidrs), and the
    # pods admit it through the chart's NetworkPolicy.
    values = _release_values(found, "hypernym")
    inbound = [_values_net(found, c) for c in values["ingress"]["inboundCidrs"]]
    for client in clients:
        (client_net,) = client.nets
        opened = [str(n) for n in inbound if client_net.within(n)]
        verdicts += [
            Verdict(
                Flow("the listener (controller's ALB)", client.name, "load balancer", port, True),
                bool(opened),
                f"Ingress inboundCidrs {opened}" if opened else "not in the Ingress inboundCidrs",
            )
            for port in LISTENER_PORTS[config.load_balancer.protocol]
        ]
    policy = [_values_net(found, c) for c in values["networkPolicy"]["ingressCidrs"]]
    alb_in_policy = any(found.vpc.within(n) for n in policy)
    verdicts.append(
        Verdict(
            Flow("forward to the pods", "load balancer", pods.name, CONTAINER_PORT, True),
            alb_in_policy,
            "NetworkPolicy admits the VPC (the ALB's subnets); the controller opens the nodes' "
            "group"
            if alb_in_policy
            else "the chart's NetworkPolicy does not admit the VPC's range",
        )
    )
    return verdicts


def _values_net(found: Topology, value: str) -> Net:
    """A range the configuration or the Helm values give: a CIDR, or the (existing) VPC's."""
    return found.vpc if value.startswith("${") else net(value)


# --- the command ---------------------------------------------------------------------------------


def matrix(config: DeploymentConfig, verdicts: list[Verdict]) -> str:
    """The verdicts as a table a person reads when a deployment misbehaves."""
    rows = [("flow", "from", "to", "port", "kind", "result", "holds", "why")]
    rows += [
        (
            v.flow.purpose,
            v.flow.source,
            v.flow.target,
            str(v.flow.port) if v.flow.port else "any",
            "needed" if v.flow.needed else "forbidden",
            "reachable" if v.reachable else "unreachable",
            "ok" if v.holds else "FAIL",
            v.why,
        )
        for v in verdicts
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    failing = sum(not v.holds for v in verdicts)
    lines = [
        f"{config.name}: {config.platform}, {config.inference.mode} mode: {len(verdicts)} flows, "
        + (f"{failing} FAIL" if failing else "all hold")
    ]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def synthesized_documents(config: DeploymentConfig) -> dict[str, Body]:
    """Synthesize the deployment into a scratch directory and read every stack's JSON."""
    with tempfile.TemporaryDirectory(prefix="reachability-") as scratch:
        stacks = synthesize(config, Path(scratch) / "cdktf.out")
        return {s.name: json.loads((s / "cdk.tf.json").read_text()) for s in stacks}


def _reachability(args: argparse.Namespace) -> int:
    config = reported_config(args.config)
    if config is None:
        return 2
    verdicts = analyze(config, synthesized_documents(config))
    print(matrix(config, verdicts))
    failures = [v for v in verdicts if not v.holds]
    for verdict in failures:
        print(f"FAILED {verdict.line()}")
    return 1 if failures else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reachability",
        help="check the flows the deployment needs and forbids against its synthesized network",
    )
    parser.add_argument(
        "--config",
        help="deployment file or example name (default: $HYPERNYM_DEPLOYMENT, else ecs-managed)",
    )
    parser.set_defaults(handler=_reachability)
