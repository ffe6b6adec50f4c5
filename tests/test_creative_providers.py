"""Style, references and the motion model in the providers' requests, through the real SDKs
against the loopback fakes, which check every body against the API spec the SDK carries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.fakes.openai_edits import image_kind
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.runway_kit import Kit, decode_data_uri, still
from tests.fakes.runway_server import FakeRunway
from videobot.formats import VideoFormat
from videobot.media import probe
from videobot.providers.base import ProviderError, Reference
from videobot.providers.openai_api import OpenAIImageMaker
from videobot.settings import Settings
from videobot.style import StyleSheet, Subject

STYLE = StyleSheet(medium="paper cut-out collage", palette="teal, coral, ivory",
                   lighting="soft studio light",
                   subjects=[Subject(name="Ada", description="a red fox in a green scarf")])


@pytest.fixture
def openai_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def _openai(fake: FakeOpenAI, **overrides: Any) -> OpenAIImageMaker:
    values: dict[str, Any] = {"openai_api_key": "sk-test-key", "openai_base_url": fake.base_url,
                              "provider_backoff_seconds": 0.01, "video_scale": 1.0,
                              **overrides}
    return OpenAIImageMaker(Settings(_env_file=None, **values))  # type: ignore[call-arg]


def _photo(path: Path) -> Path:
    """A person's photo as Telegram sends one: a JPEG."""
    Image.new("RGB", (640, 480), (200, 150, 90)).save(path, format="JPEG")
    return path


