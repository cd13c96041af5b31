"""Plan review: a pull-request comment from `terraform show -json` plans, one per stack.

Pure functions turn each plan document into a :class:`StackReview` (counts, every replacement and
deletion with the attribute that forces it, risk findings); :func:`render_markdown` writes the
comment; :func:`main` is the thin command-line layer (`hypernym-deploy plan-review`), which also
scans each plan with checkov's `terraform_plan` framework.

Exit status: 0 when no blocking finding is present, 1 when one is (the Markdown is still
written), 2 for bad input (not a plan, an unsupported format version, a bad configuration).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fnmatch import fnmatchcase
from pathlib import Path
from types import MappingProxyType
from typing import Any

from modules.cli.checkov import CheckovResult, ToolMissingError, scan_files
from modules.cli.cost import CostDelta, plan_cost
from modules.config import PROJECT_ROOT

SUPPORTED_FORMAT_MAJOR = "1"  # `terraform show -json` format_version 1.x (Terraform >= 1.0)
DEFAULT_CONFIG = PROJECT_ROOT / "plan-review.toml"
# The workflow finds its previous comment by this marker and edits it instead of adding another.
COMMENT_MARKER = "<!-- hypernym-plan-review -->"
# GitHub rejects comments over 65,536 characters; long lists are cut well before that.
MAX_LISTED = 40
WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


class Flag(StrEnum):
    """Kinds of risk finding; the configuration names them to make them blocking or accepted."""

    WORLD_INGRESS = "world-ingress"
    WORLD_EGRESS = "world-egress"
    IAM_WILDCARD = "iam-wildcard"
    MADE_PUBLIC = "made-public"
    STATEFUL_LOSS = "stateful-loss"
    CHECKOV_FAILED = "checkov-failed"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    FORGET = "forget"  # removed from state by a `removed` block; the real resource stays


# Resources whose loss loses data or breaks what depends on them, and what goes with each.
STATEFUL_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "aws_cloudwatch_log_group": "its log events are lost",
        "aws_secretsmanager_secret": "the secret and its versions are scheduled for deletion",
        "aws_kms_key": "data encrypted under the key becomes unreadable once it is deleted",
        "aws_s3_bucket": "its objects (Terraform state, for a state bucket) are lost",
        "aws_dynamodb_table": "its items (Terraform state locks, for a lock table) are lost",
        "aws_ecr_repository": "its images are lost",
        "aws_eks_cluster": "every workload and Kubernetes object in the cluster is lost",
    }
)

# type -> (nested block or None, attribute, what it means when true)
PUBLIC_IP_SETTINGS: Mapping[str, tuple[str | None, str, str]] = MappingProxyType(
    {
        "aws_subnet": (None, "map_public_ip_on_launch", "subnet gives public IPs on launch"),
        "aws_instance": (None, "associate_public_ip_address", "instance gets a public IP"),
        "aws_db_instance": (None, "publicly_accessible", "database publicly accessible"),
        "aws_ecs_service": ("network_configuration", "assign_public_ip", "tasks get public IPs"),
        "aws_launch_template": (
            "network_interfaces",
            "associate_public_ip_address",
            "instances launched from it get public IPs",
        ),
    }
)
PUBLIC_ACCESS_BLOCK_SETTINGS = (
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
)

# Identity policies: a wildcard action, NotAction/NotResource or Resource "*" is a finding.
IDENTITY_POLICY_ATTRIBUTES: Mapping[str, str] = MappingProxyType(
    {
        "aws_iam_policy": "policy",
        "aws_iam_role_policy": "policy",
        "aws_iam_user_policy": "policy",
        "aws_iam_group_policy": "policy",
    }
)
# Resource policies: Resource "*" means "this resource" there, so only wildcard actions and
# anonymous principals are findings.
RESOURCE_POLICY_ATTRIBUTES: Mapping[str, str] = MappingProxyType(
    {
        "aws_iam_role": "assume_role_policy",
        "aws_kms_key": "policy",
        "aws_s3_bucket_policy": "policy",
        "aws_secretsmanager_secret_policy": "policy",
        "aws_ecr_repository_policy": "policy",
        "aws_sqs_queue_policy": "policy",
        "aws_sns_topic_policy": "policy",
    }
)
# Actions that accept no resource but "*" (AWS Service Authorization Reference): Resource "*"
# on them is the only way to grant them, not a wildcard anyone chose.
RESOURCE_STAR_ONLY_ACTIONS = (
    "aws-marketplace:MeterUsage",
    "aws-marketplace:RegisterUsage",
    "aws-marketplace:BatchMeterUsage",
    "ecr:GetAuthorizationToken",
    "sts:GetCallerIdentity",
    "ec2:Describe*",
    "elasticloadbalancing:Describe*",
    "autoscaling:Describe*",
)


class PlanReviewError(ValueError):
    """Input the review cannot use; the message is one line saying what and how to fix it."""


@dataclass(frozen=True, kw_only=True)
class ReviewPolicy:
    """What fails the review.

    blocking: flags that make the command exit 1. Default: every flag except world-egress
        (reported, not blocking: opt-in internet egress through NAT legitimately needs it).
    accepted: reviewed exceptions, flag -> resource address -> reason; an accepted finding is
        shown with its reason and never blocks. Default: none.
    """

    blocking: frozenset[Flag] = frozenset(Flag) - {Flag.WORLD_EGRESS}
    accepted: Mapping[Flag, Mapping[str, str]] = field(default_factory=dict)

    def acceptance(self, finding: Finding) -> str | None:
        return self.accepted.get(finding.flag, {}).get(finding.address)

    def blocks(self, finding: Finding) -> bool:
        return finding.flag in self.blocking and self.acceptance(finding) is None


@dataclass(frozen=True, kw_only=True)
class Finding:
    flag: Flag
    address: str
    detail: str


@dataclass(frozen=True, kw_only=True)
class Change:
    address: str
    action: Action
    why: str  # for replacements and deletions: what forces them


@dataclass(frozen=True, kw_only=True)
class StackReview:
    stack: str
    changes: tuple[Change, ...]
    findings: tuple[Finding, ...]
    checkov: CheckovResult | None = None
    cost: CostDelta | str | None = None
    """Monthly cost before and after the plan, or why there is no estimate."""

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action is action)

    def all_findings(self) -> tuple[Finding, ...]:
        """Plan findings plus one per failed checkov check."""
        if self.checkov is None:
            return self.findings
        return self.findings + tuple(_checkov_finding(line) for line in self.checkov.failures)


# --- reading input ---------------------------------------------------------------------------


def load_plan(path: Path) -> dict[str, Any]:
    """Read and check one `terraform show -json` plan document."""
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise PlanReviewError(f"{path}: cannot read it ({error.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PlanReviewError(
            f"{path}: not JSON; pass the output of `terraform show -json PLANFILE`, "
            "not the binary plan file"
        ) from None
    if not isinstance(document, dict) or "format_version" not in document:
        raise PlanReviewError(f"{path}: not a Terraform JSON document (no format_version)")
    version = str(document["format_version"])
    if version.split(".", maxsplit=1)[0] != SUPPORTED_FORMAT_MAJOR:
        raise PlanReviewError(
            f"{path}: format_version {version} is not supported (expected "
            f"{SUPPORTED_FORMAT_MAJOR}.x, as Terraform 1.x writes)"
        )
    if "planned_values" not in document:
        raise PlanReviewError(
            f"{path}: a Terraform document but not a plan (no planned_values); "
            "run `terraform plan -out=plan.bin` then `terraform show -json plan.bin`"
        )
    if document.get("errored"):
        raise PlanReviewError(f"{path}: the plan errored; fix `terraform plan` first")
    return document


def stack_name(argument: str) -> tuple[str, Path]:
    """`NAME=PATH`, or `PATH` named by its stem (by its directory for `<stack>/plan.json`)."""
    name, separator, location = argument.partition("=")
    if separator and name and location:
        return name, Path(location)
    path = Path(argument)
    return (path.parent.name if path.stem == "plan" else path.stem), path


def load_policy(path: Path) -> ReviewPolicy:
    """The `[plan_review]` table of a TOML file (other tables are ignored)."""
    try:
        table = tomllib.loads(path.read_text()).get("plan_review")
    except OSError as error:
        raise PlanReviewError(f"{path}: cannot read it ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise PlanReviewError(f"{path}: not valid TOML ({error})") from None
    if not isinstance(table, dict):
        raise PlanReviewError(f"{path}: no [plan_review] table")
    unknown = sorted(set(table) - {"blocking", "accepted"})
    if unknown:
        raise PlanReviewError(
            f"{path}: unknown key(s) in [plan_review]: {', '.join(unknown)} "
            "(known: blocking, accepted)"
        )
    blocking = table.get("blocking", sorted(ReviewPolicy().blocking))
    accepted = table.get("accepted", {})
    if not isinstance(blocking, list) or not isinstance(accepted, dict):
        raise PlanReviewError(
            f"{path}: [plan_review] blocking must be a list of flags and "
            "accepted a table of flag -> {address = reason}"
        )
    for name in [*blocking, *accepted]:
        if name not in Flag.__members__.values():
            raise PlanReviewError(
                f"{path}: unknown flag {name!r} in [plan_review] (known: {', '.join(Flag)})"
            )
    for flag, addresses in accepted.items():
        if not isinstance(addresses, dict) or not all(
            isinstance(reason, str) and reason.strip() for reason in addresses.values()
        ):
            raise PlanReviewError(
                f"{path}: [plan_review.accepted.{flag}] must map each "
                "resource address to a non-empty reason"
            )
    return ReviewPolicy(
        blocking=frozenset(Flag(name) for name in blocking),
        accepted={Flag(flag): dict(addresses) for flag, addresses in accepted.items()},
    )


# --- reviewing one plan ----------------------------------------------------------------------


def review_plan(
    stack: str, plan: Mapping[str, Any], checkov: CheckovResult | None = None
) -> StackReview:
    changes: list[Change] = []
    findings: list[Finding] = []
    for resource in plan.get("resource_changes", []):
        if resource.get("mode") != "managed":
            continue
        change = resource["change"]
        action = _action(change["actions"])
        if action is None:
            continue
        address = resource["address"]
        changes.append(Change(address=address, action=action, why=_why(resource, action)))
        before = change.get("before") or {}
        after = change.get("after") or {}
        if action in (Action.CREATE, Action.UPDATE, Action.REPLACE):
            findings += (
                Finding(flag=flag, address=address, detail=detail)
                for flag, detail in _new_risks(resource["type"], before, after)
            )
        if action in (Action.REPLACE, Action.DELETE) and resource["type"] in STATEFUL_TYPES:
            findings.append(
                Finding(
                    flag=Flag.STATEFUL_LOSS,
                    address=address,
                    detail=f"{action.value}: {STATEFUL_TYPES[resource['type']]}",
                )
            )
    return StackReview(
        stack=stack,
        changes=tuple(changes),
        findings=tuple(findings),
        checkov=checkov,
        cost=plan_cost(plan),
    )


def _action(actions: Sequence[str]) -> Action | None:
    if sorted(actions) == ["create", "delete"]:
        return Action.REPLACE
    if len(actions) == 1 and actions[0] in Action.__members__.values():
        return Action(actions[0])
    return None  # no-op, read


# Terraform's action_reason values, in words.
REASONS: Mapping[str, str] = MappingProxyType(
    {
        "replace_because_tainted": "the resource is tainted",
        "replace_by_request": "requested with -replace",
        "replace_by_triggers": "replace_triggered_by",
        "delete_because_no_resource_config": "removed from the configuration",
        "delete_because_no_module": "its module was removed",
        "delete_because_wrong_repetition": "count/for_each was added or removed",
        "delete_because_count_index": "its count index is out of range",
        "delete_because_each_key": "its for_each key is gone",
        "delete_because_no_move_target": "its moved target does not exist",
    }
)


def _why(resource: Mapping[str, Any], action: Action) -> str:
    paths = resource["change"].get("replace_paths") or []
    if action is Action.REPLACE and paths:
        return "forced by " + ", ".join(f"`{_path(p)}`" for p in paths)
    reason = str(resource.get("action_reason") or "")
    return REASONS.get(reason, reason) if action in (Action.REPLACE, Action.DELETE) else ""


def _path(steps: Sequence[str | int]) -> str:
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


def _new_risks(
    kind: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> Iterator[tuple[Flag, str]]:
    """Risks present after the change that were not present before it."""
    for check in RISK_CHECKS:
        old = set(check(kind, before)) if before else set()
        yield from (risk for risk in dict.fromkeys(check(kind, after)) if risk not in old)


def _world_rules(kind: str, values: Mapping[str, Any]) -> Iterator[tuple[Flag, str]]:
    rules: list[tuple[str, Mapping[str, Any]]] = []
    if kind == "aws_security_group":
        rules = [
            (direction, rule)
            for direction in ("ingress", "egress")
            for rule in values.get(direction) or []
        ]
    elif kind == "aws_security_group_rule":
        rules = [(values.get("type") or "", values)]
    elif kind in ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"):
        rules = [(kind.rsplit("_", 2)[-2], values)]
    for direction, rule in rules:
        cidrs = [
            *(rule.get("cidr_blocks") or []),
            *(rule.get("ipv6_cidr_blocks") or []),
            rule.get("cidr_ipv4"),
            rule.get("cidr_ipv6"),
        ]
        protocol = rule.get("protocol") or rule.get("ip_protocol")
        ports = _ports(rule.get("from_port"), rule.get("to_port"), protocol)
        for cidr in WORLD_CIDRS.intersection(cidrs):
            flag = Flag.WORLD_INGRESS if direction == "ingress" else Flag.WORLD_EGRESS
            preposition = "from" if direction == "ingress" else "to"
            yield flag, f"{direction} {ports} {preposition} {cidr}"


def _ports(low: int | None, high: int | None, protocol: str | None) -> str:
    if protocol in ("-1", "all") or low is None:
        return "all traffic"
    return f"{protocol} {low}" if low == high else f"{protocol} {low}-{high}"


def _public_exposure(kind: str, values: Mapping[str, Any]) -> Iterator[tuple[Flag, str]]:
    if kind in ("aws_lb", "aws_alb") and values.get("internal") is False:
        yield Flag.MADE_PUBLIC, "load balancer scheme internet-facing"
    if kind == "aws_eks_cluster":
        for vpc_config in values.get("vpc_config") or []:
            if vpc_config.get("endpoint_public_access"):
                cidrs = ", ".join(vpc_config.get("public_access_cidrs") or ["0.0.0.0/0"])
                yield Flag.MADE_PUBLIC, f"EKS API endpoint public (from {cidrs})"
    if kind == "aws_s3_bucket_public_access_block":
        for setting in PUBLIC_ACCESS_BLOCK_SETTINGS:
            if values.get(setting) is False:
                yield Flag.MADE_PUBLIC, f"bucket public access block off: {setting} = false"
    if kind in PUBLIC_IP_SETTINGS:
        block, attribute, meaning = PUBLIC_IP_SETTINGS[kind]
        for settings in (values.get(block) or []) if block else [values]:
            if str(settings.get(attribute)).lower() == "true":  # launch templates say "true"
                yield Flag.MADE_PUBLIC, meaning


def _policy_risks(kind: str, values: Mapping[str, Any]) -> Iterator[tuple[Flag, str]]:
    documents: list[tuple[Any, bool]] = []
    if kind in IDENTITY_POLICY_ATTRIBUTES:
        documents.append((values.get(IDENTITY_POLICY_ATTRIBUTES[kind]), True))
    if kind in RESOURCE_POLICY_ATTRIBUTES:
        documents.append((values.get(RESOURCE_POLICY_ATTRIBUTES[kind]), False))
    if kind == "aws_iam_role":
        documents += ((inline.get("policy"), True) for inline in values.get("inline_policy") or [])
    for document, identity in documents:
        for statement in _statements(document):
            yield from _statement_risks(statement, identity=identity)


def _statements(document: Any) -> list[Mapping[str, Any]]:
    """A policy's statements; [] when the value is unknown until apply or not a policy."""
    try:
        parsed = json.loads(document) if isinstance(document, str) else None
    except json.JSONDecodeError:
        return []
    statements = parsed.get("Statement", []) if isinstance(parsed, dict) else []
    statements = [statements] if isinstance(statements, dict) else statements
    return [s for s in statements if isinstance(s, dict) and s.get("Effect") == "Allow"]


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _statement_risks(statement: Mapping[str, Any], *, identity: bool) -> Iterator[tuple[Flag, str]]:
    actions = _as_list(statement.get("Action"))
    resources = _as_list(statement.get("Resource"))
    principal = statement.get("Principal")
    aws_principals = _as_list(principal.get("AWS")) if isinstance(principal, dict) else []
    conditioned = bool(statement.get("Condition"))
    label = f" (Sid {statement['Sid']})" if statement.get("Sid") else ""
    # Granting a resource to the account root only delegates to the account's IAM policies
    # (AWS's default key policy does exactly this); the identity policies are reviewed instead.
    delegated = bool(aws_principals) and all(p.endswith(":root") for p in aws_principals)
    if not delegated:
        for action in actions:
            if "*" in action:
                yield Flag.IAM_WILDCARD, f"allows wildcard action `{action}`{label}"
    for negated in ("NotAction", "NotResource"):
        if negated in statement:
            yield Flag.IAM_WILDCARD, f"allows with {negated} (everything not listed){label}"
    star_only = actions and all(
        any(fnmatchcase(action, pattern) for pattern in RESOURCE_STAR_ONLY_ACTIONS)
        for action in actions
    )
    # A condition (a tag, a service name) scopes Resource "*"; only unconditioned ones are broad.
    if identity and "*" in resources and not star_only and not conditioned:
        listed = ", ".join(f"`{action}`" for action in actions)
        yield Flag.IAM_WILDCARD, f"allows {listed} on every resource (`*`){label}"
    if (principal == "*" or "*" in aws_principals) and not conditioned:
        yield Flag.MADE_PUBLIC, f"policy allows any principal (`*`) without a condition{label}"


