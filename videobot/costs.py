"""Cost estimates shown before a person commits to a paid stage, and checked against budgets."""

from __future__ import annotations

from videobot.formats import SCENE_COUNT, VideoFormat
from videobot.motion import Motion, choose_motion
from videobot.settings import Settings

# What one text step (script, scene plan or motion prompts) sends and gets back, about: the
# instructions and a script in, a scene plan out. Only an estimate; the ledger records tokens.
TEXT_CALL_TOKENS_IN = 3_000
TEXT_CALL_TOKENS_OUT = 2_500
NARRATION_CHARS = 1_000  # the most three sections of narration hold at a comfortable pace


def clip_stage_estimate(settings: Settings, scenes: int, motion: Motion | None = None) -> float:
    """Expected USD for animating `scenes` clips with `motion` (default: the provider's)."""
    return (motion or choose_motion(settings)).clip_usd * scenes


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


def text_step_estimate(settings: Settings) -> float:
    """Expected USD for one text step (script, scene plan, motion prompts)."""
    if settings.script_provider == "offline":
        return 0.0
    return (TEXT_CALL_TOKENS_IN * settings.price_text_input_per_mtok
            + TEXT_CALL_TOKENS_OUT * settings.price_text_output_per_mtok) / 1_000_000


def narration_estimate(settings: Settings, characters: int = NARRATION_CHARS) -> float:
    """Expected USD for narrating `characters` of script."""
    if settings.tts_provider == "openai":
        return characters * settings.price_tts_per_mchar / 1_000_000
    if settings.tts_provider == "runway":
        credits = -(-characters // 50) * settings.runway_tts_credits_per_50_chars
        return credits * settings.runway_usd_per_credit
    return 0.0


def stage_estimate(
    settings: Settings,
    stage: str,
    *,
    scenes: int = SCENE_COUNT,
    fmt: VideoFormat | None = None,
    motion: Motion | None = None,
    characters: int = NARRATION_CHARS,
) -> float:
    """Expected USD of one pipeline stage (`scenes` of a media stage)."""
    if stage in ("script", "segments", "motion"):
        return text_step_estimate(settings)
    if stage == "images":
        return image_stage_estimate(settings, scenes, fmt)
    if stage == "clips":
        return clip_stage_estimate(settings, scenes, motion)
    if stage == "narration":
        return narration_estimate(settings, characters)
    if stage == "intake" and settings.stt_provider == "openai":
        return 2 * settings.price_stt_per_minute  # a voice prompt lasts two minutes at most
    return 0.0


def gate_note(settings: Settings, stage: str, scenes: int,
              motion: Motion | None = None) -> str | None:
    """What to know before deciding at a gate: approving images starts the paid clip stage."""
    if stage != "images":
        return None
    motion = motion or choose_motion(settings)
    cost = clip_stage_estimate(settings, scenes, motion)
    return (f"Approving starts the clips: {scenes} scenes with {motion.model} "
            f"({motion.seconds} s each), estimated ${cost:.2f}.")


def approving_starts(settings: Settings, stage: str, fmt: VideoFormat | None = None,
                     motion: Motion | None = None) -> str:
    """What approving `stage` starts and its estimated cost, for the gate's resume form."""
    if stage == "script":
        cost = image_stage_estimate(settings, SCENE_COUNT, fmt)
        return f"plans ten scenes and draws their images (estimated ${cost:.2f})"
    if stage == "images":
        motion = motion or choose_motion(settings)
        cost = clip_stage_estimate(settings, SCENE_COUNT, motion)
        return (f"animates the ten images into clips with {motion.model} "
                f"(estimated ${cost:.2f})")
    cost = narration_estimate(settings)
    return f"records the narration and assembles the final video (estimated ${cost:.2f})"
