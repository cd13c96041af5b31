"""The Hypernym analysis API: a stateless Litestar service on a pluggable LLM provider."""

from importlib.metadata import version

__version__ = version("hypernym-aws")
