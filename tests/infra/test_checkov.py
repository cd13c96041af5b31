"""checkov finds nothing to fix in any stack of any example deployment.

Skipped checks live in the one configuration file, .checkov.yaml, each with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from modules.cli.checkov import CHECKOV_CONFIG, run_checkov
from tests.infra.examples import EXAMPLES, providers, stack_dirs


@pytest.mark.parametrize("example", EXAMPLES)
def test_checkov_passes_every_stack(example: str, synth_example: Callable[[str], Path]) -> None:
    for stack in stack_dirs(synth_example(example)):
        results = run_checkov(stack / "cdk.tf.json", "terraform_json")
        if providers(stack) == {"aws"}:
            assert sum(r.passed for r in results) > 0, f"checkov checked nothing in {stack.name}"
        failures = [f for r in results for f in r.failures]
        assert failures == [], f"{stack.name}:\n" + "\n".join(failures)


def test_every_skipped_check_has_a_reason() -> None:
    """Each skip follows a comment, directly or within a group of skips sharing one reason."""
    lines = CHECKOV_CONFIG.read_text().splitlines()
    configuration = yaml.safe_load(CHECKOV_CONFIG.read_text())
    assert set(configuration) == {"skip-check"}
    for check in configuration["skip-check"]:
        index = lines.index(f"  - {check}")
        while lines[index - 1].strip().startswith("- "):
            index -= 1
        assert lines[index - 1].strip().startswith("# "), f"{check} has no reason above it"
