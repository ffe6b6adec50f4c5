"""How the pipeline talks to a person. The flow code is the same whatever the channel."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TextIO

from videobot import messages
from videobot.db.models import VideoJob, VideoSegment
from videobot.script import Script


class Channel(Protocol):
    def progress(self, job: VideoJob, text: str) -> None: ...

    def show_script(self, job: VideoJob, script: Script, attempt: int) -> None: ...

    def show_media(
        self, job: VideoJob, kind: str, segments: Sequence[VideoSegment], sheet: Path | None,
        attempt: int, note: str | None = None,
    ) -> None: ...

    def deliver(self, job: VideoJob, video: Path) -> None: ...

    def fail(self, job: VideoJob, reason: str) -> None: ...


class TerminalChannel:
    """Writes to standard output; the terminal prompt itself lives in the CLI."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def _say(self, text: str) -> None:
        # Written to the stream, not print(): a flow's log_prints would divert print to logs.
        stream = self._stream or sys.stdout
        stream.write(text + "\n")
        stream.flush()

    def progress(self, job: VideoJob, text: str) -> None:
        self._say(f"[{str(job.id)[:8]}] {text}")

    def show_script(self, job: VideoJob, script: Script, attempt: int) -> None:
        heard = job.prompt if job.prompt_kind == "voice" else None
        self._say(messages.script_text(script, attempt, heard))

    def show_media(
        self, job: VideoJob, kind: str, segments: Sequence[VideoSegment], sheet: Path | None,
        attempt: int, note: str | None = None,
    ) -> None:
        self._say(
            messages.media_text(kind, segments, str(sheet) if sheet else None, attempt, note)
        )

    def deliver(self, job: VideoJob, video: Path) -> None:
        self._say(f"[{str(job.id)[:8]}] Video ready: {video} (cost ${job.cost_usd:.4f})")

    def fail(self, job: VideoJob, reason: str) -> None:
        self._say(f"[{str(job.id)[:8]}] Failed: {reason}")


def build_channel(kind: str) -> Channel:
    if kind == "terminal":
        return TerminalChannel()
    raise ValueError(f"unknown channel {kind!r}")
