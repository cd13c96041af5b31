"""The review of real terraform plans: counts, what forces replacements, and risk findings."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from modules.cli.plan_review import Action, Finding, Flag, StackReview, review_plan

# One worker builds the package's plans (conftest.plan_files) for both files.
pytestmark = [pytest.mark.terraform, pytest.mark.slow, pytest.mark.xdist_group("plan-review")]

PlanOf = Callable[[str], dict]


def counts(review: StackReview) -> dict[str, int]:
    return {action.value: review.count(action) for action in Action if review.count(action)}


def findings(review: StackReview, flag: Flag) -> list[Finding]:
    return [finding for finding in review.findings if finding.flag is flag]


def test_fresh_create_counts_every_resource_as_a_create(plan_of: PlanOf) -> None:
    review = review_plan("core", plan_of("fresh"))
    assert counts(review) == {"create": 5}
    # On a create every risk is new: v1's one wildcard action is reported.
    assert [(f.flag, f.address, f.detail) for f in review.findings] == [
        (
            Flag.IAM_WILDCARD,
            "aws_iam_role_policy.task",
            "allows wildcard action `ec2:Describe*` (Sid Describe)",
        ),
    ]


def test_in_place_update_is_one_update_without_findings(plan_of: PlanOf) -> None:
    review = review_plan("core", plan_of("update"))
    assert counts(review) == {"update": 1}
    assert [c.address for c in review.changes] == ["aws_cloudwatch_log_group.logs"]
    assert review.findings == ()


def test_forced_replacement_names_the_attribute_that_forces_it(plan_of: PlanOf) -> None:
    review = review_plan("core", plan_of("replace"))
    assert counts(review) == {"replace": 2}
    why = {change.address: change.why for change in review.changes}
    assert why == {
        "aws_vpc.main": "forced by `cidr_block`",
        "aws_security_group.app": "forced by `vpc_id`",
    }
    assert findings(review, Flag.STATEFUL_LOSS) == []  # a VPC holds no data


def test_deleting_a_log_group_is_a_stateful_loss(plan_of: PlanOf) -> None:
    review = review_plan("core", plan_of("delete"))
    assert counts(review) == {"delete": 1}
    assert review.changes[0].why == "removed from the configuration"
    [finding] = review.findings
    assert (finding.flag, finding.address) == (Flag.STATEFUL_LOSS, "aws_cloudwatch_log_group.logs")
    assert finding.detail.startswith("delete: its log events are lost")


def test_replacing_a_log_group_is_a_stateful_loss(plan_of: PlanOf) -> None:
    review = review_plan("core", plan_of("rename_log_group"))
    assert counts(review) == {"replace": 1}
    assert review.changes[0].why == "forced by `name`"
    assert [(f.flag, f.address) for f in review.findings] == [
        (Flag.STATEFUL_LOSS, "aws_cloudwatch_log_group.logs")
    ]


def test_risky_changes_are_counted(plan_of: PlanOf) -> None:
    review = review_plan("core", plan_of("risks"))
    assert counts(review) == {"create": 2, "update": 2}


def test_newly_opened_rules_are_flagged_by_direction(plan_of: PlanOf) -> None:
    review = review_plan("core", plan_of("risks"))
    opened = findings(review, Flag.WORLD_INGRESS) + findings(review, Flag.WORLD_EGRESS)
    assert [(f.flag, f.address, f.detail) for f in opened] == [
        (Flag.WORLD_INGRESS, "aws_security_group.app", "ingress tcp 443 from 0.0.0.0/0"),
        (
            Flag.WORLD_EGRESS,
            "aws_vpc_security_group_egress_rule.anywhere_v6",
            "egress tcp 443 to ::/0",
        ),
    ]


def test_new_wildcard_iam_statement_is_flagged_and_the_old_one_is_not(plan_of: PlanOf) -> None:
    review = review_plan("core", plan_of("risks"))
    assert [(f.address, f.detail) for f in findings(review, Flag.IAM_WILDCARD)] == [
        ("aws_iam_role_policy.task", "allows wildcard action `s3:*` (Sid Everything)"),
        ("aws_iam_role_policy.task", "allows `s3:*` on every resource (`*`) (Sid Everything)"),
    ]


def test_subnet_with_public_ips_is_made_public(plan_of: PlanOf) -> None:
    review = review_plan("core", plan_of("risks"))
    assert [(f.address, f.detail) for f in findings(review, Flag.MADE_PUBLIC)] == [
        ("aws_subnet.public", "subnet gives public IPs on launch")
    ]
