"""The OpenAI image, speech and transcription providers, and error classification: the real
`openai` client against a fake OpenAI server on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest
from PIL import Image

from tests.fakes.openai_server import FakeOpenAI
from tests.serving import REPO
from tests.test_openai_providers import KEY, settings_for
from videobot.formats import VideoFormat
from videobot.media.ffmpeg import ffmpeg_exe
from videobot.media.probe import probe
from videobot.providers.base import ProviderError
from videobot.providers.faults import Fault
from videobot.providers.openai_api import (
    OpenAIImageMaker,
    OpenAINarrator,
    OpenAITranscriber,
    classify_openai_error,
)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A fresh fake OpenAI server for each test."""
    with FakeOpenAI() as server:
        yield server


def test_dropped_connection_is_retried(fake: FakeOpenAI, tmp_path: Path) -> None:
    """A connection closed without an answer counts as transient and is retried."""
    fake.drop("images/generations")
    settings = settings_for(fake)
    usage = OpenAIImageMaker(settings, sleep=lambda _: None).make_image(
        "a volcano", "", 0, VideoFormat.SQUARE, tmp_path / "a.png"
    )
    assert usage.attempts == 2 and (tmp_path / "a.png").is_file()


def test_a_stopping_process_does_not_wait_for_an_image_being_drawn(tmp_path: Path) -> None:
    """Told to stop (a cancelled run) while OpenAI draws an image, the call ends at once with
    ProcessStopping: the request is left to end with the process, not waited for until its
    read timeout (here 60 s), and it is not sent again. In a process of its own: the stop is
    for the whole process."""
    script = textwrap.dedent(f"""
        import threading, time
        from pathlib import Path
        from tests.fakes.openai_server import FakeOpenAI
        from tests.test_openai_providers import settings_for
        from videobot.formats import VideoFormat
        from videobot.providers.openai_api import OpenAIImageMaker
        from videobot.stopping import ProcessStopping, stop_waiting
        with FakeOpenAI() as fake:
            fake.delay("images/generations", 600)
            maker = OpenAIImageMaker(settings_for(fake, provider_timeout_seconds=60))
            threading.Timer(1.0, stop_waiting).start()
            started = time.monotonic()
            try:
                maker.make_image("a volcano", "", 0, VideoFormat.SQUARE,
                                 Path({str(tmp_path / "a.png")!r}))
            except ProcessStopping:
                print("stopped", time.monotonic() - started < 30,
                      len(fake.requests_to("images/generations")))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=240)
    assert done.stdout.split() == ["stopped", "True", "1"], done.stderr
    assert not (tmp_path / "a.png").exists()


def test_out_of_quota_429_is_permanent(fake: FakeOpenAI, tmp_path: Path) -> None:
    """A 429 insufficient_quota is a billing problem: no retry, a reason about credit."""
    fake.fail("images/generations", 429, code="insufficient_quota")
    with pytest.raises(ProviderError) as caught:
        OpenAIImageMaker(settings_for(fake)).make_image(
            "a volcano", "", 0, VideoFormat.SQUARE, tmp_path / "a.png"
        )
    assert caught.value.permanent and "credit" in caught.value.reason
    assert len(fake.requests) == 1 and not (tmp_path / "a.png").exists()


def test_safety_rejection_is_not_retried(fake: FakeOpenAI, tmp_path: Path) -> None:
    """An image refused by the safety system fails once with kind 'safety'."""
    fake.fail("images/generations", 400, code="moderation_blocked",
              message="Your request was rejected by the safety system.")
    with pytest.raises(ProviderError) as caught:
        OpenAIImageMaker(settings_for(fake)).make_image(
            "a volcano", "", 0, VideoFormat.SQUARE, tmp_path / "a.png"
        )
    assert caught.value.kind == "safety" and len(fake.requests) == 1


@pytest.mark.parametrize(("fmt", "size"), [(VideoFormat.LANDSCAPE, "1536x1024"),
                                           (VideoFormat.PORTRAIT, "1024x1536"),
                                           (VideoFormat.SQUARE, "1024x1024")])
def test_image_is_requested_and_fitted_to_the_format(
    fake: FakeOpenAI, tmp_path: Path, fmt: VideoFormat, size: str
) -> None:
    """The image request names model, size and quality; the PNG is cropped to the video size."""
    settings = settings_for(fake, openai_image_model="image-model-x", openai_image_quality="high",
                            price_openai_image=0.07)
    out = tmp_path / "scene.png"
    usage = OpenAIImageMaker(settings).make_image(
        "a volcano at dusk", "caption", 2, fmt, out
    )
    body = fake.requests[0].json
    assert body is not None
    assert (body["model"], body["size"], body["quality"]) == ("image-model-x", size, "high")
    assert body["prompt"] == "a volcano at dusk" and "response_format" not in body
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == fmt.size
    assert (usage.units, usage.unit, usage.cost_usd) == (1, "images", 0.07)


def test_narration_is_a_wav_from_the_configured_voice(fake: FakeOpenAI, tmp_path: Path) -> None:
    """Speech names model, voice, speed and wav; the file is 24 kHz mono; chars are priced."""
    settings = settings_for(fake, openai_tts_model="tts-x", openai_tts_voice="coral",
                            openai_tts_speed=1.2, price_tts_per_mchar=20.0)
    text = "Deep below, rock melts into magma and rises to the surface."
    out = tmp_path / "intro.wav"
    usage = OpenAINarrator(settings).narrate(text, "en", out)
    body = fake.requests[0].json
    assert body == {"model": "tts-x", "voice": "coral", "input": text,
                    "response_format": "wav", "speed": 1.2}
    with wave.open(str(out)) as audio:
        assert (audio.getframerate(), audio.getnchannels()) == (24_000, 1)
    assert probe(out).duration > 1
    assert usage.units == len(text) and usage.cost_usd == pytest.approx(len(text) * 20e-6)


def test_the_persons_chosen_voice_replaces_the_configured_one(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    settings = settings_for(fake, openai_tts_voice="coral")
    OpenAINarrator(settings).narrate("Tides rise twice a day.", "en", tmp_path / "a.wav", "sage")
    assert fake.requests[0].json["voice"] == "sage"  # type: ignore[index]


def test_overlong_narration_is_refused_without_a_request(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """Text over 4096 characters is refused before anything is sent or paid for."""
    with pytest.raises(ProviderError) as caught:
        OpenAINarrator(settings_for(fake)).narrate("a" * 4097, "en", tmp_path / "x.wav")
    assert caught.value.permanent and "4096" in caught.value.reason
    assert fake.requests == []


@pytest.fixture
def voice_note(tmp_path: Path) -> Path:
    """A real 1.5-second Opus voice note in an ogg file."""
    path = tmp_path / "note.oga"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", "sine=frequency=440:duration=1.5", "-c:a", "libopus", "-f", "ogg",
                    str(path)], check=True)
    return path


def test_voice_note_is_uploaded_as_ogg_and_transcribed(
    fake: FakeOpenAI, voice_note: Path
) -> None:
    """The upload is named voice.ogg; text and language come back; seconds are priced."""
    fake.transcript = "  How do volcanoes work?  "
    settings = settings_for(fake, openai_stt_model="stt-x", price_stt_per_minute=0.6)
    transcript, usage = OpenAITranscriber(settings).transcribe(voice_note)
    upload = fake.requests[0].files["file"]
    assert upload.filename == "voice.ogg" and upload.data == voice_note.read_bytes()
    assert fake.requests[0].form["model"] == "stt-x"
    assert (transcript.text, transcript.language) == ("How do volcanoes work?", "en")
    assert usage.unit == "seconds" and usage.units == pytest.approx(1.5, abs=0.1)
    assert usage.cost_usd == pytest.approx(usage.units / 60 * 0.6)


def test_transcript_language_is_detected_when_not_reported(
    fake: FakeOpenAI, voice_note: Path
) -> None:
    """Without a language in the reply, the transcript's own script decides it."""
    fake.transcript, fake.transcript_language = "Почему небо голубое", None
    transcript, _ = OpenAITranscriber(settings_for(fake)).transcribe(voice_note)
    assert transcript.language == "ru"


def test_silent_voice_note_is_a_clear_permanent_error(fake: FakeOpenAI, voice_note: Path) -> None:
    """An empty transcription fails permanently with a reason a person understands."""
    fake.reply_text("audio/transcriptions", "   ")
    with pytest.raises(ProviderError) as caught:
        OpenAITranscriber(settings_for(fake)).transcribe(voice_note)
    assert caught.value.permanent and "could not hear any words" in caught.value.reason


def _status_error(status: int, code: str | None = None) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/responses")
    body = {"message": f"Incorrect API key provided: {KEY}", "code": code}
    response = httpx2.Response(status, request=request, json={"error": body})
    return openai.APIStatusError(f"Error code: {status}", response=response, body=body)


@pytest.mark.parametrize(("status", "fault"), [
    (400, Fault.PERMANENT), (403, Fault.PERMANENT), (404, Fault.PERMANENT),
    (408, Fault.TRANSIENT), (409, Fault.TRANSIENT), (422, Fault.PERMANENT),
    (429, Fault.TRANSIENT), (500, Fault.TRANSIENT), (502, Fault.TRANSIENT),
    (503, Fault.TRANSIENT), (504, Fault.TRANSIENT),
])
def test_status_codes_are_classified(status: int, fault: Fault) -> None:
    """Each HTTP status maps to its fault kind, and no reason repeats a key."""
    found = classify_openai_error(_status_error(status))
    assert found.fault is fault and KEY not in found.reason and f"({status}" in found.reason
