"""Regression test: every example synthesizes to exactly the committed JSON in tests/golden/.

tests/golden/<example>/<stack>/cdk.tf.json is the output of `python main.py --config <example>`
(scripts/update-golden writes it). Nothing is normalised: synthesis is deterministic (two runs
give byte-identical files), and the helm chart's asset path carries a hash of the chart's
content, so a chart edit changes the apps stack on purpose. An intended change is accepted by
regenerating the golden files and reviewing `git diff tests/golden`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.infra.examples import EXAMPLES, stack_dirs
from tests.tooling import REPO_ROOT

GOLDEN = REPO_ROOT / "tests" / "golden"
MAX_DIFF_LINES = 200


def regenerate(example: str) -> str:
    return f"if the change is intended: scripts/update-golden {example} && git diff tests/golden"


def test_every_example_has_a_golden_copy() -> None:
    golden = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
    assert golden == EXAMPLES, (
        f"tests/golden holds {golden}, the examples are {EXAMPLES}; run scripts/update-golden"
    )


@pytest.mark.parametrize("example", EXAMPLES)
def test_synthesized_json_is_the_golden_copy(
    example: str, synth_example: Callable[[str], Path]
) -> None:
    synthesized = {d.name: d / "cdk.tf.json" for d in stack_dirs(synth_example(example))}
    golden = {d.name: d / "cdk.tf.json" for d in sorted((GOLDEN / example).iterdir())}
    assert sorted(synthesized) == sorted(golden), (
        f"{example}: stacks {sorted(synthesized)}, golden {sorted(golden)}; {regenerate(example)}"
    )
    differences: list[str] = []
    for stack, path in synthesized.items():
        want, got = golden[stack].read_text(), path.read_text()
        if want != got:
            differences += difflib.unified_diff(
                want.splitlines(keepends=True),
                got.splitlines(keepends=True),
                fromfile=f"tests/golden/{example}/{stack}/cdk.tf.json",
                tofile=f"synthesized {example}/{stack}/cdk.tf.json",
            )
    if differences:
        shown = "".join(differences[:MAX_DIFF_LINES])
        more = len(differences) - MAX_DIFF_LINES
        pytest.fail(
            f"{example} no longer synthesizes to its golden copy:\n{shown}"
            + (f"... {more} more diff lines\n" if more > 0 else "")
            + regenerate(example),
            pytrace=False,
        )
