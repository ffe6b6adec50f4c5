"""Runway's side of a fake task: request checks, progress by poll, and real output media."""

from __future__ import annotations

import atexit
import base64
import binascii
import io
import re
import shutil
import tempfile
import threading
import time
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from runwayml.types import (
    image_to_video_create_params,
    text_to_image_create_params,
    text_to_speech_create_params,
)

from tests.fakes.spec_check import spec_problem
from videobot.media.ffmpeg import run_ffmpeg

IMAGE_CREDITS = 5  # gen4_image at 720p (a ratio with a side of 720 or less)
IMAGE_CREDITS_1080P = 8
VIDEO_CREDITS_PER_SECOND = 5
SPEECH_CHARS_PER_CREDIT = 50  # Runway: eleven_multilingual_v2 costs 1 credit per 50 characters
SPEECH_CHARS_PER_SECOND = 15  # how fast the fake "speaks": output length follows the text
# The bodies Runway takes per text-to-speech model (camelCase, as on the wire).
SPEECH_FIELDS = {
    "eleven_multilingual_v2": {"model", "promptText", "voice"},
    "eleven_v3": {"model", "promptText", "voice", "applyTextNormalization", "languageCode",
                  "seed", "similarityBoost", "speed", "stability", "style", "useSpeakerBoost"},
}
_DATA_URI_LIMIT = 5 * 1024 * 1024
_media_lock = threading.Lock()
_media_dir: Path | None = None


@dataclass
class TaskScript:
    status: str = "SUCCEEDED"  # SUCCEEDED, FAILED or CANCELLED
    failure_code: str | None = None
    failure: str = "The generation failed."
    throttled_polls: int = 0


@dataclass
class FakeTask:
    id: str
    kind: str  # "image", "video" or "speech"
    body: dict[str, Any]
    size: tuple[int, int]
    seconds: int
    script: TaskScript
    polls_to_finish: int
    run_seconds: float = 0.0  # also keeps running until this long after creation
    started: float = field(default_factory=time.monotonic)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    polls: int = 0
    cancelled: bool = False
    last_status: str = "PENDING"

    @property
    def credits(self) -> int:
        if self.kind == "speech":
            return -(-len(self.body["promptText"]) // SPEECH_CHARS_PER_CREDIT)
        if self.kind == "image":
            return IMAGE_CREDITS if min(self.size) <= 720 else IMAGE_CREDITS_1080P
        return VIDEO_CREDITS_PER_SECOND * self.seconds

    def advance(self) -> dict[str, Any]:
        """One poll: the task as Runway shows it now (without output URLs)."""
        self.polls += 1
        step = self.polls - self.script.throttled_polls
        if self.cancelled:
            status = "CANCELLED"
        elif step <= 0:
            status = "THROTTLED"
        elif step <= self.polls_to_finish or self._rendering():
            status = "PENDING" if step == 1 else "RUNNING"
        else:
            status = self.script.status
        self.last_status = status
        shown: dict[str, Any] = {"id": self.id, "createdAt": self.created_at, "status": status}
        if status in ("PENDING", "THROTTLED", "RUNNING"):
            shown["estimatedCost"] = {"credits": self.credits}
            if status == "RUNNING":
                shown["progress"] = self._progress(step)
            return shown
        shown["cost"] = {"credits": self.credits if status == "SUCCEEDED" else 0}
        if status == "FAILED":
            shown["failure"] = self.script.failure
            shown["failureCode"] = self.script.failure_code
        return shown

    def _rendering(self) -> bool:
        return time.monotonic() - self.started < self.run_seconds

    def _progress(self, step: int) -> float:
        if step <= self.polls_to_finish:
            return round(step / (self.polls_to_finish + 1), 2)
        return round(min(0.99, (time.monotonic() - self.started) / self.run_seconds), 2)


# A reference image's tag: 3-16 characters, a letter first, then letters, digits, underscores.
_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,15}$")
_SPECS = {
    "/v1/text_to_image": text_to_image_create_params.TextToImageCreateParams,
    "/v1/image_to_video": image_to_video_create_params.ImageToVideoCreateParams,
}


