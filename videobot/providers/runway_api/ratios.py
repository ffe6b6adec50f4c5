"""Which pixel ratios a Runway model takes, which one fits a format, and what a picture costs."""

from __future__ import annotations

import functools
import math
import typing
from collections.abc import Sequence

from runwayml.types import text_to_image_create_params

from videobot.formats import VideoFormat
from videobot.settings import Settings


@functools.lru_cache(maxsize=32)
def model_ratios(params_union: object, model: str) -> tuple[str, ...]:
    """The pixel ratios ("1280:720") the installed SDK lists for `model`; () if it has none.

    The SDK's request types are generated from Runway's API spec, so they stay the truth for
    which ratios a model accepts; the model itself is a setting.
    """
    for params in typing.get_args(params_union):
        try:
            hints = typing.get_type_hints(params)
        except Exception:  # a schema the SDK cannot resolve says nothing about this model
            continue
        if typing.get_args(hints.get("model")) == (model,):
            values = typing.get_args(hints.get("ratio"))
            return tuple(v for v in values if isinstance(v, str) and parse_ratio(v))
    return ()


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

