"""Secrets (the BYOP credentials, the managed gateway token, the client API keys): read by ARN
at start, cached, refreshed in the background.

Secrets Manager is read with boto3 (blocking) in a worker thread, never on the event loop and
never on the request path. A rotated key takes effect within one refresh period without a
restart. A refresh that fails (unreadable, or malformed) keeps the last good value in use and logs
one line naming the secret and the reason, never the value; with no good value yet the source is
not ready, and it retries sooner than the refresh period until a good value arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service.environment import variables
from service.logs import redact
from service.providers.credentials import ByopCredentials, ProviderCredentials
from service.providers.errors import ProviderUnreachableError

logger = logging.getLogger(__name__)

Credentials = TypeVar("Credentials")

DEFAULT_REFRESH_SECONDS = 300.0
"""Five minutes: a rotation is live within that, at a cost of 12 GetSecretValue calls an hour."""

RETRY_WITHOUT_VALUE_SECONDS = 10.0
"""While there never was a good value, retry this often so the pod becomes ready soon."""

FORCED_REFRESH_MIN_INTERVAL_SECONDS = 30.0
"""A provider 401/403 may force a refresh, at most this often (a bad key must not hammer AWS)."""


class SecretUnavailableError(ProviderUnreachableError):
    """No good value of the secret has been loaded yet (503: the pod is not ready anyway)."""


class SecretsManagerReader:
    """Reads one secret's current value (``AWSCURRENT``) with a short-timeout boto3 client.

    The endpoint, region and credentials come from boto3's standard chain (task role, IRSA,
    ``AWS_ENDPOINT_URL`` in tests). The client is created on first use, in the worker thread.
    """

    def __init__(self, *, secret_arn: str, region: str | None) -> None:
        self.secret_arn = secret_arn
        # An ARN names its region; AWS_REGION is the fallback for a plain secret name.
        arn_parts = secret_arn.split(":")
        self._region = (
            arn_parts[3] if secret_arn.startswith("arn:") and len(arn_parts) > 3 else region
        )
        self._client: Any = None

    def __call__(self) -> str:
        if self._client is None:
            import boto3  # noqa: PLC0415 - boto3 costs its import only where a secret is read

            self._client = boto3.client(
                "secretsmanager",
                region_name=self._region,
                config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2}),
            )
        try:
            response = self._client.get_secret_value(SecretId=self.secret_arn)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "ClientError")
            raise OSError(
                f"GetSecretValue failed with {code}: check the ARN, and that the task role "
                "may call secretsmanager:GetSecretValue (and kms:Decrypt for its key)"
            ) from None
        except BotoCoreError as error:
            raise OSError(f"Secrets Manager unreachable: {type(error).__name__}") from None
        if "SecretString" not in response:
            raise ValueError("the secret holds binary data; store the JSON as a secret string")
        return str(response["SecretString"])


class RefreshingSecret(Generic[Credentials]):
    """The last good parsed value of a secret, kept fresh by a background task.

    ``read`` returns the raw secret string (blocking; run in a thread); ``parse`` turns it into
    credentials or raises ``ValueError`` with a message that names fields, never values;
    ``redaction`` registers the secret's values so that no log line shows them.
    """

    def __init__(
        self,
        *,
        name: str,
        read: Callable[[], str],
        parse: Callable[[str], Credentials],
        refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
        redaction: Callable[[str], None] = redact,
    ) -> None:
        self.name = name
        self._redaction = redaction
        self.refresh_seconds = refresh_seconds
        self._read = read
        self._parse = parse
        self._on_loaded: Callable[[], None] = lambda: None
        self._value: Credentials | None = None
        self._raw: str | None = None
        self._problem: str | None = "not loaded yet"
        self._task: asyncio.Task[None] | None = None
        self._last_forced = -FORCED_REFRESH_MIN_INTERVAL_SECONDS

    @property
    def readiness_condition(self) -> str:
        """The readiness condition this secret owns: met once a good value is in use."""
        return f"{self.name} loaded"

    def current(self) -> Credentials:
        """The credentials to use now; :class:`SecretUnavailableError` before the first load."""
        if self._value is None:  # the reason is in the log, not for the client
            raise SecretUnavailableError(
                f"the provider credentials ({self.name}) are not loaded yet"
            )
        return self._value

    @property
    def problem(self) -> str | None:
        """Why there is no good value (None once one was loaded): the readiness reason."""
        return None if self._value is not None else self._problem

    def start(self, *, on_loaded: Callable[[], None] = lambda: None) -> None:
        """Load now and then every refresh period, in the background; ``on_loaded`` is called
        when the first good value is in use."""
        self._on_loaded = on_loaded
        self._task = asyncio.create_task(self._refresh_forever(), name=f"refresh {self.name}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def refresh(self) -> bool:
        """Read and parse the secret now; True when a good value is in use afterwards."""
        try:
            raw = await asyncio.to_thread(self._read)
            value = self._parse(raw) if raw != self._raw else self._value
        except (OSError, ValueError) as error:
            self._report(f"{error}")
            return self._value is not None
        first = self._value is None
        if raw != self._raw:
            self._redaction(raw)
            logger.info(
                "%s %s", self.name, "loaded" if first else "changed: the new value is in use"
            )
        elif self._problem is not None:
            logger.info("%s readable again", self.name)
        self._raw, self._value, self._problem = raw, value, None
        if first:
            self._on_loaded()
        return True

    async def refresh_after_rejection(self) -> bool:
        """Called when the provider rejected the key (401/403): re-read, at most every 30 s.

        True when a different value is now in use, so the caller may retry once.
        """
        now = time.monotonic()
        if now - self._last_forced < FORCED_REFRESH_MIN_INTERVAL_SECONDS:
            return False
        self._last_forced = now
        before = self._raw
        return await self.refresh() and self._raw != before

    def _report(self, reason: str) -> None:
        kept = "keeping the last good value" if self._value is not None else "not ready"
        if reason != self._problem:
            logger.warning("%s unusable (%s): %s", self.name, kept, reason)
        self._problem = reason

    async def _refresh_forever(self) -> None:
        while True:
            await self.refresh()
            wait = self.refresh_seconds if self._value is not None else RETRY_WITHOUT_VALUE_SECONDS
            await asyncio.sleep(min(wait, self.refresh_seconds))


def parse_byop_secret(
    raw: str, *, embedding_model: str, allow_plaintext: bool
) -> ProviderCredentials:
    """The BYOP secret: a JSON object with the :class:`ByopCredentials` fields (``provider_url``,
    ``api_key``, ``model_name``, optional ``provider_kind``, ``embeddings_url``,
    ``embeddings_api_key``), checked by the same rules as ``UPSTREAM_*`` variables.

    Errors name fields, never values (they end up in a log line).
    """
    fields = variables(ByopCredentials)
    required = [field.attribute for field in fields if field.required]
    try:
        given = json.loads(raw)
    except ValueError:
        raise ValueError(
            f"the secret is not JSON: store an object with {', '.join(required)}"
        ) from None
    if not isinstance(given, dict):
        raise ValueError(f"the secret must be a JSON object with {', '.join(required)}")
    values: dict[str, str] = {}
    for field in fields:
        value = given.get(field.attribute)
        if isinstance(value, str) and value.strip():
            values[field.attribute] = value.strip()
        elif value is not None and not isinstance(value, str) and not field.required:
            optional = [field.attribute for field in fields if not field.required]
            raise ValueError(f"{', '.join(optional)} must be strings when given")
    missing = [name for name in required if name not in values]
    if missing:
        raise ValueError(f"the secret lacks {', '.join(missing)} (non-empty strings)")
    for field in fields:
        if field.choices and field.attribute in values:
            if values[field.attribute].lower() not in field.choices:
                raise ValueError(f"{field.attribute} must be one of {', '.join(field.choices)}")
            values[field.attribute] = values[field.attribute].lower()
    byop = msgspec.convert(values, ByopCredentials)
    problems = byop.problems(allow_plaintext=allow_plaintext, name=str)
    if problems:
        raise ValueError("; ".join(problems))
    return byop.credentials(embedding_model=embedding_model)


def parse_managed_api_key(raw: str, *, gateway: ProviderCredentials) -> ProviderCredentials:
    """The managed gateway token secret: the raw token, or a JSON object with ``api_key`` (as the
    BYOP secret holds it); ``gateway`` gets that key, everything else comes from the environment.
    """
    text = raw.strip()
    if text.startswith("{"):
        try:
            fields = json.loads(text)
        except ValueError:
            raise ValueError(
                "the secret starts with { but is not JSON: store the raw token, "
                "or an object with api_key"
            ) from None
        token = fields.get("api_key") if isinstance(fields, dict) else None
        if not isinstance(token, str):
            raise ValueError("the secret's JSON lacks api_key (a non-empty string)")
        text = token.strip()
    if not text or any(character.isspace() for character in text):
        raise ValueError("the token is empty or contains whitespace")
    return dataclasses.replace(gateway, api_key=text)
