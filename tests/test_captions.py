"""Captions: phrases within sentences, an SRT that matches the timings, ASS burned in by libass."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from videobot.formats import VideoFormat
from videobot.media.caption_files import escape_ass, to_ass, to_srt
from videobot.media.captions import caption_cues, caption_fonts_dir, phrases
from videobot.media.ffmpeg import run_ffmpeg
from videobot.media.fonts import find_font, load_font
from videobot.media.word_timings import WordTiming


def _timed(text: str, start: float = 0.0, step: float = 0.3) -> list[WordTiming]:
    return [WordTiming(w, round(start + i * step, 3), round(start + i * step + 0.25, 3))
            for i, w in enumerate(text.split())]


def test_phrases_stay_inside_sentences_and_have_two_to_six_words() -> None:
    """No phrase crosses . ! ? …; each has 2-6 words, except a one-word sentence."""
    words = _timed("One two three four five six seven eight nine, ten eleven. Yes! "
                   "Where does the road go … It goes home, to the sea, and back again today?")
    found = phrases(words)
    for phrase in found:
        assert 2 <= len(phrase) <= 6 or [w.word for w in phrase] == ["Yes!"]
        assert not any(w.word.endswith((".", "!", "?", "…")) for w in phrase[:-1])
    assert [w for p in found for w in p] == words


def test_srt_parses_back_to_the_timings() -> None:
    """Each SRT block: its number, times from the first word's start, the phrase's words."""
    intro, main = _timed("The sea is calm. Boats come home."), _timed("Night falls slowly.", 0.5)
    cues = caption_cues([intro, main, []], tempos=(1.0, 2.0, 1.0))
    blocks = to_srt(cues).strip().split("\n\n")
    assert len(blocks) == len(cues) == 3
    stamp = r"(\d\d):(\d\d):(\d\d),(\d{3})"
    pattern = re.compile(rf"(\d+)\n{stamp} --> {stamp}\n(.+)")
    for n, (block, cue) in enumerate(zip(blocks, cues, strict=True), start=1):
        m = pattern.fullmatch(block)
        assert m, block
        h, mi, s, ms = map(int, m.groups()[1:5])
        assert int(m.group(1)) == n
        assert abs(h * 3600 + mi * 60 + s + ms / 1000 - cue.words[0].start) < 0.002
        assert m.group(10) == cue.text
    assert cues[2].start == 15.0 + 0.5 / 2.0  # main section starts at 15 s, sped up 2x


def test_escaping_keeps_braces_and_backslashes_literal() -> None:
    """Braces become escaped braces and a backslash cannot start a code like \\N."""
    assert escape_ass("{a}") == "\\{a\\}"
    assert "\\N" not in escape_ass("x\\N")


def _render(ass: str, fmt: VideoFormat, at: float, tmp: Path) -> np.ndarray:
    (tmp / "c.ass").write_text(ass, encoding="utf-8")
    w, h = fmt.size
    run_ffmpeg(["-f", "lavfi", "-i", f"color=c=0x204060:s={w}x{h}:d=3:r=24",
                "-vf", f"ass={tmp / 'c.ass'}:fontsdir={caption_fonts_dir()}",
                "-ss", f"{at:.2f}", "-frames:v", "1", str(tmp / "f.png")], what="rendering")
    with Image.open(tmp / "f.png") as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_captions_render_in_the_lower_middle_band(tmp_path: Path) -> None:
    """9:16 and 1:1: caption pixels appear at a cue midpoint between 55% and 80% of the height."""
    cues = caption_cues([_timed("Маяк стоит на скале.", 0.5), [], []])
    for fmt in (VideoFormat.PORTRAIT, VideoFormat.SQUARE):
        frame = _render(to_ass(cues, fmt), fmt, (cues[0].start + cues[0].end) / 2, tmp_path)
        changed = np.abs(frame - frame[0, 0]).sum(axis=2) > 60
        rows = np.flatnonzero(changed.any(axis=1))
        h = fmt.size[1]
        assert rows.size, fmt
        assert 0.55 * h < rows.min() and rows.max() < 0.80 * h, (fmt, rows.min(), rows.max())
        yellow = (frame[..., 0] > 200) & (frame[..., 1] > 180) & (frame[..., 2] < 80)
        assert yellow.sum() > 50  # the word being spoken is highlighted


def test_bundled_font_has_cyrillic_glyphs() -> None:
    """Every Cyrillic letter has its own glyph in the caption font (no tofu box)."""
    assert find_font(bold=True) is not None
    font = load_font(48, bold=True)
    tofu = font.getmask("\uffff").getbbox()
    for ch in "МаякстоинглЖЁЯжёя":
        assert font.getmask(ch).getbbox() != tofu, ch
