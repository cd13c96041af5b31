"""Fakes of external services (only the LLM provider is faked; everything else is real)."""
