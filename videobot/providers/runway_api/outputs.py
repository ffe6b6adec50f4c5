"""What goes to Runway and comes back: pictures as data URIs, and downloaded outputs fitted to
the video's format (images cover-cropped, clips scaled, padded and cut to the scene)."""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

from PIL import Image, ImageOps

from videobot.formats import FPS
from videobot.media.ffmpeg import FFmpegError, run_ffmpeg
from videobot.media.probe import probe
from videobot.providers.base import ProviderError
from videobot.providers.offline.animator import ENCODE_ARGS

DATA_URI_LIMIT = 5 * 1024 * 1024  # Runway's cap on a whole data URI, in characters
_SAVE_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def image_data_uri(path: Path, limit: int = DATA_URI_LIMIT) -> str:
    """The picture as a JPEG data URI under `limit` characters (lower quality, then smaller)."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    while True:
        for quality in (90, 80, 70, 60):
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=quality)
            uri = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
            if len(uri) <= limit:
                return uri
        if min(image.size) < 64:
            raise ProviderError(f"{path.name} is too large to send to Runway", permanent=True)
        smaller = (image.width * 3 // 4, image.height * 3 // 4)
        image = image.resize(smaller, Image.Resampling.LANCZOS)


def fit_image(source: Path, out: Path, size: tuple[int, int]) -> None:
    """Cover-scale and centre-crop the picture to exactly `size`, saved as out's type."""
    # Not retried: a new task costs credits again, and Runway's storage serving a web page
    # (an error page, an expired link) is not mended by asking for the same output twice.
    try:
        with Image.open(source) as opened:
            fitted = ImageOps.fit(opened.convert("RGB"), size, Image.Resampling.LANCZOS)
    except (OSError, ValueError) as exc:
        raise ProviderError(
            f"Runway sent a file that is not a picture ({_what_file(source)})", permanent=True
        ) from exc
    fitted.save(out, format=_SAVE_FORMATS.get(out.suffix.lower(), "PNG"))


def fit_clip(source: Path, out: Path, size: tuple[int, int], seconds: float) -> None:
    """Copy the clip if it already is size, 24 fps H.264 yuv420p and `seconds` long; else
    scale it to fit, pad, and hold or cut it to `seconds`."""
    try:
        info = probe(source)
    except FFmpegError as exc:  # not retried, as in fit_image: a new task is paid again
        raise ProviderError(
            f"Runway sent a file that is not a video ({_what_file(source)})", permanent=True
        ) from exc
    if (
        info.video_codec == "h264"
        and info.pix_fmt == "yuv420p"
        and (info.width, info.height) == size
        and info.fps is not None
        and abs(info.fps - FPS) < 0.01
        and abs(info.duration - seconds) <= 0.5 / FPS
    ):
        shutil.copyfile(source, out)
        return
    width, height = size
    graph = (
        f"fps={FPS},scale={width}:{height}:force_original_aspect_ratio=decrease,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p,"
        f"tpad=stop_mode=clone:stop_duration={seconds:g}"
    )
    try:
        run_ffmpeg(
            ["-i", str(source), "-vf", graph, "-frames:v", str(round(seconds * FPS)),
             *ENCODE_ARGS, str(out)],
            what="fitting Runway's clip to the video format",
        )
    except FFmpegError as exc:
        raise ProviderError(
            "Runway's clip could not be converted to the video format (it may be damaged)",
            permanent=True,
        ) from exc


def _what_file(path: Path) -> str:
    """Plain words on a downloaded file we could not use: its size and whether it is a page."""
    data = path.read_bytes()[:512] if path.is_file() else b""
    size = f"{path.stat().st_size:,} bytes" if path.is_file() else "no data"
    head = data.lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml")):
        return f"{size} of a web page"
    if head.startswith((b"{", b"[")):
        return f"{size} of text"
    return f"{size} in a format we do not know"
