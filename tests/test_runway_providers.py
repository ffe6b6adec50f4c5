"""Runway providers: what they ask Runway for and what they deliver, through the real
`runwayml` SDK talking to a fake Runway server on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr
from runwayml.types import image_to_video_create_params, text_to_image_create_params

from tests.fakes.runway_kit import Kit, decode_data_uri, still
from tests.fakes.runway_server import FakeRunway
from videobot.formats import FPS, VideoFormat
from videobot.media import probe
from videobot.providers.base import ProviderError, Reference
from videobot.providers.runway_api import (
    build_runway_client,
    choose_ratio,
    image_data_uri,
    model_ratios,
)
from videobot.providers.runway_api.media import PROMPT_LIMIT
from videobot.settings import Settings

IMAGE_RATIOS = {VideoFormat.LANDSCAPE: "1280:720", VideoFormat.PORTRAIT: "720:1280",
                VideoFormat.SQUARE: "1024:1024"}
VIDEO_RATIOS = {VideoFormat.LANDSCAPE: "1280:720", VideoFormat.PORTRAIT: "720:1280",
                VideoFormat.SQUARE: "960:960"}

@pytest.mark.parametrize("fmt", list(VideoFormat))
def test_image_request_and_result(
    fmt: VideoFormat, kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """An image task carries model, the format's ratio, the prompt and auth; the PNG is fmt.size."""
    k = kit()
    usage = k.images.make_image("a lighthouse at dusk", "Intro", 0, fmt, tmp_path / "s.png")

    (post,) = runway.calls("POST")
    assert post.path == "/v1/text_to_image"
    assert post.body == {"model": "gen4_image", "ratio": IMAGE_RATIOS[fmt],
                         "promptText": "a lighthouse at dusk"}
    assert post.headers["authorization"] == f"Bearer {FakeRunway.API_KEY}"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", post.headers["x-runway-version"])
    with Image.open(tmp_path / "s.png") as image:
        assert (image.format, image.size) == ("PNG", fmt.size)
    (task,) = runway.created()
    assert usage.provider == "runway" and usage.model == k.settings.runway_image_model
    credits = 8 if fmt is VideoFormat.SQUARE else 5  # 1024:1024 is a 1080p ratio
    assert (usage.units, usage.unit, usage.cost_usd) == (credits, "credits", credits / 100)
    assert (usage.request_id, usage.attempts) == (task.id, 1)