RISK_CHECKS: tuple[Callable[[str, Mapping[str, Any]], Iterable[tuple[Flag, str]]], ...] = (
    _world_rules,
    _public_exposure,
    _policy_risks,
)


def _checkov_finding(line: str) -> Finding:
    """One `CHECK_ID address (file)` line of :class:`CheckovResult` as a finding."""
    check_id, _, rest = line.partition(" ")
    address = rest.rpartition(" (")[0] or rest
    return Finding(flag=Flag.CHECKOV_FAILED, address=address, detail=f"checkov {check_id}")


# --- the comment -----------------------------------------------------------------------------


def blocking_findings(
    reviews: Iterable[StackReview], policy: ReviewPolicy
) -> list[tuple[str, Finding]]:
    return [
        (review.stack, finding)
        for review in reviews
        for finding in review.all_findings()
        if policy.blocks(finding)
    ]


def render_markdown(reviews: Sequence[StackReview], policy: ReviewPolicy) -> str:
    blocking = blocking_findings(reviews, policy)
    lines = [COMMENT_MARKER, "## Terraform plan review", ""]
    if blocking:
        kinds = ", ".join(sorted({finding.flag.value for _, finding in blocking}))
        lines.append(
            f"**Blocked:** {len(blocking)} blocking finding(s) ({kinds}). Change the "
            "plan, or accept each one with a reason in `[plan_review.accepted]`."
        )
    else:
        lines.append("No blocking findings.")
    lines += ["", "| stack | create | update | replace | delete |", "|---|---:|---:|---:|---:|"]
    for review in reviews:
        counts = " | ".join(
            str(review.count(action))
            for action in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)
        )
        lines.append(f"| {review.stack} | {counts} |")
    estimates = [r.cost for r in reviews if isinstance(r.cost, CostDelta)]
    if estimates:
        low = sum(e.delta[0] for e in estimates)
        high = sum(e.delta[1] for e in estimates)
        lines += [
            "",
            f"Monthly cost change: **{_money(low, signed=True)}** at minimum scale, "
            f"**{_money(high, signed=True)}** at maximum (on-demand list prices; per stack below).",
        ]
    for review in reviews:
        lines += ["", f"### {review.stack}"]
        lines += _stack_sections(review, policy)
    return "\n".join(lines) + "\n"


