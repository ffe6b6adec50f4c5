"""Cost estimates shown before a person commits to a paid stage."""

from __future__ import annotations

from videobot.formats import SCENE_COUNT, SCENE_SECONDS, VideoFormat
from videobot.settings import Settings


def clip_stage_estimate(settings: Settings, scenes: int) -> float:
    """Expected USD for animating `scenes` clips with the configured video provider."""
    if settings.video_provider == "runway":
        credits = settings.runway_video_credits_per_second * SCENE_SECONDS * scenes
        return credits * settings.runway_usd_per_credit
    return 0.0


def image_stage_estimate(
    settings: Settings, scenes: int, fmt: VideoFormat | None = None
) -> float:
    """Expected USD for drawing `scenes` images of `fmt` (default: the configured format) with
    the configured image provider; Runway prices a picture by the resolution it is asked for."""
    if settings.image_provider == "runway":
        # Imported here: the Runway SDK is needed only when Runway draws.
        from videobot.providers.runway_api.ratios import image_credits, image_ratio

        ratio = image_ratio(settings, fmt or settings.video_format)
        return image_credits(settings, ratio) * settings.runway_usd_per_credit * scenes
    if settings.image_provider == "openai":
        return settings.price_openai_image * scenes
    return 0.0


def gate_note(settings: Settings, stage: str, scenes: int) -> str | None:
    """What to know before deciding at a gate: approving images starts the paid clip stage."""
    if stage != "images":
        return None
    cost = clip_stage_estimate(settings, scenes)
    return f"Approving starts the clips: {scenes} scenes, estimated ${cost:.2f}."


def approving_starts(settings: Settings, stage: str, fmt: VideoFormat | None = None) -> str:
    """What approving `stage` starts and its estimated cost, for the gate's resume form."""
    if stage == "script":
        cost = image_stage_estimate(settings, SCENE_COUNT, fmt)
        return f"plans ten scenes and draws their images (estimated ${cost:.2f})"
    if stage == "images":
        cost = clip_stage_estimate(settings, SCENE_COUNT)
        return f"animates the ten images into clips (estimated ${cost:.2f})"
    return "records the narration and assembles the final video"