def check_create(path: str, body: Any) -> str | None:
    """What Runway would reject in a task creation body, in its words; None if it is fine.
    The body is first checked against the API spec's request type for its model."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    if problem := spec_problem(body, _SPECS[path]):  # type: ignore[arg-type]
        return problem
    references = body.get("referenceImages") or []
    if len(references) > 3:
        return "referenceImages: at most 3 reference images"
    for ref in references:
        if "tag" in ref and not _TAG.fullmatch(str(ref["tag"])):
            return f"referenceImages.tag: {ref['tag']!r} must be 3-16 letters, digits or _"
    if not isinstance(body.get("model"), str):
        return "model: Required"
    ratio = body.get("ratio")
    width, _, height = str(ratio).partition(":")
    if not (width.isdigit() and height.isdigit()):
        return f"ratio: Invalid enum value, got {ratio!r}"
    text = body.get("promptText")
    if text is not None and not (isinstance(text, str) and 0 < len(text) <= 1000):
        return "promptText: must be 1 to 1000 characters"
    if path.endswith("text_to_image"):
        if text is None:
            return "promptText: Required"
        for ref in body.get("referenceImages") or []:
            if problem := _check_image(ref.get("uri"), "referenceImages"):
                return problem
        return None
    duration = body.get("duration", 10)
    if not isinstance(duration, int) or not 2 <= duration <= 10:
        return "duration: must be an integer from 2 to 10"
    return _check_image(body.get("promptImage"), "promptImage")


def check_speech(body: Any) -> str | None:
    """What Runway would reject in a text_to_speech body, in its words; None if it is fine."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    spec = text_to_speech_create_params.TextToSpeechCreateParams
    if problem := spec_problem(body, spec):  # type: ignore[arg-type]
        return problem
    fields = SPEECH_FIELDS.get(body.get("model"))  # type: ignore[arg-type]
    if fields is None:
        return f"model: Invalid enum value, got {body.get('model')!r}"
    if unknown := sorted(set(body) - fields):
        return f"Unrecognized key(s) in object: {', '.join(map(repr, unknown))}"
    text = body.get("promptText")
    if not isinstance(text, str) or not 0 < len(text.encode("utf-16-le")) // 2 <= 1000:
        return "promptText: must be 1 to 1000 characters"
    voice = body.get("voice")
    if not isinstance(voice, dict) or voice.get("type") != "runway-preset":
        return "voice: Required (a runway-preset voice)"
    if set(voice) != {"type", "presetId"} or voice["presetId"] not in preset_voices():
        return f"voice.presetId: Invalid enum value, got {voice.get('presetId')!r}"
    return None


def preset_voices() -> tuple[str, ...]:
    """The preset names Runway's API spec lists (read from the SDK's generated types)."""
    hints = typing.get_type_hints(text_to_speech_create_params.ElevenMultilingualV2Voice)
    return typing.get_args(hints["preset_id"])


def speech_seconds(text: str) -> float:
    """How long the fake's narration of `text` lasts."""
    return max(1.0, round(len(text) / SPEECH_CHARS_PER_SECOND, 1))


def _check_image(uri: Any, name: str) -> str | None:
    if isinstance(uri, list) and uri and isinstance(uri[0], dict):
        uri = uri[0].get("uri")
    if not isinstance(uri, str):
        return f"{name}: Required"
    if uri.startswith("https://"):
        return None
    if not uri.startswith("data:image/") or ";base64," not in uri:
        return f"{name}: Only HTTPS URLs or image data URIs are allowed."
    if len(uri) > _DATA_URI_LIMIT:
        return f"{name}: The data URI is larger than 5MB."
    try:
        with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1], validate=True))) as im:
            im.verify()
    except (binascii.Error, OSError, ValueError):
        return f"{name}: Invalid data URI."
    return None


def _media_path(name: str) -> Path:
    global _media_dir
    if _media_dir is None:
        _media_dir = Path(tempfile.mkdtemp(prefix="fake-runway-media-"))
        atexit.register(shutil.rmtree, _media_dir, ignore_errors=True)
    return _media_dir / name


def png(size: tuple[int, int]) -> Path:
    """A picture at `size` (cached): a gradient with a disc, so resizing shows."""
    with _media_lock:
        path = _media_path(f"{size[0]}x{size[1]}.png")
        if not path.exists():
            image = Image.linear_gradient("L").resize(size).convert("RGB")
            draw = ImageDraw.Draw(image)
            r = min(size) // 4
            cx, cy = size[0] // 2, size[1] // 2
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(220, 120, 40))
            image.save(path, format="PNG")
        return path


def mp3(seconds: float) -> Path:
    """Speech-like audio as Runway delivers it (MP3, 44.1 kHz mono) lasting `seconds` (cached)."""
    with _media_lock:
        path = _media_path(f"speech-{seconds:.1f}s.mp3")
        if not path.exists():
            # A tone whose loudness rises and falls a few times a second, like syllables.
            run_ffmpeg(
                ["-f", "lavfi", "-i", f"sine=frequency=180:sample_rate=44100:duration={seconds}",
                 "-af", "volume='0.3+0.25*sin(2*PI*4*t)':eval=frame",
                 "-ac", "1", "-c:a", "libmp3lame", "-b:a", "128k", str(path)],
                what="making the fake Runway speech",
            )
        return path


def mp4(size: tuple[int, int], seconds: int) -> Path:
    """A 24 fps H.264 clip at `size` lasting `seconds` (cached)."""
    width, height = size
    with _media_lock:
        path = _media_path(f"{width}x{height}-{seconds}s.mp4")
        if not path.exists():
            run_ffmpeg(
                ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=24:duration={seconds}",
                 "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                 "-movflags", "+faststart", str(path)],
                what="making the fake Runway clip",
            )
        return path
