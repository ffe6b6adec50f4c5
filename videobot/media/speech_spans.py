"""Word timings for a narration that came without them: the script spread over its speech.

ffmpeg's `silencedetect` finds the pauses; the speech is what lies between them. Each word is
given to one stretch of speech and a share of it by its length, so no word covers a pause.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from videobot.media.ffmpeg import FFmpegError, ffmpeg_exe, stderr_tail
from videobot.media.probe import probe
from videobot.media.word_timings import WordTiming, split_words, word_weight

_SILENCE = re.compile(r"silence_(start|end): (-?[\d.]+)")


def speech_spans(audio: Path, *, noise_db: float = -40.0,
                 min_silence: float = 0.25) -> list[tuple[float, float]]:
    """(start, end) seconds of each stretch of sound in `audio` between pauses of `min_silence`."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(audio), "-vn",
         "-af", f"silencedetect=noise={noise_db}dB:d={min_silence}", "-f", "null", "-"],
        capture_output=True, text=True, errors="replace", check=False,
    )
    if proc.returncode != 0:
        raise FFmpegError(f"finding the pauses in {Path(audio).name} failed: "
                          f"{stderr_tail(proc.stderr)}")
    duration = probe(audio).duration
    spans: list[tuple[float, float]] = []
    cursor = 0.0
    for kind, value in _SILENCE.findall(proc.stderr):
        seconds = min(max(float(value), 0.0), duration)
        if kind == "start":
            if seconds > cursor:
                spans.append((cursor, seconds))
            cursor = duration  # inside a pause until its end is seen
        else:
            cursor = seconds
    if cursor < duration:
        spans.append((cursor, duration))
    return [(round(a, 3), round(b, 3)) for a, b in spans if b - a >= 0.02]


def spread_over_spans(text: str, spans: Sequence[tuple[float, float]]) -> list[WordTiming]:
    """Timings for the words of `text` laid over `spans` by weight, each inside one span.

    A word goes to the span that holds its middle when all the speech is laid end to end;
    then each span is shared by its own words, so it is covered from its start to its end.
    """
    words = [w.text for w in split_words(text)]
    spans = [s for s in spans if s[1] > s[0]]
    if not words or not spans:
        return []
    weights = [word_weight(w) for w in words]
    total_weight = sum(weights)
    speech = sum(end - start for start, end in spans)
    bounds, edge = [], 0.0
    for start, end in spans:
        edge += end - start
        bounds.append(edge)
    owner: list[int] = []
    done = 0.0
    for weight in weights:
        middle = (done + weight / 2) / total_weight * speech
        done += weight
        owner.append(next((i for i, b in enumerate(bounds) if middle <= b), len(spans) - 1))
    timings: list[WordTiming] = []
    for index, (start, end) in enumerate(spans):
        mine = [i for i, o in enumerate(owner) if o == index]
        share = sum(weights[i] for i in mine)
        at = start
        for i in mine:
            step = (end - start) * weights[i] / share
            timings.append(WordTiming(words[i], round(at, 3), round(at + step, 3)))
            at += step
    return timings


def spread_over_speech(audio: Path, text: str) -> list[WordTiming]:
    """Timings for `text` spoken in `audio`, found from its pauses (no engine timings needed)."""
    return spread_over_spans(text, speech_spans(audio))
