"""Which pixel ratios a Runway model takes, which one fits a format, and what a picture costs."""

from __future__ import annotations

import functools
import math
import typing
from collections.abc import Sequence

from runwayml.types import text_to_image_create_params

from videobot.formats import VideoFormat
from videobot.settings import Settings

# Runway documents "an integer from 2 to 10" for the models whose duration the spec types as
# a plain integer (gen4_turbo, gen4.5); models with fixed lengths list them (veo3.1: 4, 6, 8).
INTEGER_DURATIONS = tuple(range(2, 11))


@functools.lru_cache(maxsize=64)
def _model_hints(params_union: object, model: str) -> dict[str, object]:
    """The request fields (and their types) the installed SDK lists for `model`; {} if none.

    The SDK's request types are generated from Runway's API spec, so they stay the truth for
    what a model accepts; the model itself is a setting.
    """
    for params in typing.get_args(params_union):
        try:
            hints = typing.get_type_hints(params)
        except Exception:  # a schema the SDK cannot resolve says nothing about this model
            continue
        if typing.get_args(hints.get("model")) == (model,):
            return hints
    return {}


def model_ratios(params_union: object, model: str) -> tuple[str, ...]:
    """The pixel ratios ("1280:720") the installed SDK lists for `model`; () if it has none."""
    values = typing.get_args(_model_hints(params_union, model).get("ratio"))
    return tuple(v for v in values if isinstance(v, str) and parse_ratio(v))


def model_durations(params_union: object, model: str) -> tuple[int, ...]:
    """The clip lengths in seconds `model` makes; () when the SDK does not know the model."""
    hints = _model_hints(params_union, model)
    if not hints:
        return ()
    duration = hints.get("duration")
    if duration is int:
        return INTEGER_DURATIONS
    return tuple(sorted(v for v in typing.get_args(duration) if isinstance(v, int)))


def model_takes(params_union: object, model: str, field: str) -> bool:
    """Whether `model`'s requests have the field `field` (e.g. veo3.1's `audio`)."""
    return field in _model_hints(params_union, model)


def clip_length(durations: Sequence[int], seconds: float) -> int:
    """The shortest length that covers `seconds` (the clip is cut to it), else the longest."""
    covering = [d for d in durations if d >= seconds - 1e-6]
    if covering:
        return min(covering)
    return max(durations) if durations else max(1, round(seconds))


def choose_ratio(ratios: Sequence[str], size: tuple[int, int]) -> str:
    """Of the ratios nearest `size`'s shape, the smallest that covers it (else the largest);
    with an empty list, `size` itself (Runway's ratios are pixel sizes)."""
    width, height = size
    shaped = [r for r in map(parse_ratio, ratios) if r is not None]
    if not shaped:
        return f"{width}:{height}"
    target = math.log(width / height)
    nearest = min(abs(math.log(w / h) - target) for w, h in shaped)
    same = [(w, h) for w, h in shaped if abs(math.log(w / h) - target) <= nearest + 0.002]
    covering = [(w, h) for w, h in same if w >= width and h >= height]
    w, h = min(covering, key=lambda r: r[0] * r[1]) if covering else max(
        same, key=lambda r: r[0] * r[1]
    )
    return f"{w}:{h}"


def image_credits(settings: Settings, ratio: str) -> float:
    """Runway's price for one picture at `ratio`: ratios with a side of 720 or less are 720p,
    the others 1080p (gen4_image: 5 and 8 credits)."""
    shape = parse_ratio(ratio)
    if shape is not None and min(shape) <= 720:
        return settings.runway_image_credits_720p
    return settings.runway_image_credits_1080p


def video_credits_per_second(settings: Settings, model: str) -> float:
    """Runway's price of a second of `model`'s clips, from RUNWAY_VIDEO_PRICES."""
    return settings.runway_video_prices.get(model, settings.runway_video_credits_per_second)


def image_ratio(settings: Settings, fmt: VideoFormat) -> str:
    """The ratio RunwayImageMaker asks the image model for, for a picture of `fmt`."""
    ratios = model_ratios(text_to_image_create_params.TextToImageCreateParams,
                          settings.runway_image_model)
    return choose_ratio(ratios, fmt.size)


def parse_ratio(value: str) -> tuple[int, int] | None:
    width, _, height = value.partition(":")
    if width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0:
        return int(width), int(height)
    return None

