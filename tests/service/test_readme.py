"""The README's environment tables are what service/settings.py declares."""

from __future__ import annotations

from pathlib import Path

from service.readme import UPDATE, environment_contract, replace_section, section

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_shows_the_declared_variables() -> None:
    documented = section(README.read_text())
    assert documented == environment_contract() + "\n", (
        "README.md's 'Environment contract' section differs from what service/settings.py "
        f"declares; regenerate it with: {UPDATE}"
    )


def test_replacing_the_section_keeps_the_rest_of_the_document() -> None:
    document = "# T\n\n## Environment contract\n\nold\n\n## Next\n\nkept\n"
    assert replace_section(document, "## Environment contract\n\nnew\n") == (
        "# T\n\n## Environment contract\n\nnew\n\n## Next\n\nkept\n"
    )
