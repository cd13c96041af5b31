"""checkov finds nothing to fix in any stack of any example deployment.

Skipped checks live in the one configuration file, .checkov.yaml, each with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from modules.cli.checkov import CHECKOV_CONFIG, CheckovResult, scan_files
from tests.infra.examples import EXAMPLES, providers, stack_dirs


@pytest.fixture(scope="module")
def every_stack_scanned(synth_example: Callable[[str], Path]) -> dict[Path, CheckovResult]:
    """Every stack of every example, in one checkov process (its start-up is paid once)."""
    files = [
        stack / "cdk.tf.json" for name in EXAMPLES for stack in stack_dirs(synth_example(name))
    ]
    return scan_files(files, "terraform_json")


@pytest.mark.parametrize("example", EXAMPLES)
def test_checkov_passes_every_stack(
    example: str,
    synth_example: Callable[[str], Path],
    every_stack_scanned: dict[Path, CheckovResult],
) -> None:
    for stack in stack_dirs(synth_example(example)):
        result = every_stack_scanned[stack / "cdk.tf.json"]
        if providers(stack) == {"aws"}:
            assert result.passed > 0, f"checkov checked nothing in {stack.name}"
        assert result.failures == (), f"{stack.name}:\n" + "\n".join(result.failures)


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
