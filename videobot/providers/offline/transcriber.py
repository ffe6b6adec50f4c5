"""The offline transcriber: there is no local speech-to-text, so it says what to configure."""

from __future__ import annotations

from pathlib import Path

from videobot.providers.base import ProviderError, Transcript, Usage

NO_OFFLINE_STT = (
    "voice prompts need a speech-to-text provider: set STT_PROVIDER=openai and OPENAI_API_KEY, "
    "or send the prompt as text"
)


class OfflineTranscriber:
    name = "offline"

    def transcribe(self, audio: Path) -> tuple[Transcript, Usage]:
        raise ProviderError(NO_OFFLINE_STT, permanent=True)
