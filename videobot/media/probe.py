"""What is in a media file, read from `ffmpeg -i` (imageio-ffmpeg ships no ffprobe)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from videobot.media.ffmpeg import FFmpegError, ffmpeg_exe, run_ffmpeg, stderr_tail

_RMS_RATE = 16_000


@dataclass(frozen=True)
class MediaInfo:
    """The first video and first audio stream of a file; None where a stream or field is absent."""

    duration: float
    video_codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    pix_fmt: str | None
    audio_codec: str | None
    sample_rate: int | None
    size_bytes: int
    video_profile: str | None = None  # e.g. "High"; clips of one profile share stream headers

    @property
    def video_params(self) -> tuple[object, ...]:
        """What must match between clips for them to be joined without re-encoding."""
        return (
            self.video_codec, self.video_profile, self.width, self.height, self.fps, self.pix_fmt
        )


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #\d+:\d+\S*: (Video|Audio): (.*)$", re.MULTILINE)
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})\b")
_FPS = re.compile(r"^(\d+(?:\.\d+)?)(k?) fps$")
_RATE = re.compile(r"^(\d+) Hz$")
_INPUT = re.compile(r"^Input #(\d+), ", re.MULTILINE)
_PROFILE = re.compile(r"^\S+ \(([^)/]+)\)")


def _split_top(text: str) -> list[str]:
    """Split a stream description on commas that are not inside parentheses or brackets."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def parse_ffmpeg_info(stderr: str, size_bytes: int) -> MediaInfo:
    """Build MediaInfo from the stderr of `ffmpeg -i FILE`."""
    duration = 0.0
    if match := _DURATION.search(stderr):
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    video: list[str] | None = None
    audio: list[str] | None = None
    for kind, description in _STREAM.findall(stderr):
        if kind == "Video" and video is None and "(attached pic)" not in description:
            video = _split_top(description)
        elif kind == "Audio" and audio is None:
            audio = _split_top(description)
    width = height = sample_rate = None
    fps = None
    pix_fmt = None
    if video is not None:
        if len(video) > 1 and not _SIZE.match(video[1]):
            pix_fmt = video[1].split("(")[0].strip()
        for part in video[1:]:
            if (size := _SIZE.match(part)) and width is None:
                width, height = int(size.group(1)), int(size.group(2))
            elif rate := _FPS.match(part):
                fps = float(rate.group(1)) * (1000 if rate.group(2) else 1)
    if audio is not None:
        for part in audio[1:]:
            if hz := _RATE.match(part):
                sample_rate = int(hz.group(1))
    profile = _PROFILE.match(video[0]) if video else None
    return MediaInfo(
        duration=duration,
        video_codec=video[0].split()[0] if video else None,
        width=width,
        height=height,
        fps=fps,
        pix_fmt=pix_fmt,
        audio_codec=audio[0].split()[0] if audio else None,
        sample_rate=sample_rate,
        size_bytes=size_bytes,
        video_profile=profile.group(1) if profile else None,
    )


def probe(path: Path | str) -> MediaInfo:
    """Duration and stream parameters of a media file; FFmpegError if ffmpeg cannot read it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such media file: {path}")
    # With no output file ffmpeg prints the input description and exits with status 1.
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    if "Input #0" not in proc.stderr:
        raise FFmpegError(f"cannot read {path.name}: {stderr_tail(proc.stderr, 2)}")
    return parse_ffmpeg_info(proc.stderr, path.stat().st_size)


def probe_many(paths: Sequence[Path | str]) -> list[MediaInfo]:
    """probe() for several files with one ffmpeg run (one process start instead of many)."""
    files = [Path(p) for p in paths]
    if len(files) < 2:
        return [probe(p) for p in files]
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"no such media file: {path}")
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin"]
    for path in files:
        args += ["-i", str(path)]
    proc = subprocess.run(args, capture_output=True, text=True, errors="replace", check=False)
    chunks = _INPUT.split(proc.stderr)[1:]  # [index, text, index, text, ...]
    if len(chunks) != 2 * len(files):
        # ffmpeg stops at the first unreadable input; probing one by one names it.
        return [probe(p) for p in files]
    return [
        parse_ffmpeg_info(text, path.stat().st_size)
        for path, text in zip(files, chunks[1::2], strict=True)
    ]


def share_codec_params(infos: Sequence[MediaInfo]) -> bool:
    """Whether all clips have one video codec (and profile), size, frame rate and pixel format."""
    if not infos or infos[0].video_codec is None:
        return False
    return all(info.video_params == infos[0].video_params for info in infos)


def audio_rms(path: Path | str, windows: Sequence[tuple[float, float]]) -> list[float]:
    """RMS level (0 = silence, 1 = full scale) of the audio in each (start, end) window, seconds."""
    import numpy as np  # here: every flow-run process imports this module, few measure levels

    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path),
         "-vn", "-ac", "1", "-ar", str(_RMS_RATE), "-f", "s16le", "-"],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = stderr_tail(proc.stderr.decode(errors="replace"))
        raise FFmpegError(f"decoding the audio of {Path(path).name} failed: {tail}")
    samples = np.frombuffer(proc.stdout, dtype="<i2").astype(np.float64) / 32768.0
    levels = []
    for start, end in windows:
        chunk = samples[max(0, int(start * _RMS_RATE)) : max(0, int(end * _RMS_RATE))]
        levels.append(float(np.sqrt(np.mean(chunk**2))) if chunk.size else 0.0)
    return levels


def extract_frame(video: Path | str, seconds: float, out_png: Path | str) -> Path:
    """Write the frame shown at `seconds` as a PNG."""
    run_ffmpeg(
        ["-ss", f"{seconds:.3f}", "-i", str(video), "-frames:v", "1", "-update", "1", str(out_png)],
        what=f"extracting the frame at {seconds:.2f} s of {Path(video).name}",
    )
    return Path(out_png)
