"""Where the suite's moto server (tests/harness/moto_server.py) departs from moto to answer as
AWS does."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import uuid

from tests.harness.moto import MOTO_REGION, MotoServer


def delete_target_group(moto: MotoServer, arn: str, invocation: str, attempt: int) -> bytes:
    """One attempt of an SDK's DeleteTargetGroup call: its headers as botocore and the Go SDK
    send them (moto reads the service and region from the credential scope)."""
    body = urllib.parse.urlencode(
        {"Action": "DeleteTargetGroup", "TargetGroupArn": arn, "Version": "2015-12-01"}
    ).encode()
    scope = f"test/20261204/{MOTO_REGION}/elasticloadbalancing/aws4_request"
    signature = f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"
    request = urllib.request.Request(
        f"{moto.endpoint}/",
        data=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": signature,
            "amz-sdk-invocation-id": invocation,
            "amz-sdk-request": f"attempt={attempt}; max=3",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.read()
    except urllib.error.HTTPError as error:
        return error.read()


def test_a_retried_call_gets_the_answer_moto_gave_and_is_not_made_twice(
    moto_server: MotoServer,
) -> None:
    moto_server.reset()
    vpc_id = moto_server.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    (group,) = moto_server.client("elbv2").create_target_group(
        Name="deleted-once", Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="ip"
    )["TargetGroups"]
    arn, call = group["TargetGroupArn"], str(uuid.uuid4())

    first = delete_target_group(moto_server, arn, call, attempt=1)
    retried = delete_target_group(moto_server, arn, call, attempt=2)  # its answer was "lost"
    another_call = delete_target_group(moto_server, arn, str(uuid.uuid4()), attempt=1)

    assert b"<DeleteTargetGroupResult/>" in first
    assert retried == first
    assert b"TargetGroupNotFound" in another_call  # moto's answer when a call is made twice
