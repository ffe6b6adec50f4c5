"""Forced alignment of a known script to bare narration audio (espeak-ng reference + DTW)."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from videobot.media.espeak_words import espeak_library_available, synthesize
from videobot.media.finishing import narration_timings
from videobot.media.forced_alignment import align_script, keep_inside_speech
from videobot.media.speech_spans import spread_over_speech
from videobot.media.word_alignment import align_word_starts
from videobot.media.word_timings import (
    WordTiming,
    read_word_timings,
    read_word_timings_source,
    word_timings_path,
)
from videobot.providers.offline.narrator import OfflineNarrator
from videobot.providers.offline.piper_narrator import PiperNarrator, piper_available

pytestmark = pytest.mark.skipif(not espeak_library_available(), reason="no libespeak-ng")

SENTENCES = {
    "en": ("The old lighthouse keeper climbed the stairs every evening to light the lamp "
           "for passing ships.",
           "One stormy night he saw a small boat fighting the waves near the rocks, and he "
           "rang the bell until dawn."),
    "ru": ("Старый смотритель маяка каждый вечер поднимался по лестнице, чтобы зажечь лампу "
           "для кораблей.",
           "Однажды бурной ночью он увидел маленькую лодку среди волн у скал и звонил в "
           "колокол до рассвета."),
}
# Another voice at another speed than the aligner's reference (its default voice, 175 wpm).
FOREIGN_VOICE = {"en": "en-us+f2", "ru": "ru+f2"}
PAUSE_SECONDS = 1.0


@dataclass(frozen=True)
class ForeignNarration:
    audio: Path
    text: str
    true_starts: list[float]
    pause: tuple[float, float]


def foreign_narration(language: str, folder: Path) -> ForeignNarration:
    """Two sentences in a foreign voice at 140 wpm with 1 s of silence put between them;
    the true word starts come from that synthesis itself, shifted past the pause."""
    first, second = SENTENCES[language]
    text = f"{first} {second}"
    speech = synthesize(text, FOREIGN_VOICE[language], 140)
    truth = align_word_starts(text, speech.word_starts, speech.samples, speech.rate)
    split = len(first.split())
    gap = (truth[split - 1].end + truth[split].start) / 2
    cut = int(gap * speech.rate)
    silence = np.zeros(int(PAUSE_SECONDS * speech.rate), dtype=np.int16)
    samples = np.concatenate([speech.samples[:cut], silence, speech.samples[cut:]])
    audio = folder / f"foreign-{language}.wav"
    with wave.open(str(audio), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(speech.rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    starts = [t.start + (PAUSE_SECONDS if i >= split else 0.0) for i, t in enumerate(truth)]
    return ForeignNarration(audio, text, starts, (gap, gap + PAUSE_SECONDS))


def start_errors(timings: list[WordTiming], truth: list[float]) -> np.ndarray:
    assert len(timings) == len(truth)
    return np.abs(np.array([t.start for t in timings]) - np.array(truth))


@pytest.mark.parametrize("language", ["en", "ru"])
def test_aligned_starts_match_a_foreign_voice_better_than_the_spread(
    language: str, tmp_path: Path
) -> None:
    """Aligned word starts are within 120 ms of the truth for >= 90% of words, no word lies
    over the inserted pause, and the alignment beats the spread over speech spans."""
    narration = foreign_narration(language, tmp_path)
    aligned = align_script(narration.audio, narration.text, language)
    assert aligned is not None
    errors = start_errors(aligned, narration.true_starts)
    spread_errors = start_errors(spread_over_speech(narration.audio, narration.text),
                                 narration.true_starts)
    print(f"{language}: aligned mean error {errors.mean() * 1000:.0f} ms, "
          f"spread mean error {spread_errors.mean() * 1000:.0f} ms")
    assert np.mean(errors <= 0.12) >= 0.9
    assert errors.mean() < spread_errors.mean()
    pause_from, pause_to = narration.pause
    inside = [w for w in aligned if w.end > pause_from + 0.05 and w.start < pause_to - 0.05]
    assert inside == []
    assert all(a.end <= b.start for a, b in zip(aligned, aligned[1:], strict=False))


@pytest.mark.skipif(not piper_available(), reason="piper-tts is not installed")
def test_aligned_starts_match_a_neural_voice(tmp_path: Path) -> None:
    """Against Piper's neural voice (another engine; its phoneme durations give the truth),
    aligned starts are within 120 ms for most words and far closer than the spread."""
    text = " ".join(SENTENCES["en"]) + " He never told anyone what he saw that night."
    out = tmp_path / "speech.wav"
    PiperNarrator(OfflineNarrator()).narrate(text, "en", out)
    if read_word_timings_source(word_timings_path(out)) != "piper":
        pytest.skip("this Piper install reports no phoneme durations")
    truth = [w.start for w in read_word_timings(word_timings_path(out))]
    bare = tmp_path / "bare.wav"  # the same audio without its sidecar
    bare.write_bytes(out.read_bytes())
    aligned = align_script(bare, text, "en")
    assert aligned is not None
    errors = start_errors(aligned, truth)
    spread_errors = start_errors(spread_over_speech(bare, text), truth)
    print(f"piper: aligned mean error {errors.mean() * 1000:.0f} ms "
          f"({np.mean(errors <= 0.12):.0%} within 120 ms), "
          f"spread mean error {spread_errors.mean() * 1000:.0f} ms")
    assert np.mean(errors <= 0.12) >= 0.85
    assert errors.mean() < spread_errors.mean() / 2


def test_bare_narration_gets_aligned_timings_kept_beside_it(tmp_path: Path) -> None:
    """A narration without a sidecar is aligned and its timings stored as "aligned"."""
    narration = foreign_narration("ru", tmp_path)
    words = narration_timings(narration.audio, narration.text, "ru")
    assert read_word_timings_source(word_timings_path(narration.audio)) == "aligned"
    assert np.mean(start_errors(words, narration.true_starts) <= 0.12) >= 0.9


def test_language_without_an_espeak_voice_falls_back_to_the_spread(tmp_path: Path) -> None:
    """A language the aligner has no voice for gives None; the timings are then spread."""
    narration = foreign_narration("en", tmp_path)
    assert align_script(narration.audio, narration.text, "xx") is None
    narration_timings(narration.audio, narration.text, "xx")
    assert read_word_timings_source(word_timings_path(narration.audio)) == "speech-spans"


def test_words_over_a_pause_are_moved_into_speech() -> None:
    """A word spanning a pause is cut to its speech; one inside the pause goes to the nearest."""
    spans = [(0.0, 1.0), (2.0, 3.0)]
    words = [WordTiming("across", 0.6, 1.5), WordTiming("lost", 1.7, 1.9),
             WordTiming("late", 2.1, 2.5)]
    kept = keep_inside_speech(words, spans)
    assert kept[0] == WordTiming("across", 0.6, 1.0)
    assert 2.0 <= kept[1].start < kept[1].end <= 3.0
    assert kept[2].start >= kept[1].end
