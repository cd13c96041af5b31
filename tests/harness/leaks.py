"""What no service log may ever contain, and the logs to check: the session-level leak check.

Every service the suite runs (tests/service/runner.py) registers its log file and the secret
values of its environment; tests register other secrets they hand the service (a BYOP secret
in moto). At the end of the session every registered log is searched for every value, and for
the captured essays and model outputs the fake provider serves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from tests.fakes import captures

SECRET_ENV_SUFFIXES = ("_API_KEY", "_KEY", "_SECRET", "_TOKEN", "_PASSWORD")
"""Variables whose value is a secret (MANAGED_API_KEY, UPSTREAM_API_KEY, ...)."""

_sensitive: set[str] = set()
_logs: list[Path] = []


MIN_LENGTH = 8
"""Shorter values ("test" credentials for moto) are not secrets and would match ordinary words."""


def sensitive(*values: str) -> None:
    """Register values that must never appear in a log."""
    _sensitive.update(v for v in values if len(v) >= MIN_LENGTH)


def watch_log(path: Path) -> None:
    _logs.append(path)


def secrets_in(env: Mapping[str, str]) -> list[str]:
    """The secret values of a service environment, including every key of API_KEYS."""
    found = [value for name, value in env.items() if name.endswith(SECRET_ENV_SUFFIXES)]
    try:
        keys = json.loads(env.get("API_KEYS", "{}"))
    except ValueError:
        keys = {}
    if isinstance(keys, dict):
        found.extend(str(key) for key in keys)
    return found


def texts_never_logged() -> Iterable[str]:
    """Essay and model-output text the suite sends or serves: a distinctive line of each."""
    for text in (captures.ESSAY_TEXT, captures.RECONSTRUCTION_5, captures.RECONSTRUCTION_9):
        yield text.strip()[:60]


def leaks() -> list[str]:
    """Every registered log searched for every registered value and captured text."""
    return find_leaks(_logs, [*sorted(_sensitive), *texts_never_logged()])


def find_leaks(logs: Iterable[Path], needles: Iterable[str]) -> list[str]:
    """One line per (log, leaked value); the value itself is shown only by its first characters."""
    found = []
    for path in logs:
        if not path.exists():
            continue
        text = path.read_text(errors="replace")
        found.extend(f"{path}: {needle[:6]}..." for needle in needles if needle in text)
    return found
