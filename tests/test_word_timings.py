"""Word timings: from espeak-ng's own word events, or spread over the speech between pauses."""

from __future__ import annotations

import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from videobot.media.ffmpeg import run_ffmpeg
from videobot.media.probe import audio_rms
from videobot.media.speech_spans import speech_spans, spread_over_speech
from videobot.media.word_timings import (
    WordTiming,
    read_word_timings,
    read_word_timings_source,
    split_words,
    word_timings_path,
)
from videobot.providers.offline.narrator import OfflineNarrator

TEXTS = {
    "en": "A lighthouse stands on the cliff. Every night, its light turns slowly — and ships "
          "find their way home! Is it not a story of simple things?",
    "ru": "Маяк стоит на скале. Каждую ночь его свет медленно поворачивается, и корабли "
          "находят дорогу домой! Разве это не история о простых вещах?",
}
SILENCE_FLOOR = 0.01  # RMS of the pauses espeak-ng leaves is far below this (about 0)


def _check_inside_speech(audio: Path, text: str, timings: list[WordTiming]) -> None:
    assert [t.word for t in timings] == [w.text for w in split_words(text)]
    edges = [x for t in timings for x in (t.start, t.end)]
    assert edges == sorted(edges), "timings go back in time"
    assert all(t.end > t.start for t in timings)
    levels = audio_rms(audio, [(t.start, t.end) for t in timings])
    quiet = [(t.word, round(level, 4)) for t, level in zip(timings, levels, strict=True)
             if level <= SILENCE_FLOOR]
    assert not quiet, f"words over silence: {quiet}"


@pytest.mark.parametrize("language", ["en", "ru"])
def test_offline_narration_times_every_word_inside_speech(language: str, tmp_path: Path) -> None:
    """espeak-ng's timings: one per word, in order, each over sound, written beside the audio."""
    out = tmp_path / f"{language}.wav"
    OfflineNarrator(use_library=True).narrate(TEXTS[language], language, out, voice="Anna")
    sidecar = word_timings_path(out)
    assert sidecar.name == f"{language}.words.json"
    assert read_word_timings_source(sidecar) == "espeak-ng"
    timings = read_word_timings(sidecar)
    _check_inside_speech(out, TEXTS[language], timings)
    assert timings[-1].end <= audio_duration(out) + 0.01


def test_default_narrator_times_words_with_the_engine_and_repeats_exactly(
        tmp_path: Path) -> None:
    """By default the engine's own timings, English and Russian; the same text and voice give
    byte-identical audio, even when a Russian narration came between them in this process."""
    narrator = OfflineNarrator()
    narrator.narrate(TEXTS["en"], "en", tmp_path / "first.wav", voice="Anna")
    narrator.narrate(TEXTS["ru"], "ru", tmp_path / "ru.wav", voice="Anna")
    narrator.narrate(TEXTS["en"], "en", tmp_path / "again.wav", voice="Anna")
    for name in ("first", "ru", "again"):
        assert read_word_timings_source(word_timings_path(tmp_path / f"{name}.wav")) == "espeak-ng"
    assert (tmp_path / "first.wav").read_bytes() == (tmp_path / "again.wav").read_bytes()
    assert read_word_timings(word_timings_path(tmp_path / "first.wav")) == read_word_timings(
        word_timings_path(tmp_path / "again.wav"))


def test_narrations_from_three_threads_match_one_at_a_time(tmp_path: Path) -> None:
    """Three narrations at once (as three worker threads run them) equal serial ones, byte for
    byte, each with the engine's timings."""
    jobs = [("en", TEXTS["en"], "alloy"), ("ru", TEXTS["ru"], "coral"), ("en", TEXTS["en"], "x")]
    for i, (language, text, voice) in enumerate(jobs):
        OfflineNarrator().narrate(text, language, tmp_path / f"serial{i}.wav", voice)
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda job: OfflineNarrator().narrate(
            job[1][1], job[1][0], tmp_path / f"parallel{job[0]}.wav", job[1][2]),
            enumerate(jobs)))
    for i in range(len(jobs)):
        parallel = tmp_path / f"parallel{i}.wav"
        assert parallel.read_bytes() == (tmp_path / f"serial{i}.wav").read_bytes()
        assert read_word_timings_source(word_timings_path(parallel)) == "espeak-ng"


