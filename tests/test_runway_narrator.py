"""The Runway narrator: what it asks Runway's text_to_speech for and the WAV it delivers,
through the real `runwayml` SDK talking to a fake Runway server on 127.0.0.1."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tasks.runtime import runtime
from tests.fakes.runway_kit import FakeTime
from tests.fakes.runway_server import FakeRunway
from tests.fakes.runway_tasks import speech_seconds
from videobot.media import audio_rms, probe
from videobot.providers.base import ProviderError
from videobot.providers.registry import build_providers
from videobot.providers.runway_api import (
    RunwayNarrator,
    build_download_client,
    build_runway_client,
    choose_voice,
    model_voices,
)
from videobot.providers.runway_api.speech import split_for_speech
from videobot.settings import ConfigurationError, Settings

ENGLISH = "Volcanoes form where molten rock rises. Pressure builds, and then the mountain speaks."
RUSSIAN = ("Вулканы рождаются там, где поднимается расплавленная порода. "
           "Давление растёт, и гора говорит.")

REPO = Path(__file__).resolve().parents[1]

Narrator = Callable[..., tuple[RunwayNarrator, FakeTime]]


def runway_settings(server: FakeRunway, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "runwayml_api_secret": SecretStr(FakeRunway.API_KEY),
        "runwayml_base_url": server.url,
        "data_dir": data_dir,
        "tts_provider": "runway",
        "provider_timeout_seconds": 30.0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def narrator(runway: FakeRunway, tmp_path: Path) -> Iterator[Narrator]:
    """Builds a RunwayNarrator on real clients pointed at the fake, with settings overrides."""
    with ExitStack() as stack:

        def build(**overrides: Any) -> tuple[RunwayNarrator, FakeTime]:
            settings = runway_settings(runway, tmp_path / "data", **overrides)
            client = stack.enter_context(build_runway_client(settings))
            downloads = stack.enter_context(build_download_client(settings))
            clock = FakeTime()
            made = RunwayNarrator(client, downloads, settings, sleep=clock.sleep, clock=clock.clock)
            return made, clock

        yield build


@pytest.mark.parametrize(("text", "language"), [(ENGLISH, "en"), (RUSSIAN, "ru")])
def test_request_follows_the_sdk_and_the_wav_lasts_the_speech(
    text: str, language: str, narrator: Narrator, runway: FakeRunway, tmp_path: Path
) -> None:
    """The task carries model, promptText and a runway-preset voice; the WAV is our format and
    lasts as long as Runway's audio; usage is the task's credits."""
    made, _ = narrator()
    usage = made.narrate(text, language, tmp_path / "intro.wav")

    (post,) = runway.calls("POST")
    assert post.path == "/v1/text_to_speech"
    assert post.body == {"model": "eleven_multilingual_v2", "promptText": text,
                         "voice": {"type": "runway-preset", "presetId": "Maya"}}
    assert post.headers["authorization"] == f"Bearer {FakeRunway.API_KEY}"
    info = probe(tmp_path / "intro.wav")
    assert (info.audio_codec, info.sample_rate, info.video_codec) == ("pcm_s16le", 24_000, None)
    assert info.duration == pytest.approx(speech_seconds(text), abs=0.06)
    (task,) = runway.created("speech")
    credits = math.ceil(len(text) / 50)
    assert (usage.provider, usage.model, usage.unit) == ("runway", "eleven_multilingual_v2",
                                                         "credits")
    assert (usage.units, usage.cost_usd) == (credits, credits * 0.01)
    assert (usage.request_id, usage.attempts) == (task.id, 1)


def test_polls_until_the_task_finishes(narrator: Narrator, tmp_path: Path) -> None:
    """A task still PENDING/RUNNING is polled again on the project's poll schedule: a queued
    (PENDING) task ever less often, a RUNNING one every 5 s."""
    runway_polls = FakeRunway(polls_to_finish=2)
    with runway_polls:
        made, clock = narrator(runwayml_base_url=runway_polls.url)
        made.narrate(ENGLISH, "en", tmp_path / "a.wav")

        assert [r.status for r in runway_polls.calls("GET", "/v1/tasks/")] == [200, 200, 200]
    assert clock.sleeps == [5.0, 7.5, 5.0]


def test_persons_runway_voice_is_used_and_other_names_fall_back(
    narrator: Narrator, runway: FakeRunway, tmp_path: Path
) -> None:
    """A Runway preset (any case) is sent as spelled by Runway; an OpenAI name such as alloy
    gets the configured RUNWAY_TTS_VOICE instead of failing."""
    made, _ = narrator(runway_tts_voice="Serene")
    made.narrate(ENGLISH, "en", tmp_path / "a.wav", voice="bernard")
    made.narrate(ENGLISH, "en", tmp_path / "b.wav", voice="alloy")

    sent = [c.body["voice"]["presetId"] for c in runway.calls("POST")]
    assert sent == ["Bernard", "Serene"]
    assert choose_voice(None, ("Maya",), "Maya") == "Maya"


def test_safety_failure_is_a_plain_refusal_without_retry(
    narrator: Narrator, runway: FakeRunway, tmp_path: Path
) -> None:
    """A FAILED task with a SAFETY code is not retried and reads as a content-filter refusal."""
    runway.script_task(status="FAILED", failure_code="SAFETY.INPUT.TEXT",
                       failure="Input text flagged by moderation.")
    made, _ = narrator()
    with pytest.raises(ProviderError) as caught:
        made.narrate(ENGLISH, "en", tmp_path / "a.wav")

    assert caught.value.kind == "safety"
    assert "content filter" in caught.value.reason and "rephrase" in caught.value.reason
    assert "Traceback" not in caught.value.reason and "TaskFailed" not in caught.value.reason
    assert len(runway.created("speech")) == 1
    assert not (tmp_path / "a.wav").exists()


def test_internal_failure_makes_a_new_task(
    narrator: Narrator, runway: FakeRunway, tmp_path: Path
) -> None:
    """A FAILED task with an INTERNAL code is replaced by a new one; the narration is made."""
    runway.script_task(status="FAILED", failure_code="INTERNAL.BAD_OUTPUT.CODE01")
    made, _ = narrator()
    usage = made.narrate(RUSSIAN, "ru", tmp_path / "a.wav")

    assert len(runway.created("speech")) == 2 and usage.attempts == 2
    assert probe(tmp_path / "a.wav").duration == pytest.approx(speech_seconds(RUSSIAN), abs=0.06)


def test_unreadable_audio_is_a_plain_permanent_reason(
    narrator: Narrator, runway: FakeRunway, tmp_path: Path
) -> None:
    """Output that is not audio (an HTML page) fails once, in words, without ffmpeg's text."""
    runway.fail("/outputs/*", status=200, body=b"<html><body>Bad gateway</body></html>",
                headers={"Content-Type": "text/html"})
    made, _ = narrator()
    with pytest.raises(ProviderError) as caught:
        made.narrate(ENGLISH, "en", tmp_path / "a.wav")

    assert caught.value.permanent
    assert caught.value.reason == "Runway sent audio we could not read"
    assert len(runway.created("speech")) == 1
    assert not (tmp_path / "a.wav").exists()


