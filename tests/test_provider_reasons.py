"""What a person reads when a provider refuses or sends what we cannot use: the provider's own
words (one line, no keys, no file paths, no Python class names), and only the retries that can
help. Real SDK clients against the loopback fakes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.runway_kit import Kit, still
from tests.fakes.runway_server import FakeRunway
from tests.test_openai_providers import KEY, settings_for
from videobot.formats import VideoFormat
from videobot.providers.base import ProviderError
from videobot.providers.faults import quote_provider_text
from videobot.providers.openai_api import OpenAIImageMaker, OpenAINarrator, classify_openai_error
from videobot.providers.runway_api import classify_runway_error

VERIFY_ORG = (
    "Your organization must be verified to use the model `gpt-image-2`. Please go to: "
    "https://platform.openai.com/settings/organization/general and click on Verify "
    "Organization. If you just verified, it can take up to 15 minutes for access to propagate."
)
NOT_MP3 = b"\x00\x01garbage that is neither MP3 nor WAV" * 40
HTML_PAGE = b"<!DOCTYPE html><html><body><h1>Access denied</h1></body></html>"
# What must never reach a person: a class name, a memory address, a file path.
_LEAKS = re.compile(r"Error\b|Exception\b|\b0x[0-9a-f]|/tmp/|\.wav|\.download|\[in#")


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A fresh fake OpenAI server for each test."""
    with FakeOpenAI() as server:
        yield server


def _refusal(call: Callable[[], object]) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        call()
    assert not _LEAKS.search(caught.value.reason), caught.value.reason
    return caught.value


def test_unverified_organisation_is_told_on_every_image(fake: FakeOpenAI, tmp_path: Path) -> None:
    """A 403 "must be verified" is quoted for each scene, once per scene, without a retry."""
    fake.fail("images/generations", 403, message=VERIFY_ORG, times=3)
    maker = OpenAIImageMaker(settings_for(fake), sleep=lambda _: None)
    for scene in range(3):
        error = _refusal(lambda s=scene: maker.make_image(  # type: ignore[misc]
            "a volcano", "", s, VideoFormat.LANDSCAPE, tmp_path / f"{s}.png"
        ))
        assert error.permanent and "must be verified" in error.reason
        assert "platform.openai.com/settings/organization/general" in error.reason
    assert len(fake.requests_to("images/generations")) == 3


@pytest.mark.parametrize("status", [418, 422])
def test_unknown_status_quotes_openai(fake: FakeOpenAI, tmp_path: Path, status: int) -> None:
    """A status we have no words for still carries OpenAI's own message, and is not retried."""
    fake.fail("images/generations", status, message="The size 1000x1000 is not supported.")
    error = _refusal(lambda: OpenAIImageMaker(settings_for(fake)).make_image(
        "a volcano", "", 0, VideoFormat.SQUARE, tmp_path / "a.png"
    ))
    assert f"({status}): The size 1000x1000 is not supported." in error.reason
    assert len(fake.requests) == 1


def test_rejected_key_is_never_quoted(tmp_path: Path) -> None:
    """A 401 echoes part of the key, so its message stays out of the reason."""
    with FakeOpenAI(api_key="sk-the-right-one") as server:
        error = _refusal(lambda: OpenAIImageMaker(settings_for(server)).make_image(
            "a volcano", "", 0, VideoFormat.SQUARE, tmp_path / "a.png"
        ))
    assert "(401)" in error.reason and KEY[-4:] not in error.reason and "*" not in error.reason


