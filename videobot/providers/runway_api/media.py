"""Runway as an ImageMaker (text_to_image) and an Animator (image_to_video).

Both deliver exactly what the pipeline needs, whatever Runway returns: images are cover-cropped
to the format's size; clips are scaled and padded to it, at 24 fps H.264 yuv420p, when they
differ, so assembly can use them.
"""

from __future__ import annotations

import base64
import io
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import runwayml
from PIL import Image, ImageOps
from runwayml.types import image_to_video_create_params

from videobot.formats import FPS, VideoFormat
from videobot.media.ffmpeg import FFmpegError, run_ffmpeg
from videobot.media.files import atomic_output
from videobot.media.probe import probe
from videobot.providers.base import ProviderError, TaskJournal, Usage
from videobot.providers.offline.animator import ENCODE_ARGS
from videobot.providers.runway_api.ratios import (
    choose_ratio,
    image_credits,
    image_ratio,
    model_ratios,
)
from videobot.providers.runway_api.tasks import PollPolicy, TaskOutcome, TaskRunner, retry_policy
from videobot.settings import Settings

log = logging.getLogger(__name__)

DATA_URI_LIMIT = 5 * 1024 * 1024  # Runway's cap on a whole data URI, in characters
PROMPT_LIMIT = 1000  # UTF-16 code units, for promptText
REFERENCE_TAG = "reference"  # how the prompt names the reference image (@reference)
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


class RunwayProvider:
    """What the Runway providers share: the SDK client, the task runner and the price."""

    name = "runway"

    def __init__(
        self,
        client: runwayml.RunwayML,
        downloads: httpx.Client,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        journal: TaskJournal | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.tasks = TaskRunner(
            client,
            downloads,
            retry_policy(settings),
            PollPolicy.from_settings(settings),
            sleep=sleep,
            clock=clock,
            journal=journal,
        )

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
    """Scene images from Runway's text_to_image; a reference picture keeps scenes alike."""

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
        reference: Path | None = None,
    ) -> Usage:
        # The caption is not drawn: lettering in generated pictures comes out garbled.
        ratio = image_ratio(self.settings, fmt)
        params: dict[str, Any] = {"model": self.model, "ratio": ratio}
        text = prompt
        if reference is not None:
            try:
                uri = image_data_uri(reference)
            except OSError as exc:  # an unreadable reference only loses the shared look
                log.warning("skipping the reference picture %s: %s", reference.name, exc)
            else:
                params["reference_images"] = [{"uri": uri, "tag": REFERENCE_TAG}]
                text = _with_suffix(
                    prompt, f" Same visual style, palette and characters as @{REFERENCE_TAG}."
                )
        params["prompt_text"] = _with_suffix(text, "")

        def start() -> str:
            return self.client.text_to_image.create(**params).id

        with atomic_output(Path(out)) as tmp:
            raw = tmp.with_name(tmp.stem + ".download")
            try:
                outcome = self.tasks.run(start, raw, key=str(out))
                fit_image(raw, tmp, fmt.size)
            finally:
                raw.unlink(missing_ok=True)
        return self._usage(self.model, outcome, image_credits(self.settings, ratio))


class RunwayAnimator(RunwayProvider):
    """Scene clips from Runway's image_to_video, first frame = the approved image."""

    @property
    def model(self) -> str:
        return self.settings.runway_video_model

    def animate(
        self, image: Path, prompt: str, seconds: float, fmt: VideoFormat, out: Path
    ) -> Usage:
        if not Path(image).is_file():
            raise ProviderError(f"the image to animate is missing: {image}", permanent=True)
        duration = max(1, round(seconds))
        ratios = model_ratios(image_to_video_create_params.ImageToVideoCreateParams, self.model)
        try:
            uri = image_data_uri(Path(image))
        except OSError as exc:
            raise ProviderError(f"cannot read the image to animate: {exc}", permanent=True) from exc
        params: dict[str, Any] = {
            "model": self.model,
            "prompt_image": uri,
            "prompt_text": _with_suffix(prompt, ""),
            "ratio": choose_ratio(ratios, fmt.size),
            "duration": duration,
        }

        def start() -> str:
            return self.client.image_to_video.create(**params).id

        with atomic_output(Path(out)) as tmp:
            raw = tmp.with_name(tmp.stem + ".download")
            try:
                outcome = self.tasks.run(start, raw, key=str(out))
                fit_clip(raw, tmp, fmt.size, seconds)
            finally:
                raw.unlink(missing_ok=True)
        estimate = self.settings.runway_video_credits_per_second * duration
        return self._usage(self.model, outcome, estimate)


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
