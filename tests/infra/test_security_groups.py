"""Security groups, tight both ways: every rule, by group, in the synthesized ECS stacks."""

from __future__ import annotations

from tests.infra.synthesized import Body, Stack

PEER_KEYS = ("cidr_ipv4", "referenced_security_group_id", "prefix_list_id")


def rules(stack: Stack, direction: str, group_part: str) -> set[tuple[int, str]]:
    """(port, peer) of every `direction` rule of the group matching `group_part`."""
    group = stack.ref("aws_security_group", group_part)
    found = set()
    for rule in stack.resources(f"aws_vpc_security_group_{direction}_rule").values():
        if rule["security_group_id"] == group:
            assert rule["ip_protocol"] == "tcp", rule
            assert rule["from_port"] == rule["to_port"], rule
            (peer,) = [rule[k] for k in PEER_KEYS if k in rule]
            found.add((rule["from_port"], peer))
    return found


def group(stack: Stack, part: str) -> str:
    return stack.ref("aws_security_group", part)


def test_alb_admits_only_the_client_networks_on_the_listener_port(managed: Stack) -> None:
    assert rules(managed, "ingress", "security-groups_alb") == {(80, "10.0.0.0/16")}


def test_alb_admits_https_and_the_redirect_port_with_https(https: Stack) -> None:
    assert rules(https, "ingress", "security-groups_alb") == {
        (443, "10.0.0.0/16"),
        (80, "10.0.0.0/16"),
    }


def test_alb_clients_default_to_the_vpc_range(existing_vpc: Stack) -> None:
    vpc_cidr = "${data.aws_vpc.network_existing-vpc_"
    ((port, peer),) = rules(existing_vpc, "ingress", "security-groups_alb")
    assert port == 80
    assert peer.startswith(vpc_cidr)
    assert peer.endswith(".cidr_block}")


def test_alb_sends_only_to_the_tasks_on_the_container_port(managed: Stack) -> None:
    assert rules(managed, "egress", "security-groups_alb") == {
        (8000, group(managed, "security-groups_tasks"))
    }


def test_tasks_admit_only_the_alb_on_the_container_port(managed: Stack) -> None:
    assert rules(managed, "ingress", "security-groups_tasks") == {
        (8000, group(managed, "security-groups_alb"))
    }


def s3_prefix_list(stack: Stack) -> str:
    return stack.ref("aws_vpc_endpoint", "endpoint-s3", "prefix_list_id")


def dynamodb_prefix_list(stack: Stack) -> str:
    """The DynamoDB gateway endpoint's (asynchronous jobs)."""
    return stack.ref("aws_vpc_endpoint", "endpoint-dynamodb", "prefix_list_id")


def test_managed_tasks_reach_only_endpoints_s3_and_the_gateway(managed: Stack) -> None:
    assert rules(managed, "egress", "security-groups_tasks") == {
        (443, group(managed, "endpoint-sg")),
        (443, s3_prefix_list(managed)),
        (443, dynamodb_prefix_list(managed)),
        (4000, "10.0.0.0/16"),  # managed_api_url port, managed_api_cidrs
    }


def test_byop_tasks_reach_the_internet_on_https_only_through_nat(byop: Stack) -> None:
    assert rules(byop, "egress", "security-groups_tasks") == {
        (443, group(byop, "endpoint-sg")),
        (443, s3_prefix_list(byop)),
        (443, dynamodb_prefix_list(byop)),
        (443, "0.0.0.0/0"),
    }


def test_no_internet_egress_without_nat(managed: Stack) -> None:
    peers = {peer for _, peer in rules(managed, "egress", "security-groups_tasks")}
    assert "0.0.0.0/0" not in peers


def test_no_rule_allows_all_protocols_or_ingress_from_anywhere(managed: Stack, byop: Stack) -> None:
    for stack in (managed, byop):
        for kind in ("ingress", "egress"):
            for rule in stack.resources(f"aws_vpc_security_group_{kind}_rule").values():
                assert rule["ip_protocol"] == "tcp", rule
        ingress: list[Body] = list(stack.resources("aws_vpc_security_group_ingress_rule").values())
        assert all(r.get("cidr_ipv4") != "0.0.0.0/0" for r in ingress)


def test_groups_carry_no_inline_rules(managed: Stack) -> None:
    for body in managed.resources("aws_security_group").values():
        assert "ingress" not in body
        assert "egress" not in body
