"""The network construct in the synthesized ECS stacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.infra.conftest import example, varied
from tests.infra.synthesized import Body, Stack, endpoint_service_name


def test_vpc_uses_the_configured_range_with_dns_on(managed: Stack) -> None:
    vpc = managed.one("aws_vpc")
    assert vpc["cidr_block"] == "10.0.0.0/16"
    assert vpc["enable_dns_support"] is True
    assert vpc["enable_dns_hostnames"] is True


def test_private_subnets_sit_in_two_different_zones_without_public_ips(managed: Stack) -> None:
    subnets = managed.resources("aws_subnet")
    assert sorted(s["cidr_block"] for s in subnets.values()) == ["10.0.1.0/24", "10.0.2.0/24"]
    zones = [s["availability_zone"] for s in subnets.values()]
    assert len(set(zones)) == 2
    assert all(s["map_public_ip_on_launch"] is False for s in subnets.values())


def test_default_zones_come_from_a_closed_list_of_regular_zone_names(managed: Stack) -> None:
    (zones,) = managed.data("aws_availability_zones").values()
    assert zones["filter"] == [{"name": "zone-name", "values": [f"eu-west-1{c}" for c in "abcdef"]}]


def test_each_private_subnet_has_its_own_route_table(managed: Stack) -> None:
    associations = managed.resources("aws_route_table_association").values()
    assert len(managed.resources("aws_route_table")) == 2
    assert len({a["route_table_id"] for a in associations}) == 2
    assert len({a["subnet_id"] for a in associations}) == 2


def test_no_internet_gateway_nat_or_default_route_by_default(managed: Stack) -> None:
    for kind in ("aws_internet_gateway", "aws_nat_gateway", "aws_eip", "aws_route"):
        assert managed.resources(kind) == {}, kind
    assert all(
        s["cidr_block"].startswith("10.0.") for s in managed.resources("aws_subnet").values()
    )


def test_interface_endpoints_use_private_dns_in_the_private_subnets(managed: Stack) -> None:
    interface = [
        e
        for e in managed.resources("aws_vpc_endpoint").values()
        if e["vpc_endpoint_type"] == "Interface"
    ]
    subnets = sorted(managed.ref("aws_subnet", f"private-{i}_") for i in (1, 2))
    assert interface
    for endpoint in interface:
        assert endpoint["private_dns_enabled"] is True
        assert sorted(endpoint["subnet_ids"]) == subnets
        assert endpoint["security_group_ids"] == [managed.ref("aws_security_group", "endpoint-sg")]


def endpoint_services(stack: Stack) -> set[str]:
    return {
        endpoint_service_name(stack.document, e).removeprefix("com.amazonaws.eu-west-1.")
        for e in stack.resources("aws_vpc_endpoint").values()
    }


def test_endpoints_cover_ecr_logs_metering_and_s3(managed: Stack) -> None:
    assert {"ecr.api", "ecr.dkr", "logs", "metering.marketplace", "s3"} <= endpoint_services(
        managed
    )


def test_secrets_manager_endpoint_exists_when_tasks_read_a_secret(
    managed: Stack, byop: Stack
) -> None:
    assert "secretsmanager" in endpoint_services(managed)  # the gateway token
    assert "secretsmanager" in endpoint_services(byop)  # the provider credentials


def test_no_secrets_manager_or_metering_endpoint_when_unused(tokenless_managed: Stack) -> None:
    assert endpoint_services(tokenless_managed) == {
        "ecr.api",
        "ecr.dkr",
        "logs",
        "s3",
        "sqs",  # asynchronous jobs (tests/infra/test_async_jobs.py)
        "dynamodb",
    }
    assert tokenless_managed.data("aws_vpc_endpoint_service") == {}


def test_the_metering_endpoint_service_is_looked_up_at_plan_time_in_every_subnet_zone(
    managed: Stack,
) -> None:
    # GIVEN metering on: its endpoint service is not offered in every region or zone.
    (lookup_id, lookup), *others = managed.data("aws_vpc_endpoint_service").items()
    assert others == []
    assert lookup["service_name"] == "com.amazonaws.eu-west-1.metering.marketplace"
    assert lookup["service_type"] == "Interface"
    # THEN the endpoint takes its name from the lookup, so a region without the service fails
    # the plan before anything is created ...
    data = f"data.aws_vpc_endpoint_service.{lookup_id}"
    (endpoint,) = [
        e for e in managed.resources("aws_vpc_endpoint").values() if data in e["service_name"]
    ]
    assert endpoint["service_name"] == f"${{{data}.service_name}}"
    # ... and a precondition holds the plan when a private subnet's zone lacks it, saying
    # what to do.
    (check,) = endpoint["lifecycle"]["precondition"]
    subnets = [
        n for n, b in managed.resources("aws_subnet").items() if b["tags"]["Tier"] == "private"
    ]
    assert len(subnets) == 2
    for subnet in subnets:
        assert (
            f"contains(tolist({data}.availability_zones), aws_subnet.{subnet}.availability_zone)"
            in check["condition"]
        )
    assert check["error_message"].startswith(
        "com.amazonaws.eu-west-1.metering.marketplace is not offered in every availability zone "
        "of the private subnets in eu-west-1: "
    )
    for fix in ('`marketplace.metering = "off"`', "`marketplace.metering_endpoint = false`"):
        assert fix in check["error_message"]


def test_metering_through_nat_needs_no_endpoint_and_no_lookup(
    synth_config: Callable[..., Path],
) -> None:
    # GIVEN NAT egress and metering_endpoint = false (a region without the endpoint service)
    config = varied(example("ecs-byop"), marketplace={"metering_endpoint": False})
    stack = Stack.load(synth_config(config, "metering-through-nat"), "hypernym-byop-ecs")
    # THEN metering goes out through the NAT gateways: no endpoint, nothing looked up.
    assert "metering.marketplace" not in endpoint_services(stack)
    assert stack.data("aws_vpc_endpoint_service") == {}
    assert stack.resources("aws_nat_gateway")


def test_s3_gateway_endpoint_serves_every_private_route_table(managed: Stack) -> None:
    (s3,) = [
        e
        for e in managed.resources("aws_vpc_endpoint").values()
        if e["service_name"] == "com.amazonaws.eu-west-1.s3"
    ]
    assert s3["vpc_endpoint_type"] == "Gateway"
    assert sorted(s3["route_table_ids"]) == sorted(
        managed.ref("aws_route_table", f"private-{i}-routes") for i in (1, 2)
    )


def test_endpoint_security_group_admits_https_from_the_tasks_not_the_whole_vpc(
    managed: Stack,
) -> None:
    group = managed.ref("aws_security_group", "endpoint-sg")
    ingress = [
        r
        for r in managed.resources("aws_vpc_security_group_ingress_rule").values()
        if r["security_group_id"] == group
    ]
    assert [
        (r["from_port"], r["to_port"], r.get("referenced_security_group_id")) for r in ingress
    ] == [(443, 443, managed.ref("aws_security_group", "security-groups_tasks"))]
    assert all("cidr_ipv4" not in r for r in ingress)
    egress = [
        r
        for r in managed.resources("aws_vpc_security_group_egress_rule").values()
        if r["security_group_id"] == group
    ]
    assert egress == []


def s3_gateway(stack: Stack) -> Body:
    return stack.one("aws_vpc_endpoint", "endpoint-s3_")


ARN = "arn:${data.aws_partition.partition.partition}:s3:::"
ACCOUNT = "${data.aws_caller_identity.caller.account_id}"


def test_s3_gateway_policy_admits_only_the_ecr_layer_bucket_and_the_deployment_buckets(
    managed: Stack, byop: Stack
) -> None:
    # ECR's layer bucket of the region, read only; then the deployment's own buckets
    layers, own = json.loads(s3_gateway(managed)["policy"])["Statement"]
    assert layers == {
        "Sid": "EcrImageLayers",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"{ARN}prod-eu-west-1-starport-layer-bucket/*",
    }
    # ecs-managed keeps local state: only the asynchronous jobs' results bucket
    jobs = f"{ARN}hypernym-jobs-{ACCOUNT}-eu-west-1"
    assert own["Sid"] == "DeploymentBuckets"
    assert sorted(own["Resource"]) == [jobs, f"{jobs}/*"]
    assert "s3:*" not in own["Action"]
    # ecs-byop keeps its state in S3: that bucket too, and nothing else
    statements = json.loads(s3_gateway(byop)["policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["EcrImageLayers", "DeploymentBuckets"]
    jobs = f"{ARN}hypernym-byop-jobs-{ACCOUNT}-eu-west-1"
    state = f"{ARN}hypernym-terraform-state"
    assert sorted(statements[1]["Resource"]) == sorted([state, f"{state}/*", jobs, f"{jobs}/*"])


def interface_endpoint(stack: Stack, service: str) -> Body:
    return stack.one("aws_vpc_endpoint", f"endpoint-{service.replace('.', '-')}_")


def test_interface_endpoint_policies_admit_only_the_deployment_roles(managed: Stack) -> None:
    roles = sorted(
        managed.ref("aws_iam_role", part, "arn") for part in ("execution-role", "task-role")
    )
    for service in ("ecr.api", "ecr.dkr", "logs", "secretsmanager"):
        (statement,) = json.loads(interface_endpoint(managed, service)["policy"])["Statement"]
        assert statement["Principal"] == "*"
        assert sorted(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == roles, service


def test_endpoint_principals_join_the_interface_endpoint_policies(
    synth_config: Callable[..., Path],
) -> None:
    runner = "arn:aws:iam::123456789012:role/ci-runner"
    config = varied(example("ecs-managed"), network={"endpoint_principal_arns": (runner,)})
    stack = Stack.load(synth_config(config, "endpoint-principals"), "hypernym-ecs")
    (statement,) = json.loads(interface_endpoint(stack, "logs")["policy"])["Statement"]
    assert runner in statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]


def test_metering_endpoint_keeps_the_default_policy_as_it_documents_none(managed: Stack) -> None:
    assert "policy" not in interface_endpoint(managed, "metering.marketplace")


def test_default_security_group_is_emptied(managed: Stack) -> None:
    default = managed.one("aws_default_security_group")
    assert "ingress" not in default
    assert "egress" not in default


def test_flow_logs_record_all_traffic_to_cloudwatch(managed: Stack) -> None:
    flow = managed.one("aws_flow_log")
    assert flow["traffic_type"] == "ALL"
    assert flow["log_destination_type"] == "cloud-watch-logs"
    assert flow["iam_role_arn"] == managed.ref("aws_iam_role", "flow-logs-role", "arn")


def test_single_nat_gateway_routes_every_private_subnet_through_it(byop: Stack) -> None:
    (nat,) = byop.resources("aws_nat_gateway")
    routes = [r for r in byop.resources("aws_route").values() if "nat_gateway_id" in r]
    assert len(routes) == 2
    assert {r["nat_gateway_id"] for r in routes} == {f"${{aws_nat_gateway.{nat}.id}}"}
    assert all(r["destination_cidr_block"] == "0.0.0.0/0" for r in routes)


def test_nat_gateways_sit_in_public_subnets_behind_an_internet_gateway(byop: Stack) -> None:
    byop.one("aws_internet_gateway")
    public = [s for s in byop.resources("aws_subnet").values() if s["tags"].get("Tier") == "public"]
    assert sorted(s["cidr_block"] for s in public) == ["10.1.101.0/24", "10.1.102.0/24"]
    assert all(s["map_public_ip_on_launch"] is False for s in public)
    (internet_route,) = [r for r in byop.resources("aws_route").values() if "gateway_id" in r]
    assert internet_route["destination_cidr_block"] == "0.0.0.0/0"


def test_per_az_nat_gives_each_zone_its_own_gateway(per_az_nat_with_kms: Stack) -> None:
    routes = [
        r for r in per_az_nat_with_kms.resources("aws_route").values() if "nat_gateway_id" in r
    ]
    assert len(per_az_nat_with_kms.resources("aws_nat_gateway")) == 2
    assert len({r["nat_gateway_id"] for r in routes}) == 2


def test_existing_vpc_is_used_instead_of_a_new_one(existing_vpc: Stack) -> None:
    assert existing_vpc.resources("aws_vpc") == {}
    assert existing_vpc.resources("aws_subnet") == {}
    (vpc,) = existing_vpc.data("aws_vpc").values()
    assert vpc["id"] == "vpc-0a1b2c3d4e5f"
    service = existing_vpc.one("aws_ecs_service")
    assert service["network_configuration"]["subnets"] == ["subnet-0aaa", "subnet-0bbb"]


def test_existing_vpc_without_endpoints_egresses_to_the_s3_prefix_list(
    existing_vpc_own_endpoints: Stack,
) -> None:
    stack = existing_vpc_own_endpoints
    assert stack.resources("aws_vpc_endpoint") == {}
    ((name, prefix_list),) = stack.data("aws_prefix_list").items()
    assert prefix_list["name"] == "com.amazonaws.eu-west-1.s3"
    to_s3 = stack.one("aws_vpc_security_group_egress_rule", "tasks_to-s3")
    assert to_s3["prefix_list_id"] == f"${{data.aws_prefix_list.{name}.id}}"
    assert (to_s3["from_port"], to_s3["to_port"]) == (443, 443)


def test_existing_vpc_s3_gateway_must_serve_the_configured_route_tables(
    existing_vpc_own_endpoints: Stack,
) -> None:
    (endpoint,) = existing_vpc_own_endpoints.data("aws_vpc_endpoint").values()
    assert endpoint["service_name"] == "com.amazonaws.eu-west-1.s3"
    assert {"name": "vpc-endpoint-type", "values": ["Gateway"]} in endpoint["filter"]
    (check,) = endpoint["lifecycle"]["postcondition"]
    assert '["rtb-0aaa", "rtb-0bbb"]' in check["condition"]
    assert "contains(self.route_table_ids, table)" in check["condition"]
    assert "network.create_vpc_endpoints = true" in check["error_message"]


def test_existing_vpc_internet_egress_is_opt_in_and_checked_at_plan_time(
    existing_vpc: Stack, existing_vpc_nat: Stack
) -> None:
    # GIVEN no opt-in THEN no HTTPS to anywhere and no route check
    assert existing_vpc.data("aws_route_table") == {}
    egress = existing_vpc.resources("aws_vpc_security_group_egress_rule").values()
    assert all(r.get("cidr_ipv4") != "0.0.0.0/0" for r in egress)
    # GIVEN the opt-in THEN 443 to anywhere, and the plan fails on a table without 0.0.0.0/0
    rule = existing_vpc_nat.one("aws_vpc_security_group_egress_rule", "to-internet-https")
    assert (rule["cidr_ipv4"], rule["from_port"]) == ("0.0.0.0/0", 443)
    tables = existing_vpc_nat.data("aws_route_table").values()
    assert sorted(t["route_table_id"] for t in tables) == ["rtb-0aaa", "rtb-0bbb"]
    for table in tables:
        (check,) = table["lifecycle"]["postcondition"]
        assert 'route.cidr_block == "0.0.0.0/0"' in check["condition"]
        assert table["route_table_id"] in check["error_message"]


def test_existing_vpc_gets_endpoints_in_its_subnets_and_route_tables(existing_vpc: Stack) -> None:
    endpoints = existing_vpc.resources("aws_vpc_endpoint").values()
    gateway = [e for e in endpoints if e["vpc_endpoint_type"] == "Gateway"]
    assert gateway[0]["route_table_ids"] == ["rtb-0aaa", "rtb-0bbb"]
    assert all(
        e["subnet_ids"] == ["subnet-0aaa", "subnet-0bbb"]
        for e in endpoints
        if e["vpc_endpoint_type"] == "Interface"
    )