def test_reference_is_sent_as_tagged_data_uri(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A reference picture goes as a JPEG data URI with a tag that the prompt names."""
    ref = still(tmp_path / "ref.png", VideoFormat.LANDSCAPE)
    kit().images.make_image("a fox", "", 1, VideoFormat.LANDSCAPE, tmp_path / "s.png",
                            references=[Reference(ref, "look")])

    body = runway.calls("POST")[0].body
    (sent,) = body["referenceImages"]
    assert sent["tag"] == "look"
    assert decode_data_uri(sent["uri"]).size == VideoFormat.LANDSCAPE.size
    assert body["promptText"].startswith("a fox.")
    assert "@look" in body["promptText"]


def test_unreadable_reference_is_skipped(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A reference that is not a picture only loses the shared look; the image is still made."""
    (tmp_path / "ref.png").write_text("not a picture")
    kit().images.make_image("a fox", "", 1, VideoFormat.LANDSCAPE, tmp_path / "s.png",
                            references=[Reference(tmp_path / "ref.png", "look")])

    body = runway.calls("POST")[0].body
    assert "referenceImages" not in body and body["promptText"] == "a fox"
    assert (tmp_path / "s.png").is_file()


def test_credits_are_what_runway_charged(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """Usage counts the credits Runway reports for the task, not the configured estimate."""
    usage = kit(runway_image_credits_720p=99.0, runway_usd_per_credit=0.02).images.make_image(
        "a fox", "", 0, VideoFormat.LANDSCAPE, tmp_path / "s.png"
    )
    assert (usage.units, usage.cost_usd) == (5, 0.1)


def test_long_prompt_is_cut_but_keeps_the_reference(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A prompt over Runway's 1000-unit limit is cut, and the reference mention survives."""
    ref = still(tmp_path / "ref.png", VideoFormat.SQUARE)
    kit().images.make_image("word " * 600, "", 0, VideoFormat.SQUARE, tmp_path / "s.png",
                            references=[Reference(ref, "look")])

    text = runway.calls("POST")[0].body["promptText"]
    assert len(text.encode("utf-16-le")) // 2 <= PROMPT_LIMIT
    assert text.endswith("@look.")


@pytest.mark.parametrize("fmt", list(VideoFormat))
def test_clip_request_and_result(
    fmt: VideoFormat, kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A clip task sends model, ratio, 5 s and the image as a data URI; the clip plays at size."""
    k = kit()
    image = still(tmp_path / "s.png", fmt)
    usage = k.animator.animate(image, "slow push in", 5.0, fmt, tmp_path / "c.mp4")

    (post,) = runway.calls("POST")
    assert post.path == "/v1/image_to_video"
    body = dict(post.body)
    assert decode_data_uri(body.pop("promptImage")).size == fmt.size
    assert body == {"model": "gen4_turbo", "ratio": VIDEO_RATIOS[fmt], "duration": 5,
                    "promptText": "slow push in"}
    info = probe(tmp_path / "c.mp4")
    assert (info.video_codec, info.width, info.height) == ("h264", *fmt.size)
    assert (info.duration, info.fps) == (5.0, FPS)
    assert (usage.units, usage.cost_usd, usage.model, usage.attempts) == (25, 0.25,
                                                                          "gen4_turbo", 1)


def test_clip_of_another_size_is_fitted_to_the_format(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """When Runway returns another size, the clip is padded to fmt.size, 24 fps H.264 yuv420p."""
    runway.video_size = (1104, 832)
    fmt = VideoFormat.LANDSCAPE
    kit().animator.animate(still(tmp_path / "s.png", fmt), "pan", 5.0, fmt, tmp_path / "c.mp4")

    info = probe(tmp_path / "c.mp4")
    assert (info.width, info.height, info.fps, info.pix_fmt) == (1280, 720, FPS, "yuv420p")
    assert (info.video_codec, info.duration) == ("h264", 5.0)


def test_ratio_is_chosen_from_the_models_list() -> None:
    """Ratios come from the SDK's list for the model; an unknown model asks for fmt.size."""
    images = model_ratios(text_to_image_create_params.TextToImageCreateParams, "gen4_image")
    clips = model_ratios(image_to_video_create_params.ImageToVideoCreateParams, "gen4_turbo")
    for fmt in VideoFormat:
        assert choose_ratio(images, fmt.size) == IMAGE_RATIOS[fmt]
        assert choose_ratio(clips, fmt.size) == VIDEO_RATIOS[fmt]
    assert model_ratios(text_to_image_create_params.TextToImageCreateParams, "no-such") == ()
    assert choose_ratio([], (960, 960)) == "960:960"


def test_data_uri_shrinks_to_fit(tmp_path: Path) -> None:
    """A picture too big for the limit is re-encoded smaller until its data URI fits."""
    noisy = Image.effect_noise((1280, 720), 80).convert("RGB")
    noisy.save(tmp_path / "n.png")
    uri = image_data_uri(tmp_path / "n.png", limit=60_000)
    assert len(uri) <= 60_000 and decode_data_uri(uri).width < 1280


def test_client_has_no_sdk_retries(tmp_path: Path) -> None:
    """Our layer is the only retry layer; a missing key is a permanent error."""
    settings = Settings(runwayml_api_secret=SecretStr("key_x"), data_dir=tmp_path,
                        provider_connect_timeout_seconds=3.0,
                        provider_quick_read_timeout_seconds=12.0)
    with build_runway_client(settings) as client:
        assert client.max_retries == 0 and isinstance(client.timeout, httpx.Timeout)
        assert (client.timeout.connect, client.timeout.read) == (3.0, 12.0)
    with pytest.raises(ProviderError):
        build_runway_client(Settings(runwayml_api_secret=None, data_dir=tmp_path))
