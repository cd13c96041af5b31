"""`hypernym-deploy plan-review`: the comment, the exit status, and one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from modules.cli.plan_review import COMMENT_MARKER, main

# One worker builds the package's plans (conftest.plan_files) for both files.
pytestmark = [pytest.mark.terraform, pytest.mark.slow, pytest.mark.xdist_group("plan-review")]


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan-review.toml"
    path.write_text(text)
    return path


def test_blocking_finding_exits_1_and_still_writes_the_comment(
    plan_files: dict[str, Path], tmp_path: Path
) -> None:
    output = tmp_path / "review.md"
    status = main([f"core={plan_files['risks']}", "--no-checkov", "--output", str(output)])
    assert status == 1
    comment = output.read_text()
    assert comment.startswith(COMMENT_MARKER)
    assert (
        "**Blocked:** 4 blocking finding(s) (iam-wildcard, made-public, world-ingress)" in comment
    )
    assert "| core | 2 | 2 | 0 | 0 |" in comment
    assert "| note | world-egress | `aws_vpc_security_group_egress_rule.anywhere_v6` |" in comment


def test_plan_without_findings_exits_0(
    plan_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(plan_files["update"]), "--no-checkov"]) == 0
    comment = capsys.readouterr().out
    assert "No blocking findings." in comment
    assert "| update | 0 | 1 | 0 | 0 |" in comment  # named by the file's stem


def test_every_stack_gets_a_row_and_a_section(
    plan_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main([f"core={plan_files['replace']}", f"logs={plan_files['delete']}", "--no-checkov"])
    comment = capsys.readouterr().out
    assert status == 1  # the deleted log group
    assert "| core | 0 | 0 | 2 | 0 |\n| logs | 0 | 0 | 0 | 1 |" in comment
    assert "- **replace** `aws_vpc.main`: forced by `cidr_block`" in comment
    assert "- **delete** `aws_cloudwatch_log_group.logs`: removed from the configuration" in comment


def test_flags_left_out_of_blocking_only_report(
    plan_files: dict[str, Path], tmp_path: Path
) -> None:
    config = write_config(tmp_path, '[plan_review]\nblocking = ["stateful-loss"]\n')
    assert main([str(plan_files["risks"]), "--no-checkov", "--config", str(config)]) == 0
    assert main([str(plan_files["delete"]), "--no-checkov", "--config", str(config)]) == 1


def test_accepted_finding_shows_its_reason_and_does_not_block(
    plan_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path,
        (
            "[plan_review.accepted.stateful-loss]\n"
            '"aws_cloudwatch_log_group.logs" = "the old logs were exported to S3"\n'
        ),
    )
    assert main([str(plan_files["delete"]), "--no-checkov", "--config", str(config)]) == 0
    assert "(accepted: the old logs were exported to S3)" in capsys.readouterr().out


def test_checkov_plan_results_are_in_the_comment(
    plan_files: dict[str, Path], tmp_path: Path
) -> None:
    # GIVEN only checkov's failures block
    config = write_config(tmp_path, '[plan_review]\nblocking = ["checkov-failed"]\n')
    output = tmp_path / "review.md"
    status = main([str(plan_files["update"]), "--config", str(config), "--output", str(output)])
    comment = output.read_text()
    summary = re.search(
        r"checkov \(terraform_plan\): (\d+) passed, (\d+) failed, (\d+) skipped", comment
    )
    assert summary, comment
    assert int(summary[1]) > 0
    failed = int(summary[2])
    assert status == (1 if failed else 0)
    assert comment.count("| checkov-failed |") == failed


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("plan-review: error: ")
    assert "Traceback" not in captured.err
    return lines[0]


def bad_plan(kind: str, plan_files: dict[str, Path], tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.json"
    real = json.loads(plan_files["update"].read_text())
    if kind == "binary":
        return plan_files["binary"]
    if kind == "state":  # `terraform show -json` without a plan file: the state document
        path.write_text(json.dumps(real["prior_state"]))
    elif kind == "format":
        path.write_text(json.dumps({**real, "format_version": "2.0"}))
    elif kind == "list":
        path.write_text("[]")
    elif kind == "missing":
        pass
    return path


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("binary", "not JSON; pass the output of `terraform show -json PLANFILE`"),
        ("state", "not a plan (no planned_values)"),
        ("format", "format_version 2.0 is not supported (expected 1.x"),
        ("list", "not a Terraform JSON document"),
        ("missing", "cannot read it (No such file or directory)"),
    ],
)
def test_bad_plan_is_one_line_error_exit_2_and_nothing_written(
    kind: str,
    says: str,
    plan_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "review.md"
    status = main(
        [
            str(plan_files["update"]),
            str(bad_plan(kind, plan_files, tmp_path)),
            "--no-checkov",
            "--output",
            str(output),
        ]
    )
    assert status == 2
    assert says in one_line_error(capsys)
    assert not output.exists()


def test_two_plans_for_one_stack_is_an_error(
    plan_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main([f"core={plan_files['update']}", f"core={plan_files['delete']}", "--no-checkov"]) == 2
    )
    assert "more than one plan for stack core: name each with STACK=PATH" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ('[plan_review]\nblocking = ["world-open"]\n', "unknown flag 'world-open'"),
        ("[plan_review]\nblock = []\n", "unknown key(s) in [plan_review]: block"),
        ('[plan_review.accepted.made-public]\n"aws_lb.alb" = ""\n', "to a non-empty reason"),
        ("[other]\n", "no [plan_review] table"),
        ("[plan_review\n", "not valid TOML"),
    ],
)
def test_bad_configuration_is_one_line_error_exit_2(
    config: str,
    says: str,
    plan_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_config(tmp_path, config)
    assert main([str(plan_files["update"]), "--no-checkov", "--config", str(path)]) == 2
    assert says in one_line_error(capsys)
