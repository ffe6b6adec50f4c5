"""When each word of a narration is spoken: the words of a text, their timings, the sidecar file.

A narration `speech.wav` has its timings beside it in `speech.words.json`, so captions (and a
rerun of the assembly) read them instead of paying for the narration again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videobot.media.files import atomic_output

_TOKEN = re.compile(r"\S+")
_WORDLIKE = re.compile(r"\w")
_SIDECAR_VERSION = 1


@dataclass(frozen=True)
class WordTiming:
    """One spoken word (with its punctuation, as written) and its span in seconds."""

    word: str
    start: float
    end: float


@dataclass(frozen=True)
class TextWord:
    """A word of the text and where it stands in it (character offsets, end exclusive)."""

    text: str
    begin: int
    end: int


def split_words(text: str) -> list[TextWord]:
    """The words of `text`: whitespace-separated tokens with a letter or digit.

    A token of punctuation only ("—", "…") is glued to the word before it (to the next one
    at the start), so every word shown is a word spoken.
    """
    words: list[TextWord] = []
    pending: TextWord | None = None  # leading punctuation, waiting for the first word
    for match in _TOKEN.finditer(text):
        token = TextWord(match.group(), match.start(), match.end())
        if _WORDLIKE.search(token.text):
            if pending is not None:
                token = TextWord(f"{pending.text} {token.text}", pending.begin, token.end)
                pending = None
            words.append(token)
        elif words:
            last = words[-1]
            words[-1] = TextWord(f"{last.text} {token.text}", last.begin, token.end)
        else:
            pending = token if pending is None else TextWord(
                f"{pending.text} {token.text}", pending.begin, token.end)
    return words


def word_weight(word: str) -> float:
    """How long a word takes to say, roughly: its vowel groups (syllables), at least one."""
    letters = "".join(ch for ch in word.lower() if ch.isalnum())
    syllables = len(re.findall(r"[aeiouyаеёиоуыэюя]+", letters))
    return float(max(1, syllables, len(letters) // 4))


def voiced_frames(samples: np.ndarray, rate: int, *, frame_seconds: float = 0.01,
                  floor_db: float = -45.0) -> np.ndarray:
    """Per 10 ms frame, whether it is sound (above `floor_db` of the loudest frame), not pause."""
    size = max(1, int(rate * frame_seconds))
    count = len(samples) // size
    if count == 0:
        return np.zeros(0, dtype=bool)
    frames = samples[: count * size].astype(np.float64).reshape(count, size) / 32768.0
    rms = np.sqrt(np.mean(frames**2, axis=1))
    floor = max(float(rms.max()) * 10 ** (floor_db / 20), 1e-4)
    return rms > floor


def align_word_starts(text: str, starts: Sequence[tuple[int, float]], samples: np.ndarray,
                      rate: int) -> list[WordTiming]:
    """Timings for the words of `text` from an engine's (character offset, start s) events.

    An event belongs to the word whose characters hold it (the next word if it points at a
    space); a word's slot runs to the next word's start, then is trimmed to the sound inside
    it, so the pause after a sentence is nobody's. Words the engine gave no event share the
    slot of the word before them, by weight.
    """
    words = split_words(text)
    if not words:
        return []
    first_start: list[float | None] = [None] * len(words)
    for offset, seconds in starts:
        index = next((i for i, w in enumerate(words) if offset < w.end), len(words) - 1)
        if first_start[index] is None:
            first_start[index] = seconds
    total = len(samples) / rate
    groups: list[tuple[float, list[int]]] = []  # (slot start, word indexes)
    for i, start in enumerate(first_start):
        if groups and (start is None or start < groups[-1][0]):
            groups[-1][1].append(i)
        else:
            groups.append((0.0 if start is None else start, [i]))
    voiced = voiced_frames(samples, rate)
    timings: list[WordTiming] = []
    for g, (slot_start, group) in enumerate(groups):
        slot_end = groups[g + 1][0] if g + 1 < len(groups) else total
        start, end = _trim_to_sound(voiced, slot_start, max(slot_end, slot_start))
        # The engine marks a word a few ms after its sound begins: take back that onset.
        floor = timings[-1].end if timings else 0.0
        while start - 0.01 >= floor and 0 < int(start * 100) <= len(voiced) \
                and voiced[int(start * 100) - 1]:
            start = round(start - 0.01, 3)
        start = max(start, floor)
        weights = [word_weight(words[i].text) for i in group]
        edge = start
        for i, weight in zip(group, weights, strict=True):
            step = (end - start) * weight / sum(weights)
            timings.append(WordTiming(words[i].text, round(edge, 3), round(edge + step, 3)))
            edge += step
    return timings


def _trim_to_sound(voiced: np.ndarray, start: float, end: float) -> tuple[float, float]:
    """The part of [start, end] from its first to its last sounding 10 ms frame."""
    first, last = int(start * 100), min(int(end * 100), len(voiced))  # whole frames before end
    inside = np.flatnonzero(voiced[first:last])
    if inside.size == 0:
        return start, end
    return float(first + inside[0]) / 100, min(end, float(first + inside[-1] + 1) / 100)


def word_timings_path(audio: Path) -> Path:
    """Where the timings of the narration `audio` live: beside it, `<name>.words.json`."""
    return Path(audio).with_suffix(".words.json")


def write_word_timings(path: Path, timings: Sequence[WordTiming], *, source: str) -> Path:
    """Store `timings` as JSON at `path`; `source` says how they were found (engine, spread)."""
    body = {
        "version": _SIDECAR_VERSION,
        "source": source,
        "words": [{"word": t.word, "start": t.start, "end": t.end} for t in timings],
    }
    with atomic_output(Path(path)) as tmp:
        tmp.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    return Path(path)


def read_word_timings(path: Path) -> list[WordTiming]:
    """The timings stored by `write_word_timings` (ValueError when the file is not one)."""
    body = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(body, dict) or body.get("version") != _SIDECAR_VERSION:
        raise ValueError(f"{Path(path).name} is not a word timings file")
    return [WordTiming(str(w["word"]), float(w["start"]), float(w["end"])) for w in body["words"]]


def read_word_timings_source(path: Path) -> str:
    """How the timings at `path` were found: "espeak-ng" (the engine) or "speech-spans"."""
    return str(json.loads(Path(path).read_text(encoding="utf-8")).get("source", ""))
