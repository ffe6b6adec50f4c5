"""Fit a finished video under an upload limit (Telegram bots send at most 50 MB)."""

from __future__ import annotations

from pathlib import Path

from videobot.media.ffmpeg import run_ffmpeg
from videobot.media.files import atomic_output
from videobot.media.probe import probe

AUDIO_KBPS = 96
_HEADROOM = 0.9  # container overhead and rate-control overshoot


def fit_to_size(video: Path, out: Path, max_bytes: int) -> Path:
    """`video` itself when it fits, else a re-encode written to `out` at a bitrate that fits."""
    video, out = Path(video), Path(out)
    if video.stat().st_size <= max_bytes:
        return video
    duration = max(probe(video).duration, 0.1)
    total_kbps = max_bytes * 8 / 1000 / duration * _HEADROOM
    for attempt in range(4):
        video_kbps = max(50, int((total_kbps - AUDIO_KBPS) * (0.8**attempt)))
        with atomic_output(out) as tmp:
            run_ffmpeg(
                [
                    "-i",
                    str(video),
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    "-b:v",
                    f"{video_kbps}k",
                    "-maxrate",
                    f"{video_kbps}k",
                    "-bufsize",
                    f"{video_kbps * 2}k",
                    "-c:a",
                    "aac",
                    "-b:a",
                    f"{AUDIO_KBPS}k",
                    "-movflags",
                    "+faststart",
                    "-f",
                    "mp4",
                    str(tmp),
                ],
                what="re-encoding the video to fit the upload limit",
            )
        if out.stat().st_size <= max_bytes:
            return out
    raise ValueError(f"could not fit the video under {max_bytes} bytes")
