"""The Hypernym analysis API: a stateless Litestar service on a pluggable LLM provider."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # ``__version__`` on first use: importlib.metadata costs ~0.1 s, which ``python -m service``
    # need not pay before it has checked the configuration.
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("hypernym-aws")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
