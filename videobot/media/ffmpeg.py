"""The ffmpeg binary shipped by imageio-ffmpeg, and one way to run it."""

from __future__ import annotations

from functools import lru_cache

import imageio_ffmpeg

from videobot.stopping import run_stoppable


class FFmpegError(RuntimeError):
    """ffmpeg exited with an error; the message ends with the tail of its stderr."""


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary (resolved once; imageio-ffmpeg ships it, no system install)."""
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def stderr_tail(stderr: str, lines: int = 5) -> str:
    """The last few non-empty lines of ffmpeg's stderr, which is where the reason is."""
    kept = [line.strip() for line in stderr.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def run_ffmpeg(args: list[str], *, what: str) -> None:
    """Run ffmpeg quietly with `args`, overwriting outputs; raise FFmpegError if it fails.
    Killed when its process is told to stop (`run_stoppable`): an assembly left running would
    keep a cancelled run's process alive."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]
    proc = run_stoppable(cmd)
    if proc.returncode != 0:
        raise FFmpegError(f"{what} failed: {stderr_tail(proc.stderr) or 'no error output'}")
