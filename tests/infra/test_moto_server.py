"""Where the suite's moto server (tests/harness/moto_server.py) departs from moto to answer as
AWS does."""

from __future__ import annotations

from tests.harness.moto import MotoServer


def test_deleting_a_target_group_that_is_gone_succeeds_as_on_aws(moto_server: MotoServer) -> None:
    moto_server.reset()
    vpc_id = moto_server.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    elbv2 = moto_server.client("elbv2")
    (group,) = elbv2.create_target_group(
        Name="deleted-twice", Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="ip"
    )["TargetGroups"]

    for _ in range(2):  # AWS's ELB API is idempotent: a repeated delete succeeds
        elbv2.delete_target_group(TargetGroupArn=group["TargetGroupArn"])

    assert elbv2.describe_target_groups()["TargetGroups"] == []
