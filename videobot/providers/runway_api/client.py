"""The Runway SDK client and the plain HTTP client for outputs, both built from settings."""

from __future__ import annotations

import httpx
import runwayml

from videobot.providers.base import ProviderError
from videobot.settings import Settings


def build_runway_client(settings: Settings) -> runwayml.RunwayML:
    """A RunwayML client with its own retries off: faults.call_with_retries is the only layer."""
    secret = settings.runwayml_api_secret
    if secret is None or not secret.get_secret_value():
        raise ProviderError("RUNWAYML_API_SECRET is not set", permanent=True)
    return runwayml.RunwayML(
        api_key=secret.get_secret_value(),
        base_url=settings.runwayml_base_url,
        timeout=runway_timeout(settings),
        max_retries=0,
    )


def build_download_client(settings: Settings) -> httpx.Client:
    """For output URLs: signed links on Runway's storage, fetched without our API key."""
    return httpx.Client(timeout=runway_timeout(settings), follow_redirects=True)


def runway_timeout(settings: Settings) -> httpx.Timeout:
    """Runway's API answers at once (a task is polled, not waited for) and a download's read
    limit is between chunks: both take the quick read limit. The task's own wait is
    RUNWAY_MAX_WAIT_SECONDS, in the poller."""
    connect = settings.provider_connect_timeout_seconds
    read = min(settings.provider_quick_read_timeout_seconds, settings.provider_read_timeout_seconds)
    return httpx.Timeout(connect=connect, read=read, write=max(connect, read), pool=connect)
