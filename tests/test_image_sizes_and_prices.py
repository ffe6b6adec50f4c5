"""The size OpenAI is asked for (the format's own shape where the model allows it), the picture
we keep (scaled, not cropped), and Runway's image price by the resolution asked for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.runway_kit import Kit
from tests.fakes.runway_server import FakeRunway
from tests.test_openai_providers import settings_for
from videobot.costs import image_stage_estimate
from videobot.formats import VideoFormat
from videobot.providers.openai_api import OpenAIImageMaker
from videobot.providers.runway_api.ratios import image_credits
from videobot.settings import Settings


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A fresh fake OpenAI server for each test."""
    with FakeOpenAI() as server:
        yield server


@pytest.mark.parametrize(("fmt", "asked"), [
    (VideoFormat.LANDSCAPE, "1536x864"),
    (VideoFormat.PORTRAIT, "864x1536"),
    (VideoFormat.SQUARE, "1024x1024"),
])
def test_gpt_image_2_is_asked_for_the_formats_shape(
    fake: FakeOpenAI, tmp_path: Path, fmt: VideoFormat, asked: str
) -> None:
    """gpt-image-2 gets the format's aspect ratio; the picture is scaled to the frame whole."""
    out = tmp_path / "a.png"
    OpenAIImageMaker(settings_for(fake)).make_image("a volcano", "", 0, fmt, out)
    assert fake.requests_to("images/generations")[0].json["size"] == asked  # type: ignore[index]
    with Image.open(out) as image:
        assert image.size == fmt.size
        width, height = image.size
        # The fake draws a white frame on its picture's edges: all four survive uncropped.
        edges = [(width // 2, 1), (width // 2, height - 2),
                 (1, height // 2), (width - 2, height // 2)]
        assert all(min(image.getpixel(xy)) > 200 for xy in edges)  # type: ignore[type-var]


def test_older_models_keep_their_fixed_sizes(fake: FakeOpenAI, tmp_path: Path) -> None:
    """gpt-image-1 only makes 1536x1024 for 16:9: asked that, then cropped to 1280x720."""
    out = tmp_path / "a.png"
    settings = settings_for(fake, openai_image_model="gpt-image-1")
    OpenAIImageMaker(settings).make_image("a volcano", "", 0, VideoFormat.LANDSCAPE, out)
    assert fake.requests_to("images/generations")[0].json["size"] == "1536x1024"  # type: ignore[index]
    with Image.open(out) as image:
        assert image.size == (1280, 720)


@pytest.mark.parametrize(("fmt", "ratio", "credits"), [
    (VideoFormat.LANDSCAPE, "1280:720", 5),
    (VideoFormat.PORTRAIT, "720:1280", 5),
    (VideoFormat.SQUARE, "1024:1024", 8),
])
def test_runway_image_ledger_follows_the_resolution(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path,
    fmt: VideoFormat, ratio: str, credits: int,
) -> None:
    """The ratio asked decides the price: 720p pictures cost 5 credits, 1080p ones 8."""
    k = kit()
    usage = k.images.make_image("a fox", "", 0, fmt, tmp_path / "s.png")
    assert runway.calls("POST")[0].body["ratio"] == ratio
    assert usage.units == credits == image_credits(k.settings, ratio)


def test_runway_image_estimate_follows_the_resolution(tmp_path: Path) -> None:
    """The images stage estimate prices 720p and 1080p pictures from their own settings."""
    settings = Settings(_env_file=None, image_provider="runway", data_dir=tmp_path)  # type: ignore[call-arg]
    assert image_stage_estimate(settings, 10, VideoFormat.LANDSCAPE) == pytest.approx(0.50)
    assert image_stage_estimate(settings, 10, VideoFormat.SQUARE) == pytest.approx(0.80)
    cheaper = settings.model_copy(update={"runway_image_credits_1080p": 6.0})
    assert image_stage_estimate(cheaper, 10, VideoFormat.SQUARE) == pytest.approx(0.60)
