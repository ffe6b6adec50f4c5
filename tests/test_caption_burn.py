"""Burning .ass captions into the final video with ffmpeg's libass filter, real ffmpeg."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from videobot.formats import VideoFormat
from videobot.media.assembly import AssemblyResult, assemble_video
from videobot.media.caption_files import filter_value
from videobot.media.ffmpeg import run_ffmpeg
from videobot.media.probe import extract_frame, probe

CUES = [(1.0, 4.0, "Привет"), (6.0, 9.0, "Hello world"), (11.0, 14.0, "Москва")]
ASS = """[Script Info]
ScriptType: v4.00+
PlayResX: 1280
PlayResY: 720

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, \
Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,DejaVu Sans,72,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,-1,0,0,0,100,100,\
0,0,1,3,0,2,40,40,60,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""
CAPTION_ROWS = slice(540, 700)  # bottom-centred text, 60 px above the bottom edge


def _stamp(seconds: float) -> str:
    return f"0:00:{seconds:05.2f}"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Quote, colon, brackets, comma, semicolon: each one means something in a filter graph.
    odd = tmp_path_factory.mktemp("captions") / "it's: [odd], dir; ok"
    odd.mkdir()
    return odd


@pytest.fixture(scope="module")
def inputs(folder: Path) -> tuple[list[Path], list[Path]]:
    clip = folder / "clip.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=0x204060:s=1280x720:r=24:d=5", "-c:v", "libx264",
                "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "48", str(clip)],
               what="making a clip")
    voices = []
    for i, seconds in enumerate((10, 15, 12)):
        voices.append(folder / f"voice-{i}.wav")
        run_ffmpeg(["-f", "lavfi", "-i", f"sine=frequency=400:duration={seconds}",
                    "-ar", "24000", str(voices[-1])], what="making a tone")
    return [clip] * 10, voices


@pytest.fixture(scope="module")
def captioned(inputs: tuple[list[Path], list[Path]], folder: Path) -> AssemblyResult:
    events = [f"Dialogue: 0,{_stamp(a)},{_stamp(b)},Default,,0,0,0,,{text}" for a, b, text in CUES]
    ass = folder / "captions.ass"
    ass.write_text(ASS + "\n".join(events) + "\n", encoding="utf-8")
    clips, voices = inputs
    return assemble_video(clips, voices, VideoFormat.LANDSCAPE, folder / "captioned.mp4",
                          captions=ass)


def _text_mask(video: Path, seconds: float, png: Path) -> np.ndarray:
    """Near-white pixels (the caption's fill) in the caption band of the frame at `seconds`."""
    with Image.open(extract_frame(video, seconds, png)) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)[CAPTION_ROWS]
    return np.all(pixels > 200, axis=2)


def test_captions_show_at_cue_midpoints_only(captioned: AssemblyResult, tmp_path: Path) -> None:
    """Text pixels appear mid-cue (Cyrillic and Latin) and are gone between cues."""
    for start, end, _ in CUES:
        assert _text_mask(captioned.path, (start + end) / 2, tmp_path / "c.png").sum() > 500
    assert _text_mask(captioned.path, 5.0, tmp_path / "gap.png").sum() == 0
    assert not captioned.video_copied
    assert probe(captioned.path).duration == pytest.approx(50.0, abs=0.1)


def test_cyrillic_renders_as_letters(captioned: AssemblyResult, tmp_path: Path) -> None:
    """Two six-letter Russian words draw differently; missing glyphs would be six equal boxes."""
    first = _text_mask(captioned.path, 2.5, tmp_path / "a.png")
    second = _text_mask(captioned.path, 12.5, tmp_path / "b.png")
    assert (first ^ second).sum() > 0.3 * max(first.sum(), second.sum())


def test_without_captions_there_is_no_text(
    inputs: tuple[list[Path], list[Path]], tmp_path: Path
) -> None:
    """The same inputs without captions: nothing white in the band, and clips stream-copied."""
    clips, voices = inputs
    plain = assemble_video(clips, voices, VideoFormat.LANDSCAPE, tmp_path / "plain.mp4")
    assert plain.video_copied
    assert _text_mask(plain.path, 2.5, tmp_path / "p.png").sum() == 0


def test_filter_value_escapes_both_levels() -> None:
    """Quote, colon and backslash are escaped for the option, then again with the graph's set."""
    assert filter_value("a'b:c") == "a\\\\\\'b\\\\:c"
    assert filter_value("[x],y;z") == "\\[x\\]\\,y\\;z"