def test_long_text_is_spoken_in_sentence_pieces_and_joined(
    narrator: Narrator, runway: FakeRunway, tmp_path: Path
) -> None:
    """Text over promptText's 1000 code units is sent as whole sentences in several tasks; the
    WAV lasts all of them and the usage sums their credits."""
    text = " ".join([RUSSIAN] * 14)  # about 1300 characters
    made, _ = narrator()
    usage = made.narrate(text, "ru", tmp_path / "a.wav")

    sent = [c.body["promptText"] for c in runway.calls("POST")]
    assert len(sent) == 2 and " ".join(sent) == text
    assert all(len(p) <= 1000 and p.endswith(".") for p in sent)
    expected = sum(speech_seconds(p) for p in sent)
    assert probe(tmp_path / "a.wav").duration == pytest.approx(expected, abs=0.15)
    assert usage.units == sum(math.ceil(len(p) / 50) for p in sent)


def test_split_for_speech_cuts_sentences_then_words() -> None:
    """Pieces keep sentences whole, fall back to words, and never exceed the limit."""
    assert split_for_speech("One. Two!  Three?", 9) == ["One. Two!", "Three?"]
    assert split_for_speech("a " * 6, 5) == ["a a a", "a a a"]
    assert split_for_speech("x" * 12, 5) == ["xxxxx", "xxxxx", "xx"]
    assert split_for_speech(ENGLISH) == [ENGLISH]


