"""Build the providers the settings ask for: offline by default, OpenAI and Runway with keys."""

from __future__ import annotations

import threading
from collections.abc import Callable
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


class Providers:
    """The providers the settings ask for, each built on its first use, with one client per
    service shared by that service's providers (SDK retries off).

    A flow-run process starts at every resume and works one stage, which needs one or two of
    them: building all five would load SDKs and tools it never uses (measured: the OpenAI SDK
    with our client module ~0.45 s of CPU, the offline image maker ~0.3 s). Mapped tasks ask
    from several threads at once, so each is built under a lock, once."""

    def __init__(self, settings: Settings, journal: TaskJournal | None = None) -> None:
        self._settings, self._journal = settings, journal
        self._lock = threading.RLock()
        self._built: dict[str, Any] = {}

    @property
    def writer(self) -> ScriptWriter:
        return self._once("writer", self._writer)

    @property
    def images(self) -> ImageMaker:
        return self._once("images", self._images)

    @property
    def animator(self) -> Animator:
        return self._once("animator", self._animator)

    @property
    def narrator(self) -> Narrator:
        return self._once("narrator", self._narrator)

    @property
    def transcriber(self) -> Transcriber:
        return self._once("transcriber", self._transcriber)

    def _writer(self) -> ScriptWriter:
        if self._settings.script_provider == "offline":
            return OfflineScriptWriter()
        return self._openai("OpenAIScriptWriter")

    def _images(self) -> ImageMaker:
        if self._settings.image_provider == "offline":
            return _offline_images(self._settings)
        if self._settings.image_provider == "openai":
            return self._openai("OpenAIImageMaker")
        return self._runway("RunwayImageMaker")

    def _animator(self) -> Animator:
        if self._settings.video_provider == "offline":
            return OfflineAnimator(self._settings.video_scale)
        return self._runway("RunwayAnimator")

    def _narrator(self) -> Narrator:
        if self._settings.tts_provider == "offline":
            return _offline_narrator(self._settings)
        if self._settings.tts_provider == "openai":
            return self._openai("OpenAINarrator")
        return self._runway("RunwayNarrator")

    def _transcriber(self) -> Transcriber:
        if self._settings.stt_provider == "offline":
            return OfflineTranscriber()
        return self._openai("OpenAITranscriber")

    def _once(self, kind: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            if kind not in self._built:
                self._built[kind] = build()
            return self._built[kind]

    def _openai(self, kind: str) -> Any:
        from videobot.providers import openai_api

        client = self._once("openai client",
                            lambda: openai_api.build_openai_client(self._settings))
        return getattr(openai_api, kind)(self._settings, client)

    def _runway(self, kind: str) -> Any:
        from videobot.providers import runway_api

        client = self._once("runway client",
                            lambda: runway_api.build_runway_client(self._settings))
        downloads = self._once("runway downloads",
                               lambda: runway_api.build_download_client(self._settings))
        return getattr(runway_api, kind)(client, downloads, self._settings,
                                         journal=self._journal)


def build_providers(settings: Settings, journal: TaskJournal | None = None) -> Providers:
    """The providers `settings` ask for, their keys checked now and each built on first use.
    Runway writes its tasks ahead in `journal`, so a crash never pays for one twice."""
    settings.require_keys()
    return Providers(settings, journal)


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
