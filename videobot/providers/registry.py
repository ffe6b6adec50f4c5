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
    them: building all five would load SDKs and numpy it never uses (the OpenAI SDK ~0.3 s of
    CPU, the offline image maker's numpy and Pillow ~0.15 s). Mapped tasks ask from several
    threads at once, so a build is done under a lock, once."""

    def __init__(self, settings: Settings, journal: TaskJournal | None = None) -> None:
        self._settings, self._journal = settings, journal
        self._lock = threading.RLock()
        self._built: dict[str, Any] = {}

    @property
    def writer(self) -> ScriptWriter:
        return self._once("writer", lambda s: OfflineScriptWriter() if s.script_provider ==
                          "offline" else self._openai("OpenAIScriptWriter"))

    @property
    def images(self) -> ImageMaker:
        return self._once("images", lambda s: _offline_images(s) if s.image_provider ==
                          "offline" else self._openai("OpenAIImageMaker") if s.image_provider
                          == "openai" else self._runway("RunwayImageMaker"))

    @property
    def animator(self) -> Animator:
        return self._once("animator", lambda s: OfflineAnimator(s.video_scale)
                          if s.video_provider == "offline" else self._runway("RunwayAnimator"))

    @property
    def narrator(self) -> Narrator:
        return self._once("narrator", lambda s: _offline_narrator(s) if s.tts_provider ==
                          "offline" else self._openai("OpenAINarrator") if s.tts_provider ==
                          "openai" else self._runway("RunwayNarrator"))

    @property
    def transcriber(self) -> Transcriber:
        return self._once("transcriber", lambda s: OfflineTranscriber() if s.stt_provider ==
                          "offline" else self._openai("OpenAITranscriber"))

    def _once(self, kind: str, build: Callable[[Settings], Any]) -> Any:
        with self._lock:
            if kind not in self._built:
                self._built[kind] = build(self._settings)
            return self._built[kind]

    def _openai(self, kind: str) -> Any:
        from videobot.providers import openai_api

        client = self._once("openai client", openai_api.build_openai_client)
        return getattr(openai_api, kind)(self._settings, client)

    def _runway(self, kind: str) -> Any:
        from videobot.providers import runway_api

        client = self._once("runway client", runway_api.build_runway_client)
        downloads = self._once("runway downloads", runway_api.build_download_client)
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
