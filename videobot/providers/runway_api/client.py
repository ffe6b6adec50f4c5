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
        timeout=settings.provider_timeout_seconds,
        max_retries=0,
    )


def build_download_client(settings: Settings) -> httpx.Client:
    """For output URLs: signed links on Runway's storage, fetched without our API key."""
    return httpx.Client(timeout=settings.provider_timeout_seconds, follow_redirects=True)
