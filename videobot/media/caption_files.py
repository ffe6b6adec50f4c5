"""Caption files: ASS (the spoken word highlighted, burned in by libass) and SRT (a sidecar),
and the ffmpeg filter that burns the ASS file in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path

from videobot.formats import VideoFormat
from videobot.media.captions import DEFAULT_POSITION, DEFAULT_SIZE, CaptionCue
from videobot.media.fonts import find_font

FONT_NAME = "DejaVu Sans"  # the family of the bundled DejaVuSans(-Bold).ttf
_WHITE, _YELLOW, _BLACK = "&H00FFFFFF", "&H0000E6FF", "&H00000000"  # ASS colours: AABBGGRR


def escape_ass(text: str) -> str:
    """User text as literal ASS text: braces do not open tags, backslashes start no codes."""
    # libass reads "\{" and "\}" as braces; a word joiner after "\" keeps "\N" from breaking.
    return (text.replace("\\", "\\\u2060").replace("{", "\\{").replace("}", "\\}")
            .replace("\n", " "))


def _ass_time(centiseconds: int) -> str:
    hours, rest = divmod(centiseconds, 360_000)
    minutes, rest = divmod(rest, 6_000)
    seconds, cs = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{cs:02d}"


def to_ass(
    cues: Sequence[CaptionCue],
    fmt: VideoFormat,
    *,
    size: float = DEFAULT_SIZE,
    position: float | None = None,
    highlight: str = _YELLOW,
) -> str:
    """An ASS script: one Dialogue per word being spoken, that word in `highlight`.

    `size` is the font size as a share of the shorter side; `position` the distance of the
    caption's bottom from the frame's bottom as a share of the height (per format by default).
    Consecutive states share their boundary times exactly, so nothing flickers or overlaps.
    """
    width, height = fmt.size
    font_px = max(12, round(min(width, height) * size))
    margin_v = round(height * (DEFAULT_POSITION[fmt] if position is None else position))
    margin_h = round(width * 0.08)
    lines = [
        "[Script Info]", "ScriptType: v4.00+", f"PlayResX: {width}", f"PlayResY: {height}",
        "WrapStyle: 0", "ScaledBorderAndShadow: yes", "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
        "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
        "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: Caption,{FONT_NAME},{font_px},{_WHITE},{highlight},{_BLACK},&H80000000,"
        f"-1,0,0,0,100,100,0,0,1,{max(2, font_px // 14)},0,2,{margin_h},{margin_h},"
        f"{margin_v},1",
        "", "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    for cue in cues:
        words = cue.words
        # Centisecond edges of each word's state, never going back in time.
        raw = [round(cue.start * 100), *(round(w.start * 100) for w in words[1:]),
               round(cue.end * 100)]
        edges = list(accumulate(raw, max))
        for i in range(len(words)):
            if edges[i + 1] <= edges[i]:
                continue
            text = " ".join(
                f"{{\\c{highlight}&}}{escape_ass(w.word)}{{\\c{_WHITE}&}}" if j == i
                else escape_ass(w.word)
                for j, w in enumerate(words)
            )
            lines.append(f"Dialogue: 0,{_ass_time(edges[i])},{_ass_time(edges[i + 1])},"
                         f"Caption,,0,0,0,,{text}")
    return "\n".join(lines) + "\n"


def _srt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{ms:03d}"


def to_srt(cues: Sequence[CaptionCue]) -> str:
    """SubRip text: per cue its number, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, the phrase, a blank."""
    blocks = [
        f"{n}\n{_srt_time(cue.start)} --> {_srt_time(cue.end)}\n{cue.text.replace(chr(10), ' ')}\n"
        for n, cue in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def filter_value(text: str) -> str:
    """`text` as one option value inside a filter graph (ffmpeg's two levels of escaping)."""
    option = re.sub(r"([\\':])", r"\\\1", text)  # inside the filter's option list
    return re.sub(r"([\\'\[\],;])", r"\\\1", option)  # inside the graph description


def caption_filter(captions: Path) -> str:
    """The libass filter burning `captions` in, with our Latin-and-Cyrillic font at hand."""
    font = find_font(bold=True) or find_font()
    fonts = f":fontsdir={filter_value(str(font.parent))}" if font else ""
    return f"ass=filename={filter_value(str(Path(captions).resolve()))}{fonts}"
