"""Monthly cost of a deployment's resources, at its minimum and maximum scale.

Pure functions: the resources come from the synthesized stacks (:func:`synthesized_resources`)
or from a plan's before and after (:func:`plan_resources`, for the plan review's delta);
:func:`estimate` prices them with the dated table in prices.toml (:func:`load_prices`), one
line item per billed dimension; :func:`render_markdown` writes the table.

Scale: the minimum and maximum of the service's autoscaling (ECS scalable target, the chart's
HPA) and of the EKS node groups. What a month's traffic is per task or pod (GB through the
endpoints and NAT, load balancer capacity units, log volume) is an assumption of the price
file's `[usage]` table; the hourly lines need no assumption.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.contract import PROVIDER_ERROR_CLASSES

PRICES_FILE = Path(__file__).with_name("prices.toml")

SERVICE_METRICS = 3 + (1 + len(PROVIDER_ERROR_CLASSES)) + 3
"""Custom metrics the service's EMF lines can create (service/metrics.py): provider latency
(total, chat, embed), provider errors (total, each class), metering failures (total, two
operations)."""

FREE_TYPES = frozenset(
    {
        "aws_vpc",
        "aws_subnet",
        "aws_route",
        "aws_route_table",
        "aws_route_table_association",
        "aws_internet_gateway",
        "aws_default_security_group",
        "aws_security_group",
        "aws_vpc_security_group_ingress_rule",
        "aws_vpc_security_group_egress_rule",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_iam_openid_connect_provider",
        "aws_lb_listener",
        "aws_lb_target_group",
        "aws_ecs_cluster",
        "aws_appautoscaling_policy",
        "aws_eks_access_entry",
        "aws_eks_access_policy_association",
        "aws_eks_addon",
        "aws_launch_template",
        "aws_kms_alias",
        "aws_sns_topic",
        "aws_sns_topic_policy",
        "aws_sns_topic_subscription",
        "aws_cloudwatch_log_metric_filter",
        "aws_ecr_pull_through_cache_rule",
        "aws_eip",
        "helm_release",
    }
)
"""Resource types with no charge of their own (a NAT gateway's address is in its line; SNS
alarm notifications stay within the free tier; EKS add-ons run on the nodes; a pull-through
cache rule's cached images are ECR storage, not counted)."""

PRICED_TYPES = frozenset(
    {
        "aws_vpc_endpoint",
        "aws_nat_gateway",
        "aws_lb",
        "aws_ecs_service",
        "aws_ecs_task_definition",
        "aws_appautoscaling_target",
        "aws_eks_cluster",
        "aws_eks_node_group",
        "aws_cloudwatch_log_group",
        "aws_flow_log",
        "aws_kms_key",
        "aws_secretsmanager_secret",
        "aws_cloudwatch_metric_alarm",
        "aws_cloudwatch_dashboard",
    }
)

ASYNC_JOB_TYPES = frozenset(
    {
        "aws_dynamodb_table",
        "aws_sqs_queue",
        "aws_s3_bucket",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
    }
)
"""The asynchronous jobs' table, queues and results bucket: on-demand DynamoDB, SQS and S3 bill
per request and per GB stored, nothing at rest, so their line states that instead of a figure
(their KMS key and SQS endpoint are in those lines)."""

_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+")


class PriceTableError(Exception):
    """The price table has no prices for what is asked (a region, an instance type)."""


@dataclass(frozen=True, kw_only=True)
class Prices:
    region: str
    date: str
    sources: tuple[str, ...]
    hours: int
    rates: Mapping[str, Any]
    usage: Mapping[str, float]

    def rate(self, key: str, variant: str | None = None) -> float:
        value = self.rates[key]
        if variant is None:
            return float(value)
        if variant not in value:
            raise PriceTableError(
                f"{PRICES_FILE.name} has no {key} price for {variant} in {self.region}; "
                f"add it (priced: {', '.join(sorted(value))})"
            )
        return float(value[variant])


def load_prices(region: str, path: Path = PRICES_FILE) -> Prices:
    table = tomllib.loads(path.read_text())
    regions = table["regions"]
    if region not in regions:
        raise PriceTableError(
            f"{path.name} has no prices for region {region} (priced: "
            f"{', '.join(sorted(regions))}); add a [regions.{region}] table from the pages it cites"
        )
    return Prices(
        region=region,
        date=table["date"],
        sources=tuple(table["sources"]),
        hours=int(table["hours_per_month"]),
        rates=regions[region],
        usage=table["usage"],
    )


@dataclass(frozen=True)
class Resource:
    type: str
    values: Mapping[str, Any]
    data_source: bool = False


@dataclass(frozen=True)
class LineItem:
    item: str
    quantity: str
    minimum: float
    maximum: float


def synthesized_resources(documents: Iterable[Mapping[str, Any]]) -> list[Resource]:
    """Every resource and data source of the synthesized stacks (cdk.tf.json documents)."""
    found = []
    for document in documents:
        for kind, by_name in document.get("resource", {}).items():
            found += [Resource(kind, body) for body in by_name.values()]
        for kind, by_name in document.get("data", {}).items():
            found += [Resource(kind, body, data_source=True) for body in by_name.values()]
    return found


def plan_resources(plan: Mapping[str, Any]) -> tuple[list[Resource], list[Resource]]:
    """The resources before and after a `terraform show -json` plan."""
    expressions = _configured_expressions(plan)
    before: list[Resource] = []
    after: list[Resource] = []
    for change in plan.get("resource_changes", []):
        body = change.get("change", {})
        data_source = change.get("mode") == "data"
        if body.get("before") is not None:
            before.append(Resource(change["type"], body["before"], data_source))
        if body.get("after") is not None and "delete" not in body.get("actions", []):
            values = dict(body["after"])
            if change["type"] == "aws_vpc_endpoint" and not isinstance(
                values.get("subnet_ids"), list
            ):
                # Subnets made in the same apply are unknown: count the configured references.
                references = expressions.get(change["address"], {}).get("subnet_ids", {})
                values["subnet_ids"] = [
                    r for r in references.get("references", []) if r.endswith(".id")
                ]
            after.append(Resource(change["type"], values, data_source))
    return before, after


def plan_region(plan: Mapping[str, Any]) -> str | None:
    """The AWS provider's region in a plan, when it is a constant."""
    provider = plan.get("configuration", {}).get("provider_config", {}).get("aws", {})
    value = provider.get("expressions", {}).get("region", {}).get("constant_value")
    return value if isinstance(value, str) else None


def _configured_expressions(plan: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    module = plan.get("configuration", {}).get("root_module", {})
    return {r["address"]: r.get("expressions", {}) for r in module.get("resources", [])}


# --- the estimate ------------------------------------------------------------------------------


def _of(resources: Sequence[Resource], kind: str) -> list[Mapping[str, Any]]:
    return [r.values for r in resources if r.type == kind and not r.data_source]


def _workload_counts(resources: Sequence[Resource]) -> tuple[int, int]:
    """Tasks (ECS scalable targets) or pods (the HPA of a Helm release), min and max."""
    low = high = 0
    for target in _of(resources, "aws_appautoscaling_target"):
        if target.get("service_namespace") == "ecs":
            low += int(target["min_capacity"])
            high += int(target["max_capacity"])
    for release in _of(resources, "helm_release"):
        for values in release.get("values") or []:
            scaling = json.loads(values).get("autoscaling") if isinstance(values, str) else None
            if isinstance(scaling, dict) and "minReplicas" in scaling:
                low += int(scaling["minReplicas"])
                high += int(scaling["maxReplicas"])
    return low, high


def estimate(resources: Sequence[Resource], prices: Prices) -> list[LineItem]:
    """One line per billed dimension of `resources`, monthly, at minimum and maximum scale."""
    tasks = _workload_counts(resources)
    return [
        item
        for lines in (
            _network(resources, prices, tasks),
            _load_balancers(resources, prices, tasks),
            _compute(resources, prices, tasks),
            _logs(resources, prices, tasks),
            _security(resources, prices),
            _monitoring(resources, prices, tasks),
            _async_jobs(resources),
        )
        for item in lines
    ]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _scaled(per_task: float, tasks: tuple[int, int]) -> tuple[float, float]:
    return per_task * tasks[0], per_task * tasks[1]


def _per_gb(item: str, gb: tuple[float, float], rate: float) -> LineItem:
    """A line billed per GB, for the range of GB the task counts give."""
    return LineItem(item, f"{gb[0]:g}-{gb[1]:g} GB", gb[0] * rate, gb[1] * rate)


def _network(
    resources: Sequence[Resource], prices: Prices, tasks: tuple[int, int]
) -> Iterator[LineItem]:
    usage, hours = prices.usage, prices.hours
    interface = [
        e for e in _of(resources, "aws_vpc_endpoint") if e.get("vpc_endpoint_type") == "Interface"
    ]
    if interface:
        zones = sum(len(e.get("subnet_ids") or []) for e in interface)
        monthly = zones * hours * prices.rate("interface_endpoint_az_hour")
        yield LineItem(
            "Interface endpoints (per AZ-hour)",
            f"{_count(len(interface), 'endpoint')} in {_count(zones, 'endpoint-AZ')}",
            monthly,
            monthly,
        )
        gb = _scaled(usage["endpoint_gb_per_task"], tasks)
        yield _per_gb("Interface endpoints (data)", gb, prices.rate("interface_endpoint_gb"))
    nat = _of(resources, "aws_nat_gateway")
    if nat:
        monthly = len(nat) * hours * prices.rate("nat_gateway_hour")
        yield LineItem("NAT gateways (hours)", _count(len(nat), "gateway"), monthly, monthly)
        gb = _scaled(usage["nat_gb_per_task"], tasks)
        yield _per_gb("NAT gateways (data)", gb, prices.rate("nat_gateway_gb"))


def _load_balancers(
    resources: Sequence[Resource], prices: Prices, tasks: tuple[int, int]
) -> Iterator[LineItem]:
    managed = [
        lb
        for lb in _of(resources, "aws_lb")
        if lb.get("load_balancer_type", "application") == "application"
    ]
    # The EKS ALB is the controller's: the apps stack only reads it (by its tags).
    controller = [
        r
        for r in resources
        if r.type == "aws_lb"
        and r.data_source
        and "elbv2.k8s.aws/cluster" in (r.values.get("tags") or {})
    ]
    count = len(managed) + len(controller)
    if not count:
        return
    monthly = count * prices.hours * prices.rate("alb_hour")
    yield LineItem("Application Load Balancer (hours)", _count(count, "ALB"), monthly, monthly)
    lcu = _scaled(prices.usage["lcu_per_task"], tasks)
    rate = prices.hours * prices.rate("alb_lcu_hour")
    yield LineItem(
        "Application Load Balancer (LCU)",
        f"{lcu[0]:g}-{lcu[1]:g} LCU",
        lcu[0] * rate,
        lcu[1] * rate,
    )


def _compute(
    resources: Sequence[Resource], prices: Prices, tasks: tuple[int, int]
) -> Iterator[LineItem]:
    hours = prices.hours
    fargate = [s for s in _of(resources, "aws_ecs_service") if s.get("launch_type") == "FARGATE"]
    for task in _of(resources, "aws_ecs_task_definition") if fargate else []:
        architecture = (task.get("runtime_platform") or {}).get("cpu_architecture", "X86_64")
        vcpu, gb = int(task["cpu"]) / 1024, int(task["memory"]) / 1024
        per_vcpu = vcpu * hours * prices.rate("fargate_vcpu_hour", architecture)
        per_gb = gb * hours * prices.rate("fargate_gb_hour", architecture)
        count = f"{tasks[0]}-{tasks[1]} tasks"
        yield LineItem("Fargate vCPU", f"{count} x {vcpu:g} vCPU", *_scaled(per_vcpu, tasks))
        yield LineItem("Fargate memory", f"{count} x {gb:g} GB", *_scaled(per_gb, tasks))
    clusters = _of(resources, "aws_eks_cluster")
    if clusters:
        monthly = len(clusters) * hours * prices.rate("eks_cluster_hour")
        yield LineItem("EKS control plane", _count(len(clusters), "cluster"), monthly, monthly)
    volume_gb = _node_volume_gb(resources, prices)
    for group in _of(resources, "aws_eks_node_group"):
        scaling = group["scaling_config"]
        scaling = scaling[0] if isinstance(scaling, list) else scaling
        nodes = (int(scaling["min_size"]), int(scaling["max_size"]))
        (instance_type,) = group.get("instance_types") or ["t3.medium"]
        per_node = hours * prices.rate("ec2_hour", instance_type)
        yield LineItem(
            f"EKS nodes ({instance_type})",
            f"{nodes[0]}-{nodes[1]} nodes",
            *_scaled(per_node, nodes),
        )
        per_volume = volume_gb * prices.rate("ebs_gp3_gb_month")
        yield LineItem(
            "EKS node volumes (gp3)",
            f"{nodes[0]}-{nodes[1]} x {volume_gb:g} GB",
            *_scaled(per_volume, nodes),
        )


def _node_volume_gb(resources: Sequence[Resource], prices: Prices) -> float:
    """The nodes' root volume: the launch template's, else the node group default."""
    for template in _of(resources, "aws_launch_template"):
        for mapping in template.get("block_device_mappings") or []:
            ebs = mapping.get("ebs")
            # One block: an object in the synthesized JSON, a one-element list in a plan.
            for volume in ebs if isinstance(ebs, list) else [ebs]:
                if isinstance(volume, dict) and volume.get("volume_size"):
                    return float(volume["volume_size"])
    return float(prices.usage["node_volume_gb"])


def _logs(
    resources: Sequence[Resource], prices: Prices, tasks: tuple[int, int]
) -> Iterator[LineItem]:
    usage = prices.usage
    groups = _of(resources, "aws_cloudwatch_log_group")
    if not groups:
        return
    retention_days = max(int(g.get("retention_in_days") or 365) for g in groups)
    stored_months = retention_days / 30
    logged = [c for c in _of(resources, "aws_eks_cluster") if c.get("enabled_cluster_log_types")]
    fixed = len(logged) * usage["control_plane_log_gb"]
    ingest = _scaled(usage["log_gb_per_task"], tasks)
    ingest = (ingest[0] + fixed, ingest[1] + fixed)
    yield _per_gb("CloudWatch Logs ingestion", ingest, prices.rate("logs_ingest_gb"))
    storage = prices.rate("logs_storage_gb_month") * stored_months
    yield LineItem(
        "CloudWatch Logs storage",
        f"{retention_days} days kept",
        ingest[0] * storage,
        ingest[1] * storage,
    )
    flows = _of(resources, "aws_flow_log")
    if flows:
        gb = _scaled(len(flows) * usage["flow_log_gb_per_task"], tasks)
        rate = prices.rate("logs_vended_gb") + storage
        yield _per_gb("VPC Flow Logs (delivery and storage)", gb, rate)


def _security(resources: Sequence[Resource], prices: Prices) -> Iterator[LineItem]:
    keys = _of(resources, "aws_kms_key")
    if keys:
        monthly = len(keys) * prices.rate("kms_key_month")
        yield LineItem("KMS keys", _count(len(keys), "key"), monthly, monthly)
    secrets = {arn for r in resources for arn in _SECRET_ARN.findall(json.dumps(r.values))} | {
        s.get("name", "") for s in _of(resources, "aws_secretsmanager_secret")
    }
    if secrets:
        monthly = len(secrets) * prices.rate("secret_month")
        yield LineItem("Secrets Manager secrets", _count(len(secrets), "secret"), monthly, monthly)


def _monitoring(
    resources: Sequence[Resource], prices: Prices, tasks: tuple[int, int]
) -> Iterator[LineItem]:
    alarms = _of(resources, "aws_cloudwatch_metric_alarm")
    if alarms:
        metrics = sum(
            sum(1 for q in a.get("metric_query") or [] if q.get("metric")) or 1 for a in alarms
        )
        monthly = metrics * prices.rate("alarm_metric_month")
        yield LineItem(
            "CloudWatch alarms",
            f"{_count(len(alarms), 'alarm')} on {_count(metrics, 'metric')}",
            monthly,
            monthly,
        )
    dashboards = _of(resources, "aws_cloudwatch_dashboard")
    if dashboards:
        monthly = len(dashboards) * prices.rate("dashboard_month")
        yield LineItem(
            "CloudWatch dashboards", _count(len(dashboards), "dashboard"), monthly, monthly
        )
    if tasks[1]:
        monthly = SERVICE_METRICS * prices.rate("custom_metric_month")
        yield LineItem(
            "Service metrics (EMF, custom)", f"up to {SERVICE_METRICS} metrics", monthly, monthly
        )


def _async_jobs(resources: Sequence[Resource]) -> Iterator[LineItem]:
    if any(r.type in ASYNC_JOB_TYPES for r in resources if not r.data_source):
        yield LineItem(
            "Asynchronous jobs (DynamoDB on demand, SQS, S3)",
            "per request and GB stored: nothing at rest",
            0.0,
            0.0,
        )


def unpriced_types(resources: Sequence[Resource]) -> list[str]:
    """Managed resource types the estimate has no line for and that are not known to be free."""
    return sorted(
        {
            r.type
            for r in resources
            if not r.data_source and r.type not in FREE_TYPES | PRICED_TYPES | ASYNC_JOB_TYPES
        }
    )


def totals(items: Sequence[LineItem]) -> tuple[float, float]:
    return sum(i.minimum for i in items), sum(i.maximum for i in items)


def render_markdown(title: str, resources: Sequence[Resource], prices: Prices) -> str:
    items = estimate(resources, prices)
    low, high = totals(items)
    lines = [
        f"### {title}: monthly cost in {prices.region}",
        "",
        "| Line item | Quantity (minimum-maximum) | Minimum | Maximum |",
        "|---|---|---:|---:|",
        *(f"| {i.item} | {i.quantity} | ${i.minimum:,.2f} | ${i.maximum:,.2f} |" for i in items),
        f"| **Total** | | **${low:,.2f}** | **${high:,.2f}** |",
        "",
        f"On-demand list prices of {prices.date} ({PRICES_FILE.name}; sources: "
        f"{', '.join(prices.sources)}), {prices.hours} hours a month; traffic per task or pod "
        f"from its [usage] table. Not included: data transfer between zones and to the "
        "internet, Container Insights metrics, ECR image storage, the LLM provider.",
    ]
    if missing := unpriced_types(resources):
        lines += ["", f"Resources without a price line: {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


# --- the delta of a plan -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CostDelta:
    """Monthly totals (minimum, maximum scale) before and after a plan."""

    region: str
    date: str
    base: tuple[float, float]
    change: tuple[float, float]

    @property
    def delta(self) -> tuple[float, float]:
        return self.change[0] - self.base[0], self.change[1] - self.base[1]


def plan_cost(plan: Mapping[str, Any]) -> CostDelta | str:
    """The monthly cost before and after `plan`, or one line saying why there is none."""
    region = plan_region(plan)
    if region is None:
        return "no estimate: the plan's AWS provider has no constant region"
    try:
        prices = load_prices(region)
        before, after = plan_resources(plan)
        return CostDelta(
            region=region,
            date=prices.date,
            base=totals(estimate(before, prices)),
            change=totals(estimate(after, prices)),
        )
    except PriceTableError as error:
        return f"no estimate: {error}"
