"""Small Terraform JSON configurations whose real plans (against moto) the review tests read.

`configuration()` with no arguments is v1: a VPC, a security group allowing 443 from the VPC,
an IAM role whose inline policy is narrow but for one wildcard action (`ec2:Describe*`, already
there before any change), and a log group. Each keyword makes one change from v1.
"""

from __future__ import annotations

import json
from typing import Any

VPC_CIDR = "10.0.0.0/16"
NARROW_STATEMENT = {
    "Effect": "Allow",
    "Action": "logs:PutLogEvents",
    "Resource": "arn:aws:logs:eu-west-1:123456789012:log-group:/review/app:*",
}
DESCRIBE_STATEMENT = {
    "Sid": "Describe",
    "Effect": "Allow",
    "Action": "ec2:Describe*",
    "Resource": "*",
}
WILDCARD_STATEMENT = {"Sid": "Everything", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}


def _ingress(cidr: str) -> dict[str, Any]:
    return {
        "from_port": 443,
        "to_port": 443,
        "protocol": "tcp",
        "cidr_blocks": [cidr],
        "ipv6_cidr_blocks": [],
        "prefix_list_ids": [],
        "security_groups": [],
        "self": False,
        "description": "https",
    }


def configuration(
    *,
    vpc_cidr: str = VPC_CIDR,
    retention_days: int = 30,
    log_group_name: str | None = "/review/app",
    open_ingress: bool = False,
    open_ipv6_egress: bool = False,
    wildcard_policy: bool = False,
    public_subnet: bool = False,
) -> str:
    ingress = [_ingress(VPC_CIDR)] + ([_ingress("0.0.0.0/0")] if open_ingress else [])
    statements = [NARROW_STATEMENT, DESCRIBE_STATEMENT] + (
        [WILDCARD_STATEMENT] if wildcard_policy else []
    )
    resources: dict[str, Any] = {
        "aws_vpc": {"main": {"cidr_block": vpc_cidr}},
        "aws_security_group": {
            "app": {
                "name": "review-app",
                "description": "review app",
                "vpc_id": "${aws_vpc.main.id}",
                "ingress": ingress,
            }
        },
        "aws_iam_role": {
            "task": {
                "name": "review-task",
                "assume_role_policy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "sts:AssumeRole",
                                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                            }
                        ],
                    }
                ),
            }
        },
        "aws_iam_role_policy": {
            "task": {
                "name": "review-task",
                "role": "${aws_iam_role.task.id}",
                "policy": json.dumps({"Version": "2012-10-17", "Statement": statements}),
            }
        },
    }
    if log_group_name is not None:
        resources["aws_cloudwatch_log_group"] = {
            "logs": {
                "name": log_group_name,
                "retention_in_days": retention_days,
            }
        }
    if open_ipv6_egress:
        resources["aws_vpc_security_group_egress_rule"] = {
            "anywhere_v6": {
                "security_group_id": "${aws_security_group.app.id}",
                "ip_protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
                "cidr_ipv6": "::/0",
            }
        }
    if public_subnet:
        resources["aws_subnet"] = {
            "public": {
                "vpc_id": "${aws_vpc.main.id}",
                "cidr_block": "10.0.9.0/24",
                "map_public_ip_on_launch": True,
            }
        }
    return json.dumps(
        {
            "terraform": {
                "required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}
            },
            "provider": {"aws": [{"region": "eu-west-1"}]},
            "resource": resources,
        },
        indent=2,
    )
