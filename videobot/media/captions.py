"""Captions from word timings: short phrases, the spoken word highlighted (ASS), and an SRT.

Pure functions: the cues are computed from the three sections' timings; `to_ass` and `to_srt`
turn them into files' text. The ASS is burned in with ffmpeg's `ass` filter, with
`fontsdir` = `caption_fonts_dir()` so the bundled DejaVu (Latin and Cyrillic) is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from videobot.formats import SECTIONS, VideoFormat
from videobot.media.fonts import find_font
from videobot.media.word_timings import WordTiming

MIN_WORDS, MAX_WORDS = 2, 6
_SENTENCE_END = (".", "!", "?", "…")
_CLAUSE_END = (",", ";", ":", "—", "–")
_CLOSERS = "\"'»”’)]"
_HOLD_SECONDS = 0.4  # a phrase stays this long after its last word, unless the next one starts

# Distance of the caption's baseline from the bottom, as a share of the height: 9:16 and 1:1
# keep above the platforms' own bottom bar (title, description, ~20 %) and are centred, away
# from the like/share column on the right; 16:9 sits low, as broadcast subtitles do.
DEFAULT_POSITION = {VideoFormat.PORTRAIT: 0.25, VideoFormat.SQUARE: 0.22,
                    VideoFormat.LANDSCAPE: 0.07}
DEFAULT_SIZE = 0.068  # font size as a share of the shorter side


@dataclass(frozen=True)
class CaptionCue:
    """One phrase on screen from `start` to `end` (video seconds), its words timed likewise."""

    start: float
    end: float
    words: tuple[WordTiming, ...]

    @property
    def text(self) -> str:
        return " ".join(w.word for w in self.words)


def _ends_with(word: str, marks: tuple[str, ...]) -> bool:
    return word.rstrip(_CLOSERS).endswith(marks)


def sentences(words: Sequence[WordTiming]) -> list[list[WordTiming]]:
    """The words split after each one that ends a sentence (. ! ? …)."""
    found: list[list[WordTiming]] = [[]]
    for word in words:
        found[-1].append(word)
        if _ends_with(word.word, _SENTENCE_END):
            found.append([])
    return [s for s in found if s]


def _split_sentence(words: list[WordTiming]) -> list[list[WordTiming]]:
    """A sentence cut into phrases of 2-6 words, evenly, preferring cuts after a comma."""
    n = len(words)
    if n <= MAX_WORDS:
        return [words]
    # best[i]: (cost, cut positions) for the first i words; dynamic programming over cuts.
    best: dict[int, tuple[float, list[int]]] = {0: (0.0, [])}
    for i in range(MIN_WORDS, n + 1):
        options = []
        for size in range(MIN_WORDS, MAX_WORDS + 1):
            if i - size in best:
                cost, cuts = best[i - size]
                clause = i == n or _ends_with(words[i - 1].word, _CLAUSE_END)
                options.append((cost + (size - 4) ** 2 + (0 if clause else 3), [*cuts, i]))
        if options:
            best[i] = min(options, key=lambda option: option[0])
    cuts = [0, *best[n][1]]
    return [words[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]


def phrases(words: Sequence[WordTiming]) -> list[list[WordTiming]]:
    """Phrases of about 2-6 words, never across a sentence end (a 1-word sentence stays one)."""
    return [phrase for sentence in sentences(words) for phrase in _split_sentence(sentence)]


def caption_cues(
    sections: Sequence[Sequence[WordTiming]],
    tempos: Sequence[float] = (1.0, 1.0, 1.0),
) -> list[CaptionCue]:
    """Cues on the video's clock from each section's narration timings.

    Section i's narration starts at its section's start (0, 15, 35 s) and plays `tempos[i]`
    times faster (the assembly's speed-up), so its words move accordingly.
    """
    placed: list[list[WordTiming]] = []
    for section, timings, tempo in zip(SECTIONS, sections, tempos, strict=True):
        shift = section.start_seconds
        moved = [WordTiming(w.word, round(shift + w.start / tempo, 3),
                            round(shift + w.end / tempo, 3)) for w in timings]
        placed.extend(phrases(moved))
    cues: list[CaptionCue] = []
    for i, phrase in enumerate(placed):
        end = phrase[-1].end + _HOLD_SECONDS
        if i + 1 < len(placed):
            end = min(end, max(phrase[-1].end, placed[i + 1][0].start))
        cues.append(CaptionCue(phrase[0].start, round(end, 3), tuple(phrase)))
    return cues


def caption_fonts_dir() -> Path | None:
    """The folder holding the caption font, for the `ass` filter's `fontsdir`."""
    font = find_font(bold=True) or find_font()
    return font.parent if font else None
