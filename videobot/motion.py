"""The clip model and length of a job: the choices the configured animator offers, with their
prices, and the one a job uses."""

from __future__ import annotations

from dataclasses import dataclass

from videobot.formats import SCENE_SECONDS
from videobot.settings import Settings

OFFLINE_MODEL = "ffmpeg-motion"  # the offline animator's zoom and pan: free, any length


@dataclass(frozen=True)
class Motion:
    """A clip model, the seconds asked of it (the clip is cut to the scene) and its price."""

    model: str
    seconds: int
    usd_per_second: float

    @property
    def clip_usd(self) -> float:
        return self.seconds * self.usd_per_second


def motion_models(settings: Settings) -> dict[str, tuple[int, ...]]:
    """Each clip model the configured animator offers, with the lengths it makes: Runway's
    priced models (RUNWAY_VIDEO_PRICES) that the installed SDK's image_to_video takes."""
    if settings.video_provider != "runway":
        return {OFFLINE_MODEL: (int(SCENE_SECONDS),)}
    # Imported here: the Runway SDK is needed only when Runway animates.
    from runwayml.types import image_to_video_create_params

    from videobot.providers.runway_api.ratios import model_durations

    spec = image_to_video_create_params.ImageToVideoCreateParams
    offered = {name: model_durations(spec, name) for name in settings.runway_video_prices}
    if settings.runway_video_model not in offered:
        offered = {settings.runway_video_model: model_durations(spec, settings.runway_video_model),
                   **offered}
    return {name: durations for name, durations in offered.items() if durations}


def default_model(settings: Settings) -> str:
    return settings.runway_video_model if settings.video_provider == "runway" else OFFLINE_MODEL


def choose_motion(settings: Settings, model: str | None = None,
                  seconds: int | None = None) -> Motion:
    """The motion for `model` (None: the default) `seconds` long (None: the shortest length
    that covers a scene). ValueError names the choices when the model or length is not one."""
    offered = motion_models(settings)
    name = model or default_model(settings)
    if name not in offered:
        raise ValueError(f"the clip model is one of {', '.join(offered)}, not {name!r}")
    lengths = offered[name]
    if seconds is None:
        covering = [d for d in lengths if d >= SCENE_SECONDS]
        seconds = min(covering) if covering else max(lengths)
    elif seconds not in lengths:
        shown = ", ".join(map(str, lengths))
        raise ValueError(f"{name} makes clips of {shown} seconds, not {seconds}")
    return Motion(name, seconds, _usd_per_second(settings, name))


def job_motion(settings: Settings, model: str | None, seconds: int | None) -> Motion:
    """The motion a job uses: its own choice while the animator still offers it, else the
    default (the settings may have changed since the job was made)."""
    try:
        return choose_motion(settings, model, seconds)
    except ValueError:
        return choose_motion(settings)


def parse_motion(text: str) -> tuple[str, int | None]:
    """"veo3.1_fast" or "veo3.1_fast:8" (model and seconds)."""
    model, sep, length = text.strip().rpartition(":")
    if sep and length.strip().isdigit():
        return model.strip(), int(length)
    return text.strip(), None


def _usd_per_second(settings: Settings, model: str) -> float:
    if settings.video_provider != "runway":
        return 0.0
    credits = settings.runway_video_prices.get(model, settings.runway_video_credits_per_second)
    return credits * settings.runway_usd_per_credit