def test_runway_image_carries_the_style_and_both_tagged_references(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """The person's photo and the first scene go as @photo and @look (the spec's tagged
    referenceImages); the prompt names both and carries the style sheet."""
    look = still(tmp_path / "scene-01.png", VideoFormat.LANDSCAPE)
    refs = [Reference(_photo(tmp_path / "me.jpg"), "photo"), Reference(look, "look")]
    kit().images.make_image("Ada crosses a bridge", "", 3, VideoFormat.LANDSCAPE,
                            tmp_path / "s.png", references=refs, style=STYLE)

    (post,) = runway.calls("POST", "/v1/text_to_image")
    assert post.status == 200, "the body fits Runway's spec for gen4_image"
    tags = [ref["tag"] for ref in post.body["referenceImages"]]
    assert tags == ["photo", "look"]
    assert decode_data_uri(post.body["referenceImages"][0]["uri"]).size == (640, 480)
    text = post.body["promptText"]
    assert text.startswith("Ada crosses a bridge")
    assert "palette: teal, coral, ivory" in text and "Ada: a red fox in a green scarf" in text
    assert "@photo" in text and "@look" in text


def test_runway_fake_refuses_what_the_spec_does_not_allow(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """The fake's spec check can fail: a veo clip of 5 s (veo makes 4, 6 or 8) is refused."""
    import runwayml

    client = runwayml.RunwayML(api_key=FakeRunway.API_KEY, base_url=runway.url, max_retries=0)
    with pytest.raises(runwayml.BadRequestError, match=r"duration: 5 is not one of \[4, 6, 8\]"):
        client.image_to_video.create(model="veo3.1_fast", prompt_image="https://x/a.png",
                                     ratio="1280:720", duration=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("model", "seconds", "audio"), [
    ("veo3.1_fast", 6, False), ("gen4.5", 5, None), ("gen4_turbo", 5, None),
])
def test_the_motion_model_reaches_the_runway_request(
    model: str, seconds: int, audio: bool | None,
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path,
) -> None:
    """The job's clip model is what Runway is asked for, at the shortest length it makes that
    covers a scene (veo: 6 s, without audio); the clip delivered is cut to the 5 s scene."""
    k = kit()
    image = still(tmp_path / "s.png", VideoFormat.LANDSCAPE)
    k.animator.animate(image, "slow push in", 5.0, VideoFormat.LANDSCAPE, tmp_path / "c.mp4",
                       model=model)
    (post,) = runway.calls("POST", "/v1/image_to_video")
    assert post.status == 200, "the body fits Runway's spec for the model"
    assert (post.body["model"], post.body["duration"]) == (model, seconds)
    assert post.body.get("audio") == audio
    assert probe(tmp_path / "c.mp4").duration == pytest.approx(5.0, abs=0.05)


def test_runway_credit_balance_is_read_from_the_organization(
    kit: Callable[..., Kit], runway: FakeRunway
) -> None:
    """The animator reads the organisation's credits (GET /v1/organization)."""
    runway.credit_balance = 321
    assert kit().animator.credit_balance() == 321
    assert runway.calls("GET", "/v1/organization")


def test_openai_image_with_references_is_an_edit_with_input_images(
    openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    """With references, the picture is an images/edits request (a redo keeps them): the
    person's photo first, then the approved scene, as image[] parts the spec takes; the prompt
    says what each is and carries the style sheet."""
    look = tmp_path / "scene-01.png"
    Image.new("RGB", (1280, 720), (30, 60, 90)).save(look)
    refs = [Reference(look, "look"), Reference(_photo(tmp_path / "me.jpg"), "photo")]
    out = tmp_path / "scene-04.png"
    _openai(openai_fake).make_image("Ada on a hill", "", 3, VideoFormat.LANDSCAPE, out,
                                    references=refs, style=STYLE)

    (edit,) = openai_fake.requests_to("images/edits")
    assert edit.status == 200, edit.reply
    assert [name for name, _ in edit.uploads] == ["image[]", "image[]"]
    assert [image_kind(u.data) for _, u in edit.uploads] == ["jpeg", "png"]
    prompt = edit.form["prompt"]
    assert "palette: teal, coral, ivory" in prompt
    assert "Input image 1 is the viewer's own photo" in prompt
    assert "Input image 2 is an approved scene" in prompt
    assert edit.form["model"] == "gpt-image-2" and "input_fidelity" not in edit.form
    assert not openai_fake.requests_to("images/generations")
    with Image.open(out) as image:
        assert image.size == VideoFormat.LANDSCAPE.size


def test_openai_image_without_references_is_generated_with_the_style(
    openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    """Without references it stays a generation, whose prompt carries the style sheet."""
    _openai(openai_fake).make_image("Ada on a hill", "", 0, VideoFormat.SQUARE,
                                    tmp_path / "s.png", style=STYLE)
    (generated,) = openai_fake.requests_to("images/generations")
    assert generated.status == 200
    assert "lighting: soft studio light" in str(generated.json["prompt"])  # type: ignore[index]


def test_openai_fake_refuses_an_edit_the_spec_does_not_allow(
    openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    """The fake's spec check can fail: input_fidelity with gpt-image-2 is refused (400)."""
    import openai

    client = openai.OpenAI(api_key="sk-test", base_url=openai_fake.base_url, max_retries=0)
    png = tmp_path / "a.png"
    Image.new("RGB", (64, 64)).save(png)
    with pytest.raises(openai.BadRequestError, match="input_fidelity"):
        client.images.edit(model="gpt-image-2", image=[png.open("rb")], prompt="x",
                           input_fidelity="high")


def test_an_unreadable_reference_is_left_out_of_the_edit(
    openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    """A reference that is not a picture only loses its look: the other one is still sent."""
    (tmp_path / "broken.png").write_text("not a picture")
    refs = [Reference(tmp_path / "broken.png", "look"), Reference(_photo(tmp_path / "p.jpg"),
                                                                  "photo")]
    _openai(openai_fake).make_image("x", "", 2, VideoFormat.SQUARE, tmp_path / "s.png",
                                    references=refs)
    (edit,) = openai_fake.requests_to("images/edits")
    assert len(edit.uploads) == 1 and edit.status == 200


def test_a_refused_edit_is_a_permanent_provider_error(
    openai_fake: FakeOpenAI, tmp_path: Path
) -> None:
    """An edit OpenAI refuses (400) fails the scene at once, not after four tries."""
    openai_fake.fail("images/edits", 400, message="Invalid image.")
    with pytest.raises(ProviderError):
        _openai(openai_fake).make_image(
            "x", "", 2, VideoFormat.SQUARE, tmp_path / "s.png",
            references=[Reference(_photo(tmp_path / "p.jpg"), "photo")],
        )
    assert len(openai_fake.requests_to("images/edits")) == 1
