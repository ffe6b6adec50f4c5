"""Build the providers the settings ask for: offline by default, OpenAI and Runway with keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from videobot.providers.base import (
    Animator,
    ImageMaker,
    Narrator,
    ScriptWriter,
    TaskJournal,
    Transcriber,
)
from videobot.providers.offline.animator import OfflineAnimator
from videobot.providers.offline.script_writer import OfflineScriptWriter
from videobot.providers.offline.transcriber import OfflineTranscriber
from videobot.settings import Settings


@dataclass(frozen=True)
class Providers:
    writer: ScriptWriter
    images: ImageMaker
    animator: Animator
    narrator: Narrator
    transcriber: Transcriber


def build_providers(settings: Settings, journal: TaskJournal | None = None) -> Providers:
    """One client per service, shared by that service's providers (SDK retries off). Runway
    writes its tasks ahead in `journal`, so a crash never pays for one twice."""
    settings.require_keys()
    openai_client: Any = None
    runway_client: Any = None
    if "openai" in (settings.script_provider, settings.image_provider, settings.tts_provider,
                    settings.stt_provider):
        from videobot.providers.openai_api import build_openai_client

        openai_client = build_openai_client(settings)
    runway_downloads: Any = None
    if "runway" in (settings.image_provider, settings.video_provider, settings.tts_provider):
        from videobot.providers.runway_api import build_download_client, build_runway_client

        runway_client = build_runway_client(settings)
        runway_downloads = build_download_client(settings)

    def openai(kind: str) -> Any:
        from videobot.providers import openai_api

        return getattr(openai_api, kind)(settings, openai_client)

    def runway(kind: str) -> Any:
        from videobot.providers import runway_api

        return getattr(runway_api, kind)(runway_client, runway_downloads, settings,
                                         journal=journal)

    images: ImageMaker = (
        _offline_images(settings) if settings.image_provider == "offline"
        else openai("OpenAIImageMaker") if settings.image_provider == "openai"
        else runway("RunwayImageMaker")
    )
    narrator: Narrator = (
        _offline_narrator(settings)
        if settings.tts_provider == "offline"
        else openai("OpenAINarrator") if settings.tts_provider == "openai"
        else runway("RunwayNarrator")
    )
    return Providers(
        writer=OfflineScriptWriter() if settings.script_provider == "offline"
        else openai("OpenAIScriptWriter"),
        images=images,
        animator=OfflineAnimator(settings.video_scale) if settings.video_provider == "offline"
        else runway("RunwayAnimator"),
        narrator=narrator,
        transcriber=OfflineTranscriber() if settings.stt_provider == "offline"
        else openai("OpenAITranscriber"),
    )


# The offline image maker and narrators load numpy: imported only when chosen, so that a
# flow-run process with paid providers (one starts at every resume) does without it.
def _offline_images(settings: Settings) -> ImageMaker:
    from videobot.providers.offline.images import OfflineImageMaker

    return OfflineImageMaker(settings.video_scale)


def _offline_narrator(settings: Settings) -> Narrator:
    """espeak-ng, with Piper's neural voice in front of it for English when it is installed."""
    from videobot.providers.offline.narrator import OfflineNarrator
    from videobot.providers.offline.piper_narrator import PiperNarrator, piper_available

    espeak = OfflineNarrator(words_per_minute=settings.offline_voice_speed_wpm)
    if settings.offline_voice_engine == "piper" and piper_available():
        return PiperNarrator(espeak, words_per_minute=settings.offline_voice_speed_wpm)
    return espeak
