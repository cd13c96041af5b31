"""The Hypernym analysis API: a stateless Litestar service on a pluggable LLM provider."""