def test_newer_models_get_the_language_as_a_hint(
    narrator: Narrator, runway: FakeRunway, tmp_path: Path
) -> None:
    """eleven_v3 takes languageCode, so the job's language is sent; v2 never gets it."""
    made, _ = narrator(runway_tts_model="eleven_v3")
    made.narrate(RUSSIAN, "ru", tmp_path / "a.wav")

    body = runway.calls("POST")[0].body
    assert (body["model"], body["languageCode"]) == ("eleven_v3", "ru")


def test_empty_text_is_refused_without_a_request(
    narrator: Narrator, runway: FakeRunway, tmp_path: Path
) -> None:
    """Nothing to say costs nothing: no task is made."""
    made, _ = narrator()
    with pytest.raises(ProviderError, match="no text to narrate"):
        made.narrate("   ", "en", tmp_path / "a.wav")
    assert runway.calls("POST") == []


def test_unknown_model_or_voice_stops_start_up_naming_the_setting(
    narrator: Narrator,
) -> None:
    """A model without preset voices, or a default voice Runway lacks, is refused at once."""
    with pytest.raises(ConfigurationError, match="RUNWAY_TTS_MODEL=seed_audio"):
        narrator(runway_tts_model="seed_audio")
    with pytest.raises(ConfigurationError, match="RUNWAY_TTS_VOICE=alloy"):
        narrator(runway_tts_voice="alloy")
    assert "Maya" in model_voices("eleven_multilingual_v2")


def test_registry_builds_the_runway_narrator(runway: FakeRunway, tmp_path: Path) -> None:
    """TTS_PROVIDER=runway with the key gives a RunwayNarrator; the rest stays offline."""
    providers = build_providers(runway_settings(runway, tmp_path))
    assert isinstance(providers.narrator, RunwayNarrator)
    assert (providers.images.name, providers.animator.name) == ("offline", "offline")
    providers.narrator.client.close()


def test_runway_narrator_without_a_key_is_refused(tmp_path: Path) -> None:
    """TTS_PROVIDER=runway without a key names RUNWAYML_API_SECRET before anything is built."""
    settings = Settings(tts_provider="runway", data_dir=tmp_path, runwayml_api_secret=None)
    assert settings.missing_keys() == ["RUNWAYML_API_SECRET"]
    with pytest.raises(ConfigurationError, match="RUNWAYML_API_SECRET"):
        build_providers(settings)


def test_runway_narration_offers_runway_voices(tmp_path: Path) -> None:
    """With Runway narrating, /settings offers Runway presets unless NARRATOR_VOICES is set."""
    assert Settings(tts_provider="runway", data_dir=tmp_path).narrator_voices[0] == "Maya"
    chosen = Settings(tts_provider="runway", data_dir=tmp_path, narrator_voices="Tom,Lisa")
    assert chosen.narrator_voices == ["Tom", "Lisa"]
    assert Settings(data_dir=tmp_path).narrator_voices[0] == "alloy"
    for name in Settings(tts_provider="runway", data_dir=tmp_path).narrator_voices:
        assert name in model_voices("eleven_multilingual_v2")


def test_whole_video_with_only_the_narrator_on_runway(
    prefect_server: str, runway: FakeRunway
) -> None:
    """`videobot make` with every provider offline but TTS_PROVIDER=runway delivers a video
    whose three narrations are Runway tasks in the ledger, paid in credits."""
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_server,
        "TTS_PROVIDER": "runway",
        "RUNWAY_API_KEY": FakeRunway.API_KEY, "RUNWAYML_BASE_URL": runway.url,
        "RUNWAY_POLL_SECONDS": "0.05",
    }
    done = subprocess.run(
        [sys.executable, "-m", "cli", "make", "Почему небо голубое", "--auto-approve"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert FakeRunway.API_KEY not in done.stdout + done.stderr

    line = next(x for x in done.stdout.splitlines() if x.startswith("Job "))
    job = runtime().store.find_job(line.split()[1])
    assert job.status == "delivered"
    final = Path(runtime().files.locate(job.final_path or ""))
    assert probe(final).duration == pytest.approx(50.0, abs=0.1)
    assert min(audio_rms(final, [(1, 10), (16, 28), (36, 45)])) > 0.01
    narration = [c for c in runtime().store.calls(job.id) if c.stage == "narration"]
    assert [(c.provider, c.outcome) for c in narration] == [("runway", "ok")] * 3
    assert all(c.cost_usd > 0 and c.request_id for c in narration)
    spoken = [t.body["promptText"] for t in runway.created("speech")]
    assert len(spoken) == 3 and all(any("а" <= ch <= "я" for ch in s) for s in spoken)
