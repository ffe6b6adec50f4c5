"""Ken Burns motion with ffmpeg: a still image becomes a clip that zooms or pans."""

from __future__ import annotations

import hashlib
from pathlib import Path

from videobot.formats import FPS, VideoFormat, frame_size
from videobot.media.ffmpeg import FFmpegError, run_ffmpeg
from videobot.media.files import atomic_output
from videobot.providers.base import ProviderError, Usage

# How far a clip zooms (1.0 -> MOTION_SCALE) or how much wider than the frame a pan's image is.
MOTION_SCALE = 1.2
MOTIONS = ("zoom in", "zoom out", "pan left", "pan right")
_KEYWORDS = (
    ("zoom in", "zoom in"),
    ("zoom out", "zoom out"),
    ("pan left", "pan left"),
    ("pan right", "pan right"),
    ("приближ", "zoom in"),
    ("наезд", "zoom in"),
    ("отдал", "zoom out"),
    ("отъезд", "zoom out"),
    ("влево", "pan left"),
    ("вправо", "pan right"),
)

# Every clip of one format gets the same encoder settings, hence the same codec parameters, so
# assembly can join them without re-encoding. ultrafast keeps a clip near 0.5-1 s on 2 cores.
ENCODE_ARGS = [
    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-pix_fmt", "yuv420p",
    "-profile:v", "high", "-g", str(2 * FPS), "-keyint_min", str(2 * FPS), "-sc_threshold", "0",
    "-r", str(FPS), "-video_track_timescale", str(FPS * 512), "-an",
    "-movflags", "+faststart", "-f", "mp4",
]


def choose_motion(prompt: str) -> str:
    """The first motion named in the prompt; otherwise one picked by a stable hash of it."""
    text = " ".join(prompt.lower().replace("-", " ").split())
    found = [(text.find(key), motion) for key, motion in _KEYWORDS if key in text]
    if found:
        return min(found)[1]
    return MOTIONS[hashlib.sha256(prompt.encode()).digest()[0] % len(MOTIONS)]


def _even(value: float) -> int:
    return int(round(value / 2) * 2)


def motion_filter(motion: str, size: tuple[int, int], frames: int) -> str:
    """The -vf graph turning one still into `frames` frames of `motion` at `size`.

    Measured with a tracked dot, a point's path strays at most ~0.5 px (pans) and ~0.65 px
    (zooms) from a smooth curve; zoompan on the image at its own size strays 1.6 px (visible
    judder), and per-frame `scale` cannot be re-centred because its frame size changes.
    """
    width, height = size
    last = max(frames - 1, 1)
    if motion in ("pan left", "pan right"):
        # Scale and convert once, repeat the frame, then slide a crop window across it;
        # exact=1 keeps luma positions whole pixels instead of even ones. The window travels
        # 80 % of the spare width, so text near the picture's sides stays clear of the edge.
        big_w, big_h = _even(width * MOTION_SCALE), _even(height * MOTION_SCALE)
        share = f"(0.1+0.8*n/{last})" if motion == "pan right" else f"(0.9-0.8*n/{last})"
        return (
            f"{_cover(big_w, big_h)},loop=loop={frames - 1}:size=1:start=0,"
            f"settb=1/{FPS},setpts=N,"
            f"crop={width}:{height}:x='(iw-ow)*{share}':y='(ih-oh)/2':exact=1"
        )
    if motion in ("zoom in", "zoom out"):
        # zoompan crops whole input pixels; on a 2x image that is half an output pixel.
        step = MOTION_SCALE - 1
        zoom = f"1+{step}*on/{last}" if motion == "zoom in" else f"{MOTION_SCALE}-{step}*on/{last}"
        return (
            f"{_cover(2 * width, 2 * height)},zoompan=z='{zoom}'"
            f":x='(iw-trunc(iw/zoom))/2':y='(ih-trunc(ih/zoom))/2'"
            f":d={frames}:s={width}x{height}:fps={FPS}"
        )
    raise ValueError(f"unknown motion {motion!r}; expected one of {', '.join(MOTIONS)}")


def _cover(width: int, height: int) -> str:
    """Scale and centre-crop any image to exactly width x height, as yuv420p."""
    return (
        f"scale={width}:{height}:force_original_aspect_ratio=increase:flags=bicubic,"
        f"crop={width}:{height},setsar=1,format=yuv420p"
    )


class OfflineAnimator:
    """Animates a still with a zoom or pan chosen from the motion prompt; no model, no network."""

    name = "offline"
    model = "ffmpeg-motion"

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale  # clips are made at this share of the format's size

    def animate(
        self,
        image: Path,
        prompt: str,
        seconds: float,
        fmt: VideoFormat,
        out: Path,
        *,
        model: str | None = None,
        length: int | None = None,
    ) -> Usage:
        """`model` and `length` are not used: one motion, made exactly `seconds` long."""
        if not Path(image).is_file():
            raise ProviderError(f"the image to animate is missing: {image}", permanent=True)
        if seconds <= 0:
            raise ProviderError(f"a clip must last more than 0 s, not {seconds}", permanent=True)
        frames = round(seconds * FPS)
        graph = motion_filter(choose_motion(prompt), frame_size(fmt, self.scale), frames)
        try:
            with atomic_output(Path(out)) as tmp:
                run_ffmpeg(
                    ["-framerate", str(FPS), "-i", str(image), "-vf", graph,
                     "-frames:v", str(frames), *ENCODE_ARGS, str(tmp)],
                    what=f"animating {Path(image).name}",
                )
        except FFmpegError as exc:
            # Same image, same command, same failure: retrying would not help.
            raise ProviderError(str(exc), permanent=True) from exc
        return Usage(provider=self.name, model=self.model, units=frames / FPS, unit="seconds")
