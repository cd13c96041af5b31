"""Findings beyond the real plans: which IAM wildcards are broad, what counts as public.

Each case is one created resource in a `resource_changes` entry shaped as `terraform show
-json` writes it (a create: everything in it is new).
"""

from __future__ import annotations

import json

import pytest

from modules.cli.plan_review import Flag, review_plan

ROOT = "arn:aws:iam::123456789012:root"


def created(kind: str, after: dict) -> list[tuple[Flag, str]]:
    """Findings of a plan that creates one `kind` resource with these values."""
    change = {"actions": ["create"], "before": None, "after": after}
    resource = {"address": f"{kind}.this", "mode": "managed", "type": kind, "name": "this"}
    plan = {"resource_changes": [{**resource, "change": change}]}
    return [(f.flag, f.detail) for f in review_plan("stack", plan).findings]


def findings_for(kind: str, statement: dict, attribute: str = "policy") -> list[tuple[Flag, str]]:
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    return created(kind, {attribute: document})


def test_actions_that_only_take_every_resource_are_not_wildcards() -> None:
    statement = {
        "Effect": "Allow",
        "Resource": "*",
        "Action": ["aws-marketplace:MeterUsage", "aws-marketplace:RegisterUsage"],
    }
    assert findings_for("aws_iam_role_policy", statement) == []


def test_every_resource_under_a_condition_is_scoped() -> None:
    statement = {
        "Effect": "Allow",
        "Resource": "*",
        "Action": "elasticloadbalancing:DeleteRule",
        "Condition": {"StringEquals": {"aws:ResourceTag/cluster": "hypernym"}},
    }
    assert findings_for("aws_iam_policy", statement) == []


def test_not_action_is_a_wildcard() -> None:
    statement = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b/*"}
    assert findings_for("aws_iam_policy", statement) == [
        (Flag.IAM_WILDCARD, "allows with NotAction (everything not listed)"),
    ]


def test_deny_statements_are_never_findings() -> None:
    assert findings_for("aws_iam_policy", {"Effect": "Deny", "Action": "*", "Resource": "*"}) == []


def test_key_policy_delegating_to_the_account_is_not_a_wildcard() -> None:
    statement = {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}
    assert findings_for("aws_kms_key", statement) == []


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}])
def test_anonymous_principal_without_condition_is_public(principal: object) -> None:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    assert findings_for("aws_iam_role", statement, "assume_role_policy") == [
        (Flag.MADE_PUBLIC, "policy allows any principal (`*`) without a condition"),
    ]


def test_policy_unknown_until_apply_gives_no_finding() -> None:
    assert created("aws_iam_policy", {}) == []


@pytest.mark.parametrize(
    ("kind", "after", "detail"),
    [
        ("aws_lb", {"internal": False}, "load balancer scheme internet-facing"),
        (
            "aws_eks_cluster",
            {
                "vpc_config": [
                    {"endpoint_public_access": True, "public_access_cidrs": ["1.2.3.0/24"]}
                ]
            },
            "EKS API endpoint public (from 1.2.3.0/24)",
        ),
        (
            "aws_ecs_service",
            {"network_configuration": [{"assign_public_ip": True}]},
            "tasks get public IPs",
        ),
        (
            "aws_launch_template",
            {"network_interfaces": [{"associate_public_ip_address": "true"}]},
            "instances launched from it get public IPs",
        ),
        (
            "aws_s3_bucket_public_access_block",
            {"block_public_policy": False},
            "bucket public access block off: block_public_policy = false",
        ),
    ],
)
def test_public_exposure_is_made_public(kind: str, after: dict, detail: str) -> None:
    assert created(kind, after) == [(Flag.MADE_PUBLIC, detail)]


@pytest.mark.parametrize(
    ("kind", "after"),
    [
        ("aws_lb", {"internal": True}),
        ("aws_eks_cluster", {"vpc_config": [{"endpoint_public_access": False}]}),
        ("aws_ecs_service", {"network_configuration": [{"assign_public_ip": False}]}),
    ],
)
def test_private_settings_are_not_public(kind: str, after: dict) -> None:
    assert created(kind, after) == []
