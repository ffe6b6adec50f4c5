"""OpenAI images, speech and transcription. Each call goes through the one retry layer and
writes its file atomically; usage is priced from the settings."""

from __future__ import annotations

import base64
import binascii
import io
import logging
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import openai
from PIL import Image, ImageOps, UnidentifiedImageError

from videobot.formats import VideoFormat, frame_size
from videobot.media.ffmpeg import FFmpegError, run_ffmpeg
from videobot.media.files import atomic_output
from videobot.media.probe import probe
from videobot.providers.base import ProviderError, Reference, Transcript, Usage
from videobot.providers.faults import call_with_retries
from videobot.providers.openai_api.client import build_openai_client, quick_timeout, retry_policy
from videobot.providers.openai_api.errors import UnexpectedReply, classify_openai_error
from videobot.requests import LANGUAGES, detect_language
from videobot.settings import Settings
from videobot.stopping import stoppable_sleep
from videobot.style import StyleSheet, image_prompt

log = logging.getLogger(__name__)
# The fixed sizes of the first GPT image models; the picture is then cropped to the format.
FIXED_IMAGE_SIZES = {
    VideoFormat.LANDSCAPE: "1536x1024",
    VideoFormat.PORTRAIT: "1024x1536",
    VideoFormat.SQUARE: "1024x1024",
}
# gpt-image-2 and later take any size whose sides divide by 16 (aspect between 1:3 and 3:1):
# they are asked for the format's own shape, so the picture is only scaled, never cropped.
FREE_SIZE_LONG_SIDE = 1536
FREE_SIZE_SQUARE_SIDE = 1024
MAX_SPEECH_CHARS = 4096
# Narration is rewritten as 24 kHz mono 16-bit PCM, like the offline narrator's: assembly then
# reads one kind of file, and a streamed WAV header (unknown length) gets a true length.
SPEECH_SAMPLE_RATE = 24_000
VOICE_NAME = "voice.ogg"  # OpenAI tells the audio format by the file name

Sleep = Callable[[float], None]


class _OpenAIProvider:
    name = "openai"

    def __init__(
        self, settings: Settings, client: openai.OpenAI | None = None, *,
        sleep: Sleep = stoppable_sleep,
    ) -> None:
        self.settings = settings
        self.client = client or build_openai_client(settings)
        self._policy = retry_policy(settings)
        self._sleep = sleep


class OpenAIImageMaker(_OpenAIProvider):
    """Pictures from a GPT image model, fitted to the video's exact size; with references,
    an image edit whose input images are the references (the model draws after them)."""

    def make_image(
        self, prompt: str, caption: str, scene: int, fmt: VideoFormat, out: Path,
        *, references: Sequence[Reference] = (), style: StyleSheet | None = None,
    ) -> Usage:
        """`caption` is not used: the picture carries no text."""
        model = self.settings.openai_image_model
        inputs = _reference_files(references)[:MAX_EDIT_IMAGES]
        text = image_prompt(prompt, style)
        if inputs:
            text += " " + reference_note([kind for kind, _ in inputs])
        common: dict[str, Any] = {
            "model": model, "prompt": text, "size": image_size(model, fmt), "n": 1,
            "quality": self.settings.openai_image_quality,
        }

        def generate() -> tuple[Image.Image, str | None]:
            if inputs:
                result = self.client.images.edit(image=[f for _, f in inputs], **common)
            else:
                result = self.client.images.generate(**common)
            encoded = result.data[0].b64_json if result.data else None
            if not encoded:
                raise UnexpectedReply("OpenAI sent no picture")
            return _decode_image(encoded), result._request_id

        (image, request_id), attempts = call_with_retries(
            generate, classify_openai_error, self._policy, sleep=self._sleep
        )
        size = frame_size(fmt, self.settings.video_scale)
        fitted = ImageOps.fit(image.convert("RGB"), size, Image.Resampling.LANCZOS)
        with atomic_output(Path(out)) as tmp:
            fitted.save(tmp, format="PNG", compress_level=3)
        return Usage(
            provider=self.name, model=model, units=1, unit="images",
            cost_usd=self.settings.price_openai_image, request_id=request_id, attempts=attempts,
        )


# gpt-image-2 edits take up to 16 input images (PNG, WebP or JPEG, each under 50 MB).
MAX_EDIT_IMAGES = 16
_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def _reference_files(
    references: Sequence[Reference],
) -> list[tuple[str, tuple[str, bytes, str]]]:
    """Each reference picture as an upload, photos first; one that cannot be read as PNG,
    JPEG or WebP is sent as PNG, and one that cannot be read at all only loses its look."""
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    for number, ref in enumerate(sorted(references, key=lambda r: r.kind != "photo"), 1):
        try:
            with Image.open(ref.path) as opened:
                kind = opened.format or ""
                if kind in _MIME:
                    data = Path(ref.path).read_bytes()
                else:
                    buffer = io.BytesIO()
                    opened.convert("RGB").save(buffer, format="PNG")
                    data, kind = buffer.getvalue(), "PNG"
        except OSError as exc:
            log.warning("skipping the reference picture %s: %s", Path(ref.path).name, exc)
            continue
        name = f"{ref.kind}-{number}.{kind.lower().replace('jpeg', 'jpg')}"
        files.append((ref.kind, (name, data, _MIME[kind])))
    return files


def reference_note(kinds: Sequence[str]) -> str:
    """What the prompt says of the input images, in their order."""
    notes = []
    for number, kind in enumerate(kinds, 1):
        if kind == "photo":
            notes.append(f"Input image {number} is the viewer's own photo: show its subject "
                         "as it appears there.")
        else:
            notes.append(f"Input image {number} is an approved scene of this video: keep its "
                         "style, palette and characters.")
    return " ".join(notes)


