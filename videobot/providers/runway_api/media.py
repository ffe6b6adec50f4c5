"""Runway as an ImageMaker (text_to_image) and an Animator (image_to_video).

Both deliver exactly what the pipeline needs, whatever Runway returns: images are cover-cropped
to the format's size; clips are scaled and padded to it, at 24 fps H.264 yuv420p, when they
differ, so assembly can use them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import runwayml
from runwayml.types import image_to_video_create_params

from videobot.formats import VideoFormat, frame_size
from videobot.media.files import atomic_output
from videobot.providers.base import ProviderError, Reference, TaskJournal, Usage
from videobot.providers.faults import call_with_retries
from videobot.providers.runway_api.errors import classify_runway_error
from videobot.providers.runway_api.outputs import (
    fit_clip,
    fit_image,
    image_data_uri,
)
from videobot.providers.runway_api.ratios import (
    choose_ratio,
    clip_length,
    image_credits,
    image_ratio,
    model_durations,
    model_ratios,
    model_takes,
    video_credits_per_second,
)
from videobot.providers.runway_api.tasks import PollPolicy, TaskOutcome, TaskRunner, retry_policy
from videobot.settings import Settings
from videobot.stopping import stoppable_sleep
from videobot.style import StyleSheet, image_prompt

log = logging.getLogger(__name__)
T = TypeVar("T")

PROMPT_LIMIT = 1000  # UTF-16 code units, for promptText
MAX_REFERENCES = 3  # gen4_image takes up to three tagged reference images


class RunwayProvider:
    """What the Runway providers share: the SDK client, the task runner and the price."""

    name = "runway"

    def __init__(
        self,
        client: runwayml.RunwayML,
        downloads: httpx.Client,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = stoppable_sleep,
        clock: Callable[[], float] = time.monotonic,
        journal: TaskJournal | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self._sleep = sleep
        self.tasks = TaskRunner(
            client,
            downloads,
            retry_policy(settings),
            PollPolicy.from_settings(settings),
            sleep=sleep,
            clock=clock,
            journal=journal,
        )

    def _retrying(self, call: Callable[[], T]) -> T:
        """One request through the one retry layer (no task: nothing is paid)."""
        result, _ = call_with_retries(call, classify_runway_error, retry_policy(self.settings),
                                      sleep=self._sleep)
        return result

    def cancel_task(self, task_id: str) -> None:
        """Stop a task started for work no one will see (the job was cancelled)."""
        self.tasks.cancel(task_id)

    def _usage(self, model: str, outcome: TaskOutcome, estimate: float) -> Usage:
        credits = outcome.credits if outcome.credits is not None else estimate
        return Usage(
            provider=self.name,
            model=model,
            units=credits,
            unit="credits",
            cost_usd=round(credits * self.settings.runway_usd_per_credit, 6),
            request_id=outcome.task_id,
            attempts=outcome.attempts,
        )


class RunwayImageMaker(RunwayProvider):
    """Scene images from Runway's text_to_image; tagged reference pictures (the person's
    photo, the first scene) keep the scenes alike."""

    @property
    def model(self) -> str:
        return self.settings.runway_image_model

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
        # The caption is not drawn: lettering in generated pictures comes out garbled.
        ratio = image_ratio(self.settings, fmt)
        params: dict[str, Any] = {"model": self.model, "ratio": ratio}
        tagged = _tagged_references(references)
        suffix = _reference_suffix([tag for tag, _ in tagged])
        if tagged:
            params["reference_images"] = [{"uri": uri, "tag": tag} for tag, uri in tagged]
        room = PROMPT_LIMIT - _utf16_len(suffix) - 1
        params["prompt_text"] = _with_suffix(image_prompt(prompt, style, room), suffix)

        def start() -> str:
            return self.client.text_to_image.create(**params).id

        with atomic_output(Path(out)) as tmp:
            raw = tmp.with_name(tmp.stem + ".download")
            try:
                outcome = self.tasks.run(start, raw, key=str(out))
                fit_image(raw, tmp, frame_size(fmt, self.settings.video_scale))
            finally:
                raw.unlink(missing_ok=True)
        return self._usage(self.model, outcome, image_credits(self.settings, ratio))


def _tagged_references(references: Sequence[Reference]) -> list[tuple[str, str]]:
    """(tag, data URI) of each readable reference, one per kind, at most Runway's three."""
    tagged: list[tuple[str, str]] = []
    for ref in references:
        if ref.kind in (tag for tag, _ in tagged):
            continue
        try:
            tagged.append((ref.kind, image_data_uri(ref.path)))
        except OSError as exc:  # an unreadable reference only loses the shared look
            log.warning("skipping the reference picture %s: %s", Path(ref.path).name, exc)
    return tagged[:MAX_REFERENCES]


def _reference_suffix(tags: Sequence[str]) -> str:
    """What the prompt says of the tagged references (Runway's @tag mentions)."""
    parts = []
    if "photo" in tags:
        parts.append(" Show the subject of @photo as it appears there.")
    if "look" in tags:
        parts.append(" Same visual style, palette and characters as @look.")
    return "".join(parts)


class RunwayAnimator(RunwayProvider):
    """Scene clips from Runway's image_to_video, first frame = the approved image, made by the
    job's motion model and cut to the scene."""

    @property
    def model(self) -> str:
        return self.settings.runway_video_model

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
        if not Path(image).is_file():
            raise ProviderError(f"the image to animate is missing: {image}", permanent=True)
        model = model or self.model
        spec = image_to_video_create_params.ImageToVideoCreateParams
        durations = model_durations(spec, model)
        duration = length if length in durations else clip_length(durations, seconds)
        try:
            uri = image_data_uri(Path(image))
        except OSError as exc:
            raise ProviderError(f"cannot read the image to animate: {exc}", permanent=True) from exc
        params: dict[str, Any] = {
            "model": model,
            "prompt_image": uri,
            "prompt_text": _with_suffix(prompt, ""),
            "ratio": choose_ratio(model_ratios(spec, model), fmt.size),
            "duration": duration,
        }
        if model_takes(spec, model, "audio"):
            params["audio"] = False  # the narration and music are the sound; audio costs more

        def start() -> str:
            return self.client.image_to_video.create(**params).id

        with atomic_output(Path(out)) as tmp:
            raw = tmp.with_name(tmp.stem + ".download")
            try:
                outcome = self.tasks.run(start, raw, key=str(out))
                # A longer clip is cut to the scene.
                fit_clip(raw, tmp, frame_size(fmt, self.settings.video_scale), seconds)
            finally:
                raw.unlink(missing_ok=True)
        estimate = video_credits_per_second(self.settings, model) * duration
        return self._usage(model, outcome, estimate)

    def credit_balance(self) -> int:
        """The organisation's credits left (GET /v1/organization)."""
        return int(self._retrying(lambda: self.client.organization.retrieve().credit_balance))


def _with_suffix(text: str, suffix: str) -> str:
    """`text` cut so that it, a full stop and `suffix` fit PROMPT_LIMIT UTF-16 code units."""
    room = PROMPT_LIMIT - _utf16_len(suffix) - (1 if suffix else 0)
    text = " ".join(text.split())
    while (excess := _utf16_len(text) - room) > 0:
        text = text[:-excess]  # each character is at least one code unit
    text = text.rstrip()
    if suffix and text and text[-1] not in ".!?":
        text += "."
    return text + suffix


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
