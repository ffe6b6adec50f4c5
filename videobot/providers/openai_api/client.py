"""The OpenAI client our providers share: SDK retries off, time limits and endpoint from
settings."""

from __future__ import annotations

import functools
from typing import Any

# The HTTP library the openai SDK is built on (a requirement of the SDK), whose client it takes.
import httpx2
import openai

from videobot.providers.base import ProviderError
from videobot.providers.call_notes import answer_lost, note_unanswered
from videobot.providers.faults import RetryPolicy
from videobot.settings import Settings
from videobot.stopping import unless_stopping

NO_KEY = "OPENAI_API_KEY is not set: set it in the environment, or choose the offline providers"


def build_openai_client(settings: Settings) -> openai.OpenAI:
    """A client whose only retries are ours (`call_with_retries`), so attempts never multiply.

    `base_url` left unset lets the SDK read OPENAI_BASE_URL itself; the key comes only from the
    settings' SecretStr and is never logged or put into a message.
    """
    if settings.openai_api_key is None:
        raise ProviderError(NO_KEY, permanent=True)
    return openai.OpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url or None,
        timeout=generation_timeout(settings),
        max_retries=0,
        http_client=NotingClient(),
    )


class NotingClient(openai.DefaultHttpxClient):
    """The SDK's own HTTP client (its defaults, proxies from the environment) that notes each
    request that went out and got no answer (a read timeout, a dropped connection) as possibly
    paid, for the ledger (`call_notes`).

    OpenAI's API takes no idempotency key (the SDK sends no Idempotency-Key header) and cannot
    be asked whether an unanswered request was carried out, so a retry of such a request may
    pay twice: the ledger then shows both.

    A request is waited for only until the process is told to stop (`unless_stopping`): an
    image being drawn would otherwise keep a cancelled run's process alive for up to its read
    timeout, until Prefect kills it."""

    def send(self, request: httpx2.Request, **kwargs: Any) -> httpx2.Response:
        try:
            return unless_stopping(functools.partial(super().send, request, **kwargs))
        except httpx2.TransportError as exc:
            if request.method == "POST" and answer_lost(exc):
                note_unanswered()
            raise


def generation_timeout(settings: Settings) -> openai.Timeout:
    """The client's default: images and text answer only when done, so the read is generous."""
    return _timeout(settings, settings.provider_read_timeout_seconds)


def quick_timeout(settings: Settings) -> openai.Timeout:
    """For speech and transcription, which start answering at once: a silent server fails soon."""
    read = min(settings.provider_quick_read_timeout_seconds, settings.provider_read_timeout_seconds)
    return _timeout(settings, read)


def _timeout(settings: Settings, read: float) -> openai.Timeout:
    connect = settings.provider_connect_timeout_seconds
    # write: each chunk of an upload (a voice note) may take as long as a quick read.
    write = max(connect, settings.provider_quick_read_timeout_seconds)
    return openai.Timeout(connect=connect, read=read, write=write, pool=connect)


def retry_policy(settings: Settings) -> RetryPolicy:
    """The retry policy every OpenAI call uses, from the provider settings."""
    return RetryPolicy(
        attempts=settings.provider_attempts,
        base_delay=settings.provider_backoff_seconds,
        max_delay=settings.provider_backoff_max_seconds,
    )