def test_unreadable_speech_is_said_plainly_after_two_attempts(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """Audio ffmpeg cannot decode: a plain reason, asked for twice (each try is paid), no file."""
    fake.reply_media("audio/speech", NOT_MP3, times=4)
    narrator = OpenAINarrator(settings_for(fake), sleep=lambda _: None)
    error = _refusal(lambda: narrator.narrate("Hello there.", "en", tmp_path / "n.wav"))
    assert error.reason.startswith("OpenAI sent audio we could not read (")
    assert "format we do not know" in error.reason and "(after 2 attempts)" in error.reason
    assert len(fake.requests_to("audio/speech")) == 2 and not (tmp_path / "n.wav").exists()


def test_unreadable_picture_is_said_plainly(fake: FakeOpenAI, tmp_path: Path) -> None:
    """Image bytes that are a web page: "OpenAI sent a picture we could not read", two tries."""
    fake.reply_media("images/generations", HTML_PAGE, times=4)
    maker = OpenAIImageMaker(settings_for(fake), sleep=lambda _: None)
    error = _refusal(lambda: maker.make_image(
        "a volcano", "", 0, VideoFormat.SQUARE, tmp_path / "a.png"
    ))
    assert error.reason.startswith("OpenAI sent a picture we could not read (")
    assert "web page" in error.reason and len(fake.requests_to("images/generations")) == 2


def test_html_as_runway_picture(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A web page downloaded as the picture: a plain reason, and no second paid task."""
    runway.fail("/outputs/*", status=200, body=HTML_PAGE, headers={"Content-Type": "text/html"})
    error = _refusal(lambda: kit().images.make_image(
        "a fox", "", 0, VideoFormat.LANDSCAPE, tmp_path / "s.png"
    ))
    assert error.reason.startswith("Runway sent a file that is not a picture (")
    assert "web page" in error.reason and error.permanent and len(runway.created()) == 1


def test_html_as_runway_clip(kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path) -> None:
    """A web page downloaded as the clip: "Runway sent a file that is not a video"."""
    runway.fail("/outputs/*", status=200, body=HTML_PAGE, headers={"Content-Type": "text/html"})
    image = still(tmp_path / "still.png", VideoFormat.LANDSCAPE)
    error = _refusal(lambda: kit().animator.animate(
        image, "waves", 5.0, VideoFormat.LANDSCAPE, tmp_path / "c.mp4"
    ))
    assert error.reason.startswith("Runway sent a file that is not a video (")
    assert "web page" in error.reason and len(runway.created()) == 1


@pytest.mark.parametrize(("status", "body", "said"), [
    (403, {"error": "This organization is not allowed to use gen4_image."},
     "(HTTP 403): This organization is not allowed to use gen4_image."),
    (422, {"error": "Validation of body failed",
           "issues": [{"path": ["ratio"], "message": "Invalid enum value"}]},
     "(HTTP 422): Validation of body failed (ratio: Invalid enum value)"),
    (418, {"error": "I'm a teapot."}, "(HTTP 418): I'm a teapot."),
])
def test_runway_refusals_quote_runway(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path,
    status: int, body: dict[str, object], said: str,
) -> None:
    """Runway's own error text (and the field its validation names) is in the reason."""
    runway.fail("/v1/text_to_image", status=status, body=body)
    error = _refusal(lambda: kit().images.make_image(
        "a fox", "", 0, VideoFormat.LANDSCAPE, tmp_path / "s.png"
    ))
    assert said in error.reason and error.permanent and len(runway.calls("POST")) == 1


def test_quotes_lose_keys_paths_and_pages() -> None:
    """Quoted text keeps URLs but not keys, file paths, line breaks or web pages."""
    said = quote_provider_text(
        "Bad key sk-proj-abc123 for key_" + "0" * 64 + "\n in /tmp/x/speech.wav, see "
        "https://platform.openai.com/settings/organization/general"
    )
    assert "sk-proj" not in said and "key_0" not in said and "/tmp/" not in said
    assert "\n" not in said and "https://platform.openai.com/settings/organization/general" in said
    assert quote_provider_text("<html><body>502 Bad Gateway</body></html>") == ""
    assert len(quote_provider_text("word " * 200)) <= 300


def test_unexpected_errors_name_no_python_class() -> None:
    """An error we did not foresee is told in plain words, with its message but no class name."""
    openai_said = classify_openai_error(ValueError("the answer had no text"))
    runway_said = classify_runway_error(KeyError("output"))
    assert openai_said.reason == (
        "something went wrong while calling OpenAI (the answer had no text)"
    )
    assert runway_said.reason == "something went wrong while calling Runway ('output')"
    assert "Error" not in openai_said.reason + runway_said.reason


def test_server_trouble_quotes_openai_after_the_retries(fake: FakeOpenAI, tmp_path: Path) -> None:
    """A 503 that lasts through every attempt ends with OpenAI's own words and the count."""
    fake.fail("images/generations", 503, message="The engine is currently overloaded.", times=4)
    error = _refusal(lambda: OpenAIImageMaker(settings_for(fake), sleep=lambda _: None).make_image(
        "a volcano", "", 0, VideoFormat.SQUARE, tmp_path / "a.png"
    ))
    assert error.reason == (
        "OpenAI had a temporary problem (503): The engine is currently overloaded. "
        "(after 4 attempts)"
    )
