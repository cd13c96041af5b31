"""The README's "Environment contract" section, rendered from the settings declarations.

``python -m service.readme`` prints the section; ``python -m service.readme --update README.md``
rewrites it in place. ``tests/service/test_environment_contract.py`` fails when the README
differs from what the declarations in :mod:`service.settings` render.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from service.contract import (
    HEALTH_PATH,
    HEALTHCHECK_COMMAND,
    PROVIDER_MODES,
    READY_PATH,
    AsyncJobsEnvironment,
    ContainerEnvironment,
    container_environment,
)
from service.environment import Variable, markdown_table, variables
from service.providers.credentials import ByopCredentials, byop_variable_names
from service.settings import GROUPS, ProviderSettings

HEADING = "## Environment contract\n"
UPDATE = ".venv/bin/python -m service.readme --update README.md"


def _written_by_infrastructure() -> set[str]:
    """Every variable :func:`container_environment` can write: all its inputs set, both modes."""
    names: set[str] = set()
    arn = "arn:aws:secretsmanager:r:1:secret:s"
    for mode in PROVIDER_MODES:
        everything = ContainerEnvironment(
            environment="e",
            region="r",
            provider_mode=mode,
            managed_api_url="u",
            managed_model="m",
            managed_api_key_secret_arn=arn,
            byop_secret_arn=arn,
            api_keys_secret_arn=arn,
            marketplace_product_code="p",
            metering_unit="requests",
            metering_dimension="d",
            marketplace_public_key_version=1,
            secret_refresh_seconds=1,
            max_in_flight=1,
            drain_timeout_seconds=1,
            keep_alive_seconds=1,
            embedding_model="m",
            embedding_dimensions=1,
            max_input_chars=1,
            open_access_tier="basic",
            jobs=AsyncJobsEnvironment(
                table="t",
                queue_url="q",
                dead_letter_queue_url="d",
                bucket="b",
                worker_concurrency=1,
                visibility_timeout_seconds=1,
                job_ttl_seconds=1,
                result_cache_ttl_seconds=1,
            ),
        )
        names.update(container_environment(everything))
    return names


def environment_contract() -> str:
    """The README's "## Environment contract" section, rendered from the declarations."""
    infrastructure = _written_by_infrastructure()
    every: list[Variable] = [v for _, group in GROUPS for v in variables(group)]
    undeclared = sorted(infrastructure - {v.name for v in every})
    if undeclared:  # the contract writes a variable nothing here reads
        raise RuntimeError(f"not declared in service/settings.py: {', '.join(undeclared)}")
    healthcheck = " ".join(HEALTHCHECK_COMMAND)
    parts = [
        f"{HEADING}\n"
        "<!-- Rendered from service/settings.py: edit the declarations there, then run\n"
        f"     {UPDATE} -->\n\n"
        "The container's environment is built in one place, `service/contract.py`\n"
        "(`container_environment`), for the ECS task definition and the Helm values alike, from\n"
        "the deployment configuration (`modules/stacks/base.py`). The service reads the variables\n"
        "below, each declared once in `service/settings.py` (name, type, default, meaning).\n"
        "**infra** marks those the infrastructure writes; the others keep their defaults unless a\n"
        "deployment adds them. A configuration problem stops `python -m service` before it\n"
        "listens: one line per problem on stderr (`configuration error: PORT='http' is not an\n"
        "integer`), exit code 2.\n"
    ]
    for heading, group in GROUPS:
        parts.append(f"### {heading}\n\n{markdown_table(variables(group), marked=infrastructure)}")
        if group is ProviderSettings:
            parts.append(
                "### BYOP without a secret\n\n"
                "`INFERENCE_PROVIDER_MODE=byop` without `BYOP_SECRET_ARN` reads the provider from\n"
                "these variables (the same fields as the secret's JSON):\n\n"
                + markdown_table(variables(ByopCredentials, byop_variable_names))
            )
    parts.append(
        f"The container health check is `{healthcheck}` in exec form (no shell, no curl); the\n"
        f"load balancer and the readiness probe check `{READY_PATH}` (readiness, never a provider\n"
        f"call), the liveness probe `{HEALTH_PATH}`.\n"
    )
    return "\n".join(parts)


def _bounds(document: str) -> tuple[int, int]:
    start = document.index(HEADING)
    end = document.find("\n## ", start + 1)
    return start, len(document) if end == -1 else end + 1


def section(document: str) -> str:
    """``document``'s ``## Environment contract`` section, up to the next ``## `` heading."""
    start, end = _bounds(document)
    return document[start:end]


def replace_section(document: str, new_section: str) -> str:
    """``document`` with its ``## Environment contract`` section replaced by ``new_section``
    (which the blank line before the next heading follows)."""
    start, end = _bounds(document)
    return document[:start] + new_section + "\n" + document[end:]


def main(arguments: Sequence[str]) -> int:
    """No arguments: print the section; ``--update PATH``: rewrite it in that file."""
    if not arguments:
        sys.stdout.write(environment_contract())
        return 0
    if len(arguments) == 2 and arguments[0] == "--update":
        path = Path(arguments[1])
        path.write_text(replace_section(path.read_text(), environment_contract()))
        return 0
    print("usage: python -m service.readme [--update README.md]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
