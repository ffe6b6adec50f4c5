"""How the pipeline talks to a person. The flow code is the same whatever the channel."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TextIO

from videobot import messages
from videobot.db.models import VideoJob, VideoSegment
from videobot.script import Script


class Channel(Protocol):
    def progress(self, job: VideoJob, text: str) -> None: ...

    def show_script(self, job: VideoJob, script: Script, attempt: int) -> None: ...

    def show_media(
        self,
        job: VideoJob,
        kind: str,
        segments: Sequence[VideoSegment],
        sheet: Path | None,
        attempt: int,
        note: str | None = None,
    ) -> None: ...

    def deliver(self, job: VideoJob, video: Path) -> None: ...

    def fail(self, job: VideoJob, reason: str) -> None: ...

    def resumed(self, job: VideoJob) -> None:
        """The job's run stopped on a fault (its process died) and was started again."""

    def expired(self, job: VideoJob, hours: float) -> None:
        """No decision arrived at the job's gate within `hours`: the job is over."""


class TerminalChannel:
    """Writes to standard output; the terminal prompt itself lives in the CLI."""

    def __init__(
        self, stream: TextIO | None = None, locate: Callable[[str], str] = str
    ) -> None:
        self._stream = stream
        self._locate = locate  # where a person finds a stored medium (a path or a URL)

    def _say(self, text: str) -> None:
        # Written to the stream, not print(): a flow's log_prints would divert print to logs.
        stream = self._stream or sys.stdout
        stream.write(text + "\n")
        stream.flush()

    def progress(self, job: VideoJob, text: str) -> None:
        self._say(f"[{str(job.id)[:8]}] {text}")

    def show_script(self, job: VideoJob, script: Script, attempt: int) -> None:
        heard = job.prompt if job.prompt_kind == "voice" else None
        self._say(messages.script_text(script, attempt, heard, job.language))

    def show_media(
        self,
        job: VideoJob,
        kind: str,
        segments: Sequence[VideoSegment],
        sheet: Path | None,
        attempt: int,
        note: str | None = None,
    ) -> None:
        located = self._locate(str(sheet)) if sheet else None
        self._say(messages.media_text(kind, segments, located, attempt, note, self._locate))

    def deliver(self, job: VideoJob, video: Path) -> None:
        where = self._locate(str(video))
        self._say(f"[{str(job.id)[:8]}] Video ready: {where} (cost ${job.cost_usd:.4f})")

    def fail(self, job: VideoJob, reason: str) -> None:
        self._say(f"[{str(job.id)[:8]}] Failed: {reason}")

    def resumed(self, job: VideoJob) -> None:
        self._say(f"[{str(job.id)[:8]}] {messages.RESUMED_AFTER_FAULT}")

    def expired(self, job: VideoJob, hours: float) -> None:
        self._say(f"[{str(job.id)[:8]}] {messages.expiry_text(hours)}")


# Channels that need more than this package (the Telegram one needs the Bot API client and the
# process's runtime) are registered by the process that can build them: see tasks/runtime.py.
_FACTORIES: dict[str, Callable[[], Channel]] = {"terminal": TerminalChannel}


def register_channel(kind: str, factory: Callable[[], Channel]) -> None:
    """Make `build_channel(kind)` return `factory()`."""
    _FACTORIES[kind] = factory


def build_channel(kind: str) -> Channel:
    factory = _FACTORIES.get(kind)
    if factory is None:
        raise ValueError(f"unknown channel {kind!r}")
    return factory()


def channel_for(job: VideoJob) -> str:
    """The channel a job's person is reached on: jobs made in a chat have its chat id."""
    return "telegram" if job.chat_id else "terminal"
