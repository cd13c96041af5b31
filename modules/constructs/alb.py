"""The internal Application Load Balancer in front of the service.

Internal scheme in the private subnets, invalid header fields dropped, deletion protection on,
idle timeout sized for LLM calls. HTTP on 80 by default; with a certificate, HTTPS on 443 with a
TLS 1.2+ policy and port 80 answering only with a redirect to HTTPS. Targets are task IPs.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.lb import Lb, LbAccessLogs
from cdktf_cdktf_provider_aws.lb_listener import (
    LbListener,
    LbListenerDefaultAction,
    LbListenerDefaultActionRedirect,
)
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from constructs import Construct

from modules.config.model import ListenerProtocol
from modules.constructs.tags import name_tag

HTTP_PORT = 80
HTTPS_PORT = 443


def listener_ports(protocol: ListenerProtocol) -> tuple[int, ...]:
    """Ports clients connect to: 80, or 443 plus 80 for the redirect."""
    return (HTTP_PORT,) if protocol == "http" else (HTTPS_PORT, HTTP_PORT)


@dataclass(frozen=True, kw_only=True)
class LoadBalancerProps:
    name: str
    """Load balancer name (32 characters at most)."""
    target_group_name: str
    vpc_id: str
    subnet_ids: list[str]
    security_group_id: str
    target_port: int
    health_check_path: str
    protocol: ListenerProtocol
    certificate_arn: str | None
    """Required for "https"."""
    ssl_policy: str
    idle_timeout_seconds: int
    """AWS's default of 60 s cuts off long LLM calls."""
    deregistration_delay_seconds: int
    """In-flight requests a deregistering target may still finish."""
    deletion_protection: bool
    access_logs_bucket: str | None
    """None: no access logs."""
    health_check_interval_seconds: int = 30
    health_check_timeout_seconds: int = 5
    healthy_threshold: int = 2
    unhealthy_threshold: int = 3


class InternalLoadBalancer(Construct):
    """ALB, IP target group and listener(s); exposes `load_balancer`, `target_group`, `listener`."""

    def __init__(self, scope: Construct, id: str, *, props: LoadBalancerProps) -> None:
        super().__init__(scope, id)
        if props.protocol == "https" and props.certificate_arn is None:
            raise ValueError("an HTTPS listener needs certificate_arn")
        self.load_balancer = Lb(
            self,
            "alb",
            name=props.name,
            internal=True,
            load_balancer_type="application",
            subnets=props.subnet_ids,
            security_groups=[props.security_group_id],
            drop_invalid_header_fields=True,
            idle_timeout=props.idle_timeout_seconds,
            enable_deletion_protection=props.deletion_protection,
            access_logs=None
            if props.access_logs_bucket is None
            else LbAccessLogs(bucket=props.access_logs_bucket, prefix=props.name, enabled=True),
            tags=name_tag(props.name),
        )
        self.target_group = LbTargetGroup(
            self,
            "targets",
            name=props.target_group_name,
            vpc_id=props.vpc_id,
            target_type="ip",
            protocol="HTTP",
            port=props.target_port,
            deregistration_delay=str(props.deregistration_delay_seconds),
            health_check=LbTargetGroupHealthCheck(
                enabled=True,
                protocol="HTTP",
                path=props.health_check_path,
                matcher="200",
                interval=props.health_check_interval_seconds,
                timeout=props.health_check_timeout_seconds,
                healthy_threshold=props.healthy_threshold,
                unhealthy_threshold=props.unhealthy_threshold,
            ),
            tags=name_tag(props.target_group_name),
        )
        forward = [LbListenerDefaultAction(type="forward", target_group_arn=self.target_group.arn)]
        if props.protocol == "http":
            self.listener = LbListener(
                self,
                "http",
                load_balancer_arn=self.load_balancer.arn,
                port=HTTP_PORT,
                protocol="HTTP",
                default_action=forward,
                tags=name_tag(f"{props.name}-http"),
            )
            self.redirect_listener: LbListener | None = None
        else:
            self.listener = LbListener(
                self,
                "https",
                load_balancer_arn=self.load_balancer.arn,
                port=HTTPS_PORT,
                protocol="HTTPS",
                certificate_arn=props.certificate_arn,
                ssl_policy=props.ssl_policy,
                default_action=forward,
                tags=name_tag(f"{props.name}-https"),
            )
            self.redirect_listener = LbListener(
                self,
                "http-redirect",
                load_balancer_arn=self.load_balancer.arn,
                port=HTTP_PORT,
                protocol="HTTP",
                tags=name_tag(f"{props.name}-http-redirect"),
                default_action=[
                    LbListenerDefaultAction(
                        type="redirect",
                        redirect=LbListenerDefaultActionRedirect(
                            protocol="HTTPS", port=str(HTTPS_PORT), status_code="HTTP_301"
                        ),
                    )
                ],
            )
        scheme = "http" if props.protocol == "http" else "https"
        self.url = f"{scheme}://{self.load_balancer.dns_name}"
