"""Models are retired on dates their providers announce: a dated table of the models we name,
and the check that start-up and `videobot doctor` make against it.

The dates are the SDKs' own deprecation notes (openai 3.57: `types/audio/speech_model.py`,
`types/audio_model.py`, `types/shared/chat_model.py`, `types/image_model.py`); a test reads
the installed SDK's notes and fails when this table disagrees with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from videobot.settings import ConfigurationError, Settings

WARN_DAYS = 30


@dataclass(frozen=True)
class Sunset:
    model: str
    shutdown: date
    replacement: str  # what to configure instead, in settings' words


_NARRATOR_INSTEAD = "TTS_PROVIDER=runway (ElevenLabs voices through Runway, the same key as clips)"
_TRANSCRIBER_INSTEAD = "OPENAI_STT_MODEL=gpt-transcribe"
_TEXT_INSTEAD = "OPENAI_TEXT_MODEL=gpt-5.4-mini"

SUNSETS: dict[str, Sunset] = {
    s.model: s
    for s in (
        *(Sunset(m, date(2027, 1, 6), _NARRATOR_INSTEAD)
          for m in ("tts-1", "tts-1-hd", "gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15")),
        *(Sunset(m, date(2027, 2, 26), _TRANSCRIBER_INSTEAD)
          for m in ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe",
                    "gpt-4o-mini-transcribe-2025-12-15", "gpt-4o-transcribe-diarize")),
        *(Sunset(m, date(2026, 12, 11), _TEXT_INSTEAD)
          for m in ("gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5-2025-08-07",
                    "gpt-5-mini-2025-08-07", "gpt-5-nano-2025-08-07", "o3", "o3-2025-04-16")),
        *(Sunset(m, date(2027, 1, 14), _TEXT_INSTEAD)
          for m in ("gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini")),
        *(Sunset(m, date(2027, 4, 1), _TEXT_INSTEAD)
          for m in ("gpt-5.4-nano", "gpt-5.4-nano-2026-03-17", "gpt-5.1", "gpt-5.1-2025-11-13")),
        Sunset("gpt-image-1", date(2026, 10, 23), "OPENAI_IMAGE_MODEL=gpt-image-2"),
        *(Sunset(m, date(2026, 5, 12), "OPENAI_IMAGE_MODEL=gpt-image-2")
          for m in ("dall-e-2", "dall-e-3")),
    )
}


@dataclass(frozen=True)
class ModelInUse:
    capability: str  # script, images, clips, narration, transcription
    provider: str
    setting: str  # the variable that names the model
    model: str


def models_in_use(settings: Settings) -> list[ModelInUse]:
    """The models the chosen providers call, one per capability (offline ones included)."""
    pick = {
        "script": (settings.script_provider, {
            "openai": ("OPENAI_TEXT_MODEL", settings.openai_text_model)}),
        "images": (settings.image_provider, {
            "openai": ("OPENAI_IMAGE_MODEL", settings.openai_image_model),
            "runway": ("RUNWAY_IMAGE_MODEL", settings.runway_image_model)}),
        "clips": (settings.video_provider, {
            "runway": ("RUNWAY_VIDEO_MODEL", settings.runway_video_model)}),
        "narration": (settings.tts_provider, {
            "openai": ("OPENAI_TTS_MODEL", settings.openai_tts_model),
            "runway": ("RUNWAY_TTS_MODEL", settings.runway_tts_model)}),
        "transcription": (settings.stt_provider, {
            "openai": ("OPENAI_STT_MODEL", settings.openai_stt_model)}),
    }
    offline = {"script": "templates", "images": "procedural", "clips": "ffmpeg motion",
               "narration": "espeak-ng", "transcription": "none"}
    used = []
    for capability, (provider, models) in pick.items():
        setting, model = models.get(provider, ("", offline[capability]))
        used.append(ModelInUse(capability, provider, setting, model))
    return used


@dataclass(frozen=True)
class ModelNotice:
    """A model in use that is shut down, or soon will be."""

    used: ModelInUse
    sunset: Sunset
    days_left: int

    @property
    def past(self) -> bool:
        return self.days_left <= 0

    def text(self) -> str:
        name = f"{self.used.setting}={self.used.model}"
        when = self.sunset.shutdown.isoformat()
        if self.past:
            return f"{name} was shut down on {when}: set {self.sunset.replacement}"
        return (f"{name} shuts down on {when}, in {self.days_left} days: "
                f"set {self.sunset.replacement} before then")


def model_notices(settings: Settings, today: date, warn_days: int = WARN_DAYS) -> list[ModelNotice]:
    """Notices for the models in use within `warn_days` of their shutdown, or past it."""
    notices = []
    for used in models_in_use(settings):
        sunset = SUNSETS.get(used.model)
        if sunset is None:
            continue
        days_left = (sunset.shutdown - today).days
        if days_left <= warn_days:
            notices.append(ModelNotice(used, sunset, days_left))
    return notices


def check_model_currency(settings: Settings, today: date) -> list[str]:
    """Stop start-up for a model past its shutdown; return warnings for those close to it."""
    notices = model_notices(settings, today)
    gone = [n.text() for n in notices if n.past]
    if gone:
        raise ConfigurationError("; ".join(gone))
    return [n.text() for n in notices]


def shutdown_of(model: str) -> date | None:
    sunset = SUNSETS.get(model)
    return sunset.shutdown if sunset else None