def _stack_sections(review: StackReview, policy: ReviewPolicy) -> list[str]:
    lines: list[str] = []
    destructive = [
        c for c in review.changes if c.action in (Action.REPLACE, Action.DELETE, Action.FORGET)
    ]
    if destructive:
        lines += ["", "Replacements and deletions:", ""]
        lines += _capped(
            [
                f"- **{c.action.value}** `{c.address}`" + (f": {c.why}" if c.why else "")
                for c in destructive
            ]
        )
    findings = review.all_findings()
    if findings:
        lines += ["", "| | flag | resource | finding |", "|---|---|---|---|"]
        rows = []
        for finding in findings:
            accepted = policy.acceptance(finding)
            mark = (
                "accepted" if accepted else ("**blocking**" if policy.blocks(finding) else "note")
            )
            detail = finding.detail + (f" (accepted: {accepted})" if accepted else "")
            rows.append(
                f"| {mark} | {finding.flag.value} | `{finding.address}` | {_cell(detail)} |"
            )
        lines += _capped(rows)
    if not review.changes:
        lines += ["", "No changes."]
    if isinstance(review.cost, CostDelta):
        cost = review.cost
        lines += [
            "",
            f"Monthly cost ({cost.region}, prices of {cost.date}): minimum "
            f"{_money(cost.base[0])} -> {_money(cost.change[0])} "
            f"({_money(cost.delta[0], signed=True)}), maximum {_money(cost.base[1])} -> "
            f"{_money(cost.change[1])} ({_money(cost.delta[1], signed=True)}).",
        ]
    elif review.cost is not None:
        lines += ["", f"Monthly cost: {review.cost}."]
    if review.checkov is None:
        lines += ["", "checkov (terraform_plan): not run."]
    else:
        result = review.checkov
        lines += [
            "",
            f"checkov (terraform_plan): {result.passed} passed, {result.failed} "
            f"failed, {result.skipped} skipped.",
        ]
    return lines


