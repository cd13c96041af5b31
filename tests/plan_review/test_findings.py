"""IAM policy findings beyond the real plans: which wildcards are broad and which are not.

Each case is one statement in a `resource_changes` entry shaped as `terraform show -json`
writes it (a create: every statement is new).
"""

from __future__ import annotations

import json

import pytest

from modules.plan_review import Flag, review_plan

ROOT = "arn:aws:iam::123456789012:root"


def findings_for(kind: str, statement: dict, attribute: str = "policy") -> list[tuple[Flag, str]]:
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    plan = {"resource_changes": [{
        "address": f"{kind}.this", "mode": "managed", "type": kind, "name": "this",
        "change": {"actions": ["create"], "before": None, "after": {attribute: document}},
    }]}
    return [(f.flag, f.detail) for f in review_plan("stack", plan).findings]


def test_actions_that_only_take_every_resource_are_not_wildcards() -> None:
    statement = {"Effect": "Allow", "Resource": "*",
                 "Action": ["aws-marketplace:MeterUsage", "aws-marketplace:RegisterUsage"]}
    assert findings_for("aws_iam_role_policy", statement) == []


def test_every_resource_under_a_condition_is_scoped() -> None:
    statement = {"Effect": "Allow", "Resource": "*", "Action": "elasticloadbalancing:DeleteRule",
                 "Condition": {"StringEquals": {"aws:ResourceTag/cluster": "hypernym"}}}
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
    plan = {"resource_changes": [{
        "address": "aws_iam_policy.this", "mode": "managed", "type": "aws_iam_policy",
        "name": "this", "change": {"actions": ["create"], "before": None, "after": {}},
    }]}
    assert review_plan("stack", plan).findings == ()