def test_pause_after_a_sentence_belongs_to_no_word(tmp_path: Path) -> None:
    """The pause after "cliff." lies between that word's end and the next word's start (±20 ms)."""
    out = tmp_path / "en.wav"
    OfflineNarrator(use_library=True).narrate(TEXTS["en"], "en", out)
    timings = read_word_timings(word_timings_path(out))
    cliff = next(i for i, t in enumerate(timings) if t.word == "cliff.")
    gap = (timings[cliff].end, timings[cliff + 1].start)
    assert gap[1] - gap[0] >= 0.15
    assert audio_rms(out, [(gap[0] + 0.02, gap[1] - 0.02)])[0] < SILENCE_FLOOR


def test_command_fallback_spreads_words_inside_speech(tmp_path: Path) -> None:
    """Without the library, the espeak-ng command's audio gets spread timings, each over sound."""
    out = tmp_path / "cli.wav"
    OfflineNarrator(use_library=False).narrate(TEXTS["en"], "en", out)
    assert read_word_timings_source(word_timings_path(out)) == "speech-spans"
    _check_inside_speech(out, TEXTS["en"], read_word_timings(word_timings_path(out)))


def audio_duration(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def test_spread_never_covers_a_deliberate_pause(tmp_path: Path) -> None:
    """Two sentences with 1.5 s of silence between: no word's span touches the pause."""
    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    OfflineNarrator(use_library=False).narrate("The tide comes in.", "en", first)
    OfflineNarrator(use_library=False).narrate("Then it goes out again, quietly.", "en", second)
    rate = 24_000
    parts = []
    for path in (first, second):
        with wave.open(str(path)) as wav:
            parts.append(np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2"))
    pause_start = len(parts[0]) / rate
    joined = tmp_path / "joined.wav"
    with wave.open(str(joined), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.concatenate([parts[0], np.zeros(int(1.5 * rate), "<i2"),
                                        parts[1]]).tobytes())
    text = "The tide comes in. Then it goes out again, quietly."
    timings = spread_over_speech(joined, text)
    pause = (pause_start, pause_start + 1.5)
    assert len(timings) == 10
    for t in timings:
        assert t.end <= pause[0] + 0.05 or t.start >= pause[1] - 0.05, t
    _check_inside_speech(joined, text, timings)


def test_speech_spans_are_the_complement_of_silences(tmp_path: Path) -> None:
    """A tone, 1 s of silence, a tone: two spans, split at the silence."""
    audio = tmp_path / "tones.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=440:d=1", "-f", "lavfi", "-i", "anullsrc=r=24000:d=1",
                "-f", "lavfi", "-i", "sine=f=440:d=1", "-filter_complex",
                "[0:a]aresample=24000[a];[2:a]aresample=24000[c];[a][1:a][c]concat=n=3:v=0:a=1",
                "-ac", "1", str(audio)], what="making tones")
    spans = speech_spans(audio)
    assert len(spans) == 2
    assert spans[0][0] == pytest.approx(0.0, abs=0.05)
    assert spans[0][1] == pytest.approx(1.0, abs=0.05)
    assert spans[1][0] == pytest.approx(2.0, abs=0.05)


def test_punctuation_only_tokens_join_a_word() -> None:
    """A dash or ellipsis standing alone is shown with the word before it, not timed alone."""
    assert [w.text for w in split_words("— Well … it is 42 km.")] == [
        "— Well …", "it", "is", "42", "km."]