def _money(amount: float, *, signed: bool = False) -> str:
    sign = ("+" if amount >= 0 else "-") if signed else ("-" if amount < 0 else "")
    return f"{sign}${abs(amount):,.2f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_LISTED:
        return lines
    return [*lines[:MAX_LISTED], f"- … and {len(lines) - MAX_LISTED} more (see the plan)"]


# --- command line ----------------------------------------------------------------------------

DESCRIPTION = (
    "review terraform plans for a pull request: changes per stack, what forces "
    "each replacement, risk findings, checkov"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `plan-review` to the project's command line (modules/cli.py)."""
    parser = subparsers.add_parser("plan-review", help=DESCRIPTION, description=DESCRIPTION)
    _add_arguments(parser)
    parser.set_defaults(handler=run)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "plans",
        nargs="+",
        metavar="[STACK=]PLAN_JSON",
        help="`terraform show -json` output, one per stack; the stack is named "
        "by STACK= or else by the file name (its directory for plan.json)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"TOML file with a [plan_review] table (default: {DEFAULT_CONFIG.name} "
        "at the repository root if present, else built-in defaults)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="write the Markdown here instead of standard output",
    )
    parser.add_argument(
        "--no-checkov", action="store_true", help="skip checkov's terraform_plan scan of each plan"
    )


def run(args: argparse.Namespace) -> int:
    try:
        policy = _policy_for(args.config)
        named = [stack_name(argument) for argument in args.plans]
        names = [name for name, _ in named]
        if repeated := sorted({name for name in names if names.count(name) > 1}):
            raise PlanReviewError(
                f"more than one plan for stack {', '.join(repeated)}: name each with STACK=PATH"
            )
        plans = [(name, path, load_plan(path)) for name, path in named]
        scans: list[CheckovResult | None] = (
            list(_scan_all([path for _, path, _ in plans]))
            if not args.no_checkov
            else [None] * len(plans)
        )
    except (PlanReviewError, ToolMissingError) as error:
        print(f"plan-review: error: {error}", file=sys.stderr)
        return 2
    reviews = [
        review_plan(name, plan, scan) for (name, _, plan), scan in zip(plans, scans, strict=True)
    ]
    markdown = render_markdown(reviews, policy)
    if args.output is None:
        sys.stdout.write(markdown)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        partial = args.output.with_name(args.output.name + ".partial")
        partial.write_text(markdown)
        partial.replace(args.output)  # atomic: never a half-written comment
    return 1 if blocking_findings(reviews, policy) else 0


def _policy_for(config: Path | None) -> ReviewPolicy:
    if config is not None:
        return load_policy(config)
    return load_policy(DEFAULT_CONFIG) if DEFAULT_CONFIG.exists() else ReviewPolicy()


def _scan_all(paths: list[Path]) -> list[CheckovResult]:
    """Every plan in one checkov process."""
    try:
        results = scan_files(paths, "terraform_plan")
    except RuntimeError as error:  # checkov itself broke: its message, on one line
        raise PlanReviewError(" ".join(str(error).split())[:300]) from None
    return [results[path] for path in paths]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plan-review", description=DESCRIPTION)
    _add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
