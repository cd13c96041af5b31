"""What can go wrong talking to a provider; the API maps each class to one HTTP status."""

from __future__ import annotations


class ProviderError(Exception):
    """A provider call failed; ``str(error)`` is a one-line detail safe to show a client."""

    retry_after_seconds: float | None = None
    provider_host: str | None = None
    """The host that failed: for the log, never in the client's detail."""


class ProviderTimeoutError(ProviderError):
    """The provider did not answer within the read timeout."""


class ProviderUnreachableError(ProviderError):
    """No connection to the provider (refused, reset, DNS), after the retries."""


class ProviderRateLimitedError(ProviderError):
    """The provider kept answering 429."""

    def __init__(self, message: str, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ProviderFailedError(ProviderError):
    """The provider answered with an error status or a body that is not its API's shape."""


class ProviderAuthError(ProviderFailedError):
    """The provider refused the service's credentials (401/403): rotate or fix the key."""


class EndpointNotFoundError(ProviderFailedError):
    """The provider has no such endpoint (404/405/501)."""


class EmbeddingsUnsupportedError(ProviderError):
    """The configured provider cannot embed, so similarities cannot be computed honestly."""


class ContentRefusedError(ProviderError):
    """The provider's moderation blocked the text (Hypernym answers these with 408)."""


class ModelOutputError(ProviderError):
    """The model's output was not the requested JSON, even after one repair attempt."""
