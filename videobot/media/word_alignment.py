"""When each word of a narration starts and ends, from a speech engine's word events and the
sound itself (numpy: kept out of `word_timings`, which every flow-run process imports for its
captions, so starting one does not load numpy).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from videobot.media.word_timings import WordTiming, split_words, word_weight


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