class OpenAINarrator(_OpenAIProvider):
    """Speech from an OpenAI TTS model, written as a WAV file."""

    def narrate(self, text: str, language: str, out: Path, voice: str | None = None) -> Usage:
        """The voice speaks `text` in whatever language it is written in; `language` is unused.
        `voice` (an OpenAI voice name) replaces OPENAI_TTS_VOICE for this call."""
        if not text.strip():
            raise ProviderError("there is no text to narrate", permanent=True)
        if len(text) > MAX_SPEECH_CHARS:
            raise ProviderError(
                f"the narration is {len(text)} characters; OpenAI speech takes at most "
                f"{MAX_SPEECH_CHARS}: shorten the script",
                permanent=True,
            )
        s = self.settings

        def speak() -> str | None:
            result = self.client.audio.speech.create(
                model=s.openai_tts_model, voice=voice or s.openai_tts_voice, input=text,
                response_format="wav", speed=s.openai_tts_speed, timeout=quick_timeout(s),
            )
            _write_wav(result.content, Path(out))
            return result.response.headers.get("x-request-id")

        request_id, attempts = call_with_retries(
            speak, classify_openai_error, self._policy, sleep=self._sleep
        )
        return Usage(
            provider=self.name, model=s.openai_tts_model, units=len(text), unit="characters",
            cost_usd=len(text) * s.price_tts_per_mchar / 1_000_000, request_id=request_id,
            attempts=attempts,
        )


class OpenAITranscriber(_OpenAIProvider):
    """Text from a voice note with an OpenAI speech-to-text model."""

    def transcribe(self, audio: Path) -> tuple[Transcript, Usage]:
        try:
            seconds = probe(audio).duration
        except (OSError, FFmpegError) as exc:
            raise ProviderError(
                "the voice note cannot be read as audio: send it again, or send text",
                permanent=True,
            ) from exc
        data = Path(audio).read_bytes()
        model = self.settings.openai_stt_model

        def listen() -> tuple[str, str | None, str | None]:
            result = self.client.audio.transcriptions.create(
                model=model, file=(VOICE_NAME, data, "audio/ogg"),
                timeout=quick_timeout(self.settings),
            )
            heard = result.languages[0].code if result.languages else None
            return result.text.strip(), heard, result._request_id

        (text, heard, request_id), attempts = call_with_retries(
            listen, classify_openai_error, self._policy, sleep=self._sleep
        )
        if not text:
            raise ProviderError(
                "could not hear any words in the voice note: speak a little longer and closer "
                "to the microphone, or send the prompt as text",
                permanent=True,
            )
        usage = Usage(
            provider=self.name, model=model, units=seconds, unit="seconds",
            cost_usd=seconds / 60 * self.settings.price_stt_per_minute, request_id=request_id,
            attempts=attempts,
        )
        return Transcript(text=text, language=_language(heard, text)), usage


def image_size(model: str, fmt: VideoFormat) -> str:
    """The size to ask `model` for: the format's own shape where the model takes any size."""
    if not takes_any_size(model):
        return FIXED_IMAGE_SIZES[fmt]
    width, height = fmt.size
    if width == height:
        return f"{FREE_SIZE_SQUARE_SIDE}x{FREE_SIZE_SQUARE_SIDE}"
    short = round(FREE_SIZE_LONG_SIDE * min(width, height) / max(width, height) / 16) * 16
    long = FREE_SIZE_LONG_SIDE
    return f"{long}x{short}" if width > height else f"{short}x{long}"


def takes_any_size(model: str) -> bool:
    """gpt-image-2 and its successors (gpt-image-2.5-…, gpt-image-3…); not gpt-image-1."""
    version = model.removeprefix("gpt-image-").split("-")[0]
    try:
        return model.startswith("gpt-image-") and float(version) >= 2
    except ValueError:
        return False


def _decode_image(encoded: str) -> Image.Image:
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnexpectedReply(
            "OpenAI sent a picture we could not read (the data is not base64)"
        ) from exc
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UnexpectedReply(
            f"OpenAI sent a picture we could not read ({_what_bytes(data)})"
        ) from exc
    return image


def _write_wav(audio: bytes, out: Path) -> None:
    """Rewrite the speech as our WAV; an empty or unreadable reply is worth asking once more."""
    if not audio:
        raise UnexpectedReply("OpenAI sent no audio")
    with tempfile.TemporaryDirectory(prefix="speech-") as folder:
        raw = Path(folder) / "speech.wav"
        raw.write_bytes(audio)
        try:
            with atomic_output(out) as tmp:
                run_ffmpeg(
                    ["-i", str(raw), "-ac", "1", "-ar", str(SPEECH_SAMPLE_RATE),
                     "-c:a", "pcm_s16le", "-f", "wav", str(tmp)],
                    what="reading OpenAI's speech",
                )
        except FFmpegError as exc:
            # ffmpeg's own text names temporary files and internals: say what was received.
            raise UnexpectedReply(
                f"OpenAI sent audio we could not read ({_what_bytes(audio)})"
            ) from exc


def _what_bytes(data: bytes) -> str:
    """A few plain words on a body we could not read: its size and whether it is text."""
    size = f"{len(data):,} bytes"
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml")):
        return f"{size} of a web page"
    if head.startswith((b"{", b"[")):
        return f"{size} of text, not media"
    return f"{size}, damaged or in a format we do not know"


def _language(heard: str | None, text: str) -> str:
    """The language OpenAI heard when we support it, otherwise the one the text is written in."""
    code = (heard or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else detect_language(text)
