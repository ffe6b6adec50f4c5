"""What one paid call is expected to cost, from the settings' prices.

Used for ledger rows whose provider never said what the call cost: an output adopted after a
crash (the provider answered, the process died before the row was written), or a request
that may have been paid and whose answer was lost. A text model's price depends on the
tokens of an answer we do not have, so those rows count the call with no cost.
"""

from __future__ import annotations

import math

from videobot.formats import SCENE_SECONDS, VideoFormat
from videobot.providers.base import Usage
from videobot.settings import Settings


def expected_usage(
    settings: Settings, stage: str, provider: str, *, fmt: VideoFormat, text: str = ""
) -> Usage:
    """The usage of one call of `stage` to `provider`; `text` is what a narration speaks."""
    s = settings
    if provider == "runway":
        credits = _runway_credits(s, stage, fmt, text)
        model = {"images": s.runway_image_model, "clips": s.runway_video_model,
                 "narration": s.runway_tts_model}.get(stage, "")
        return Usage(provider=provider, model=model, units=credits, unit="credits",
                     cost_usd=round(credits * s.runway_usd_per_credit, 6))
    if provider == "openai":
        if stage == "images":
            return Usage(provider=provider, model=s.openai_image_model, units=1, unit="images",
                         cost_usd=s.price_openai_image)
        if stage == "narration":
            return Usage(provider=provider, model=s.openai_tts_model, units=len(text),
                         unit="characters", cost_usd=len(text) * s.price_tts_per_mchar / 1e6)
        if stage == "intake":
            return Usage(provider=provider, model=s.openai_stt_model, units=0, unit="seconds")
        return Usage(provider=provider, model=s.openai_text_model, units=0, unit="tokens")
    return Usage(provider=provider, model=provider, units=0, unit="")


def _runway_credits(settings: Settings, stage: str, fmt: VideoFormat, text: str) -> float:
    if stage == "clips":
        return settings.runway_video_credits_per_second * round(SCENE_SECONDS)
    if stage == "narration":
        return math.ceil(len(text) / 50) * settings.runway_tts_credits_per_50_chars
    if stage == "images":
        # Imported here: the Runway SDK is needed only when Runway draws.
        from videobot.providers.runway_api.ratios import image_credits, image_ratio

        return image_credits(settings, image_ratio(settings, fmt))
    return 0.0
