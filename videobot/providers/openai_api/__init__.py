"""OpenAI providers: text with structured output, images, speech and transcription."""

from videobot.providers.openai_api.client import build_openai_client, retry_policy
from videobot.providers.openai_api.errors import classify_openai_error
from videobot.providers.openai_api.media import (
    OpenAIImageMaker,
    OpenAINarrator,
    OpenAITranscriber,
)
from videobot.providers.openai_api.text import OpenAIScriptWriter

__all__ = [
    "OpenAIImageMaker",
    "OpenAINarrator",
    "OpenAIScriptWriter",
    "OpenAITranscriber",
    "build_openai_client",
    "classify_openai_error",
    "retry_policy",
]
