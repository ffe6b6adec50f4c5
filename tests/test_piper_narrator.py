"""The neural offline narrator: Piper's joe voice for English, espeak-ng for the rest."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from videobot.media.probe import audio_rms, probe
from videobot.media.word_timings import (
    read_word_timings,
    read_word_timings_source,
    split_words,
    word_timings_path,
)
from videobot.providers.offline.narrator import OfflineNarrator
from videobot.providers.offline.piper_narrator import (
    PiperNarrator,
    piper_available,
    words_over_spoken_spans,
)
from videobot.providers.registry import build_providers
from videobot.settings import Settings

pytestmark = pytest.mark.skipif(not piper_available(), reason="piper-tts is not installed")

# 37 words, the size of an English intro (15 s at 2.5 words/s).
INTRO = ("Every morning the old lighthouse keeper climbs two hundred steps to polish the great "
         "lamp. Ships have not passed here in years, yet he keeps the light burning. Tonight, "
         "a small white boat appears on the horizon.")


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One English narration of the intro (and the Usage's model), shared by the checks."""
    out = tmp_path_factory.mktemp("piper") / "speech.wav"
    usage = PiperNarrator(OfflineNarrator()).narrate(INTRO, "en", out, "alloy")
    assert (usage.provider, usage.units, usage.unit) == ("offline", len(INTRO), "characters")
    return out, usage.model


def test_english_is_audible_speech_that_fits_its_section(english: tuple[Path, str]) -> None:
    """English comes out as a 24 kHz mono 16-bit WAV of speech, a 37-word intro within 15 s."""
    out, model = english
    info = probe(out)
    assert model == "piper:en_US-joe-medium"
    assert (info.audio_codec, info.sample_rate) == ("pcm_s16le", 24000)
    with wave.open(str(out)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
    assert 8.0 < info.duration <= 15.0
    assert audio_rms(out, [(0, info.duration)])[0] > 0.02


def test_english_word_timings_are_one_per_word_in_order_and_on_speech(
        english: tuple[Path, str]) -> None:
    """The sidecar has each word once, in order, inside the audio, and every word is heard."""
    out, _ = english
    timings = read_word_timings(word_timings_path(out))
    assert read_word_timings_source(word_timings_path(out)) == "piper"
    assert [t.word for t in timings] == [w.text for w in split_words(INTRO)]
    duration = probe(out).duration
    for before, after in zip(timings, timings[1:], strict=False):
        assert before.start < before.end <= after.start + 1e-3
    assert timings[0].start >= 0 and timings[-1].end <= duration
    # Piper's silences are near zero and its words well above 0.01, but its voice is sampled
    # afresh each time and now and then breathes a lone "a" so softly that it measures as
    # silence (0.0003 in one of six runs). Timings off the speech would land words on pauses.
    loudness = audio_rms(out, [(t.start, t.end) for t in timings])
    unheard = [t.word for t, rms in zip(timings, loudness, strict=True) if rms <= 0.002]
    assert len(unheard) <= 1 and all(len(word.strip(",.")) <= 2 for word in unheard)


def test_russian_goes_to_espeak(tmp_path: Path) -> None:
    """A Russian narration is spoken by espeak-ng, and the Usage says so."""
    out = tmp_path / "ru.wav"
    usage = PiperNarrator(OfflineNarrator()).narrate("Маяк светит кораблям.", "ru", out)
    assert usage.model == "espeak-ng"
    assert probe(out).sample_rate == 24000


def test_words_are_matched_per_sentence_when_the_phonemizer_joins_two() -> None:
    """A sentence whose spoken words are fewer is spread over its own speech; the next
    sentence is still matched word for word."""
    spoken = [[(0.0, 0.4), (0.5, 1.0)], [(1.5, 1.8), (1.9, 2.2)]]
    timings = words_over_spoken_spans("Ships have not. He smiles.", spoken)
    assert [t.word for t in timings] == ["Ships", "have", "not.", "He", "smiles."]
    assert all(0.0 <= t.start < t.end <= 1.0 for t in timings[:3])
    assert [(t.start, t.end) for t in timings[3:]] == [(1.5, 1.8), (1.9, 2.2)]


@pytest.mark.parametrize(("engine", "expected"), [("piper", PiperNarrator),
                                                  ("espeak", OfflineNarrator)])
def test_registry_puts_piper_in_front_unless_espeak_is_asked(
        engine: str, expected: type, tmp_path: Path) -> None:
    """OFFLINE_VOICE_ENGINE=piper puts Piper in front of espeak-ng; espeak-ng alone otherwise."""
    settings = Settings(data_dir=tmp_path, offline_voice_engine=engine)  # type: ignore[arg-type]
    assert type(build_providers(settings).narrator) is expected
