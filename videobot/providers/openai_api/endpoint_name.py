"""Which server an OpenAI client talks to, in words for a failure reason: OpenAI itself, or the
host and port of an OpenAI-compatible server (Ollama, vLLM), so a person knows where to look."""

from __future__ import annotations

from urllib.parse import urlsplit

OPENAI_HOST = "api.openai.com"


def server_host(base_url: object) -> str | None:
    """"host:port" of `base_url` (a str or the SDK's URL), or None when it is OpenAI's own API."""
    netloc = urlsplit(str(base_url)).netloc.rpartition("@")[2]  # never the userinfo
    if not netloc or netloc.split(":")[0].lower() == OPENAI_HOST:
        return None
    return netloc.lower()


def model_server_name(base_url: object, what: str) -> str:
    """"OpenAI" for OpenAI's API, else e.g. "the text model at 127.0.0.1:11434"."""
    host = server_host(base_url)
    return "OpenAI" if host is None else f"the {what} at {host}"
