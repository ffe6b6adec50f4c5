"""One Protocol per capability. Media providers write the file they are given and report usage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from videobot.formats import VideoFormat
from videobot.script import MotionPlan, Script, SegmentPlan
from videobot.style import StyleSheet


@dataclass(frozen=True)
class Usage:
    """What one provider call consumed, for the ledger."""

    provider: str
    model: str
    units: float
    unit: str  # tokens, images, seconds, characters, credits
    cost_usd: float = 0.0
    request_id: str | None = None
    attempts: int = 1


@dataclass(frozen=True)
class ScriptRequest:
    prompt: str
    language: str
    feedback: str | None = None
    previous: Script | None = None
    attempt: int = 1


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str


class ProviderError(Exception):
    """A provider call failed, already retried where that helps; `reason` is for people.

    `kind` is one of transient (gave up retrying), permanent, safety or daily_cap.
    """

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        kind: str | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.kind = kind or ("permanent" if permanent else "transient")
        # What the failed call still cost (e.g. tokens of answers that could not be used).
        self.usage = usage


class ScriptWriter(Protocol):
    name: str

    def write_script(self, request: ScriptRequest) -> tuple[Script, Usage]: ...

    def plan_segments(self, script: Script, language: str) -> tuple[SegmentPlan, Usage]: ...

    def write_motion(self, plan: SegmentPlan, language: str) -> tuple[MotionPlan, Usage]: ...


@dataclass(frozen=True)
class Reference:
    """A picture a scene's image is drawn after. `kind` says how: "photo", the person's own
    photo, whose subject appears as it is; "look", an approved scene, whose style, palette and
    characters are kept. It is also the tag the prompt names it by (Runway: @photo, @look)."""

    path: Path
    kind: Literal["photo", "look"]


class ImageMaker(Protocol):
    name: str

    def make_image(
        self,
        prompt: str,
        caption: str,
        scene: int,
        fmt: VideoFormat,
        out: Path,
        *,
        references: Sequence[Reference] = (),
        style: StyleSheet | None = None,
    ) -> Usage:
        """Draw one scene into `out`, after the `references` given, in the `style` (which the
        prompt carries as text too, within the provider's own length limit)."""
        ...


class Animator(Protocol):
    name: str

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
        """A clip of exactly `seconds` from `image`: made by `model` (None: the provider's
        default) `length` seconds long (None: the shortest the model makes that covers
        `seconds`) and cut to `seconds`."""
        ...


class Narrator(Protocol):
    name: str

    def narrate(
        self, text: str, language: str, out: Path, voice: str | None = None
    ) -> Usage:
        """`voice` is the person's choice of narrator, None for the default."""
        ...


class Transcriber(Protocol):
    name: str

    def transcribe(self, audio: Path) -> tuple[Transcript, Usage]: ...


class TaskJournal(Protocol):
    """Where a provider writes ahead the tasks it starts (the app database in production), so
    that a process that dies while a task runs costs time, not a second task. A provider
    closes a task's record when the task fails; a succeeded task's record is closed by whoever
    keeps its output (`videobot.media.scratch.Scratch.store`)."""

    def open_task(self, key: str) -> str | None: ...

    def record_task(self, key: str, provider: str, task_id: str) -> None: ...

    def close_task(self, key: str) -> None: ...


@runtime_checkable
class TaskCanceller(Protocol):
    """A provider whose started tasks can be stopped (Runway: DELETE /v1/tasks/{id})."""

    name: str

    def cancel_task(self, task_id: str) -> None: ...
