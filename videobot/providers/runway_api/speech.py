"""Runway as a Narrator: text_to_speech with an ElevenLabs model, through the `runwayml` SDK.

The task is created, polled and its audio downloaded by the same TaskRunner as images and
clips, so failure codes mean the same (SAFETY.*: refused, not retried; INTERNAL.*: a new
task). Runway's audio is rewritten as the pipeline's narration WAV, 24 kHz mono 16-bit PCM
like the other narrators', so assembly reads one kind of file.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import tempfile
import time
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import runwayml
from runwayml.types import text_to_speech_create_params

from videobot.media.ffmpeg import FFmpegError, run_ffmpeg
from videobot.media.files import atomic_output
from videobot.providers.base import ProviderError, TaskJournal, Usage
from videobot.providers.runway_api.media import RunwayProvider
from videobot.providers.runway_api.tasks import TaskOutcome
from videobot.settings import ConfigurationError, Settings
from videobot.stopping import stoppable_sleep

log = logging.getLogger(__name__)

SPEECH_SAMPLE_RATE = 24_000  # the offline and OpenAI narrators write the same
SPEECH_PROMPT_LIMIT = 1000  # UTF-16 code units of promptText (eleven_multilingual_v2)
CHARS_PER_PRICE_UNIT = 50  # Runway prices speech per 50 characters
_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+")


@functools.lru_cache(maxsize=16)
def model_fields(model: str) -> tuple[str, ...]:
    """The request fields the installed SDK lists for text_to_speech `model`; () if unknown.

    The SDK's request types are generated from Runway's API spec, so they are the truth for
    what each model takes; the model itself is a setting.
    """
    for params in typing.get_args(text_to_speech_create_params.TextToSpeechCreateParams):
        hints = typing.get_type_hints(params)
        if typing.get_args(hints.get("model")) == (model,):
            return tuple(hints)
    return ()


@functools.lru_cache(maxsize=16)
def model_voices(model: str) -> tuple[str, ...]:
    """The preset voice names the SDK lists for `model`; () if it takes no preset voice."""
    for params in typing.get_args(text_to_speech_create_params.TextToSpeechCreateParams):
        hints = typing.get_type_hints(params)
        if typing.get_args(hints.get("model")) != (model,):
            continue
        try:
            voice = typing.get_type_hints(hints.get("voice"))
        except TypeError:  # no voice, or not a preset object
            return ()
        if typing.get_args(voice.get("type")) != ("runway-preset",):
            return ()
        return tuple(v for v in typing.get_args(voice.get("preset_id")) if isinstance(v, str))
    return ()


def choose_voice(wanted: str | None, voices: Sequence[str], default: str) -> str:
    """`wanted` spelled as Runway lists it, or `default` when Runway has no such voice (the
    person may have chosen an OpenAI voice before the narrator changed)."""
    if wanted:
        by_name = {v.casefold(): v for v in voices}
        if match := by_name.get(wanted.strip().casefold()):
            return match
        log.info("Runway has no voice %r; narrating with %s", wanted, default)
    return default


def split_for_speech(text: str, limit: int = SPEECH_PROMPT_LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` UTF-16 code units, cut after sentences where it
    can, else between words, so each piece is one task and the joined audio reads naturally."""
    words = " ".join(text.split())
    pieces: list[str] = []
    current = ""
    for unit in _units(words, limit):
        joined = f"{current} {unit}" if current else unit
        if _utf16_len(joined) <= limit:
            current = joined
            continue
        pieces.append(current)
        current = unit
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, limit: int) -> typing.Iterator[str]:
    """Sentences; a sentence over `limit` as words; a word over `limit` cut to fit."""
    for sentence in _SENTENCE_END.split(text):
        if _utf16_len(sentence) <= limit:
            yield sentence
            continue
        for word in sentence.split(" "):
            while _utf16_len(word) > limit:
                head = word[:limit]
                while _utf16_len(head) > limit:
                    head = head[:-1]
                yield head
                word = word[len(head):]
            if word:
                yield word


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class RunwayNarrator(RunwayProvider):
    """Speech from Runway's text_to_speech (ElevenLabs models), written as a WAV file."""

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
        super().__init__(client, downloads, settings, sleep=sleep, clock=clock, journal=journal)
        self.voices = model_voices(settings.runway_tts_model)
        if not self.voices:
            raise ConfigurationError(
                f"RUNWAY_TTS_MODEL={settings.runway_tts_model} is not a Runway text-to-speech "
                "model with preset voices; set it to eleven_multilingual_v2"
            )
        if settings.runway_tts_voice not in self.voices:
            raise ConfigurationError(
                f"RUNWAY_TTS_VOICE={settings.runway_tts_voice} is not a voice of "
                f"{settings.runway_tts_model}; choose one of {', '.join(self.voices)}"
            )

    @property
    def model(self) -> str:
        return self.settings.runway_tts_model

    def narrate(self, text: str, language: str, out: Path, voice: str | None = None) -> Usage:
        """Speak `text` (any language the model knows: it hears it from the text); `voice`, a
        Runway preset name, replaces RUNWAY_TTS_VOICE, and any other name falls back to it."""
        if not text.strip():
            raise ProviderError("there is no text to narrate", permanent=True)
        preset = choose_voice(voice, self.voices, self.settings.runway_tts_voice)
        pieces = split_for_speech(text)
        outcomes: list[TaskOutcome] = []
        with tempfile.TemporaryDirectory(prefix="runway-speech-") as folder:
            downloaded: list[Path] = []
            for number, piece in enumerate(pieces):
                raw = Path(folder) / f"part-{number}.audio"
                params = self._params(piece, preset, language)
                try:
                    start = functools.partial(self._start, params)
                    outcomes.append(self.tasks.run(start, raw, key=f"{out}#{number}"))
                except ProviderError as exc:
                    if not outcomes:
                        raise
                    # The pieces already spoken were paid for: the ledger keeps them.
                    done = self._speech_usage(pieces[: len(outcomes)], outcomes)
                    raise ProviderError(
                        exc.reason, permanent=exc.permanent, kind=exc.kind, usage=done
                    ) from exc
                downloaded.append(raw)
            write_narration(downloaded, Path(out))
        return self._speech_usage(pieces, outcomes)

    def _params(self, text: str, preset: str, language: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "prompt_text": text,
            "voice": {"type": "runway-preset", "preset_id": preset},
        }
        # Newer models take the language as a hint; eleven_multilingual_v2 hears it.
        code = language.strip().lower()
        if "language_code" in model_fields(self.model) and re.fullmatch(r"[a-z]{2}", code):
            params["language_code"] = code
        return params

    def _start(self, params: dict[str, Any]) -> str:
        return self.client.text_to_speech.create(**params).id

    def _speech_usage(self, pieces: Sequence[str], outcomes: Sequence[TaskOutcome]) -> Usage:
        charged = [o.credits for o in outcomes]
        if all(c is not None for c in charged):
            credits = float(sum(c for c in charged if c is not None))
        else:  # Runway did not say: Runway's price per 50 characters
            units = sum(math.ceil(len(p) / CHARS_PER_PRICE_UNIT) for p in pieces)
            credits = units * self.settings.runway_tts_credits_per_50_chars
        return Usage(
            provider=self.name,
            model=self.model,
            units=credits,
            unit="credits",
            cost_usd=round(credits * self.settings.runway_usd_per_credit, 6),
            request_id=outcomes[0].task_id if outcomes else None,
            attempts=sum(o.attempts for o in outcomes),
        )


def write_narration(parts: Sequence[Path], out: Path) -> None:
    """Join Runway's audio files into our narration WAV; audio ffmpeg cannot read is a plain
    refusal (a new task would cost again and likely send the same)."""
    inputs = [arg for part in parts for arg in ("-i", str(part))]
    joined = "".join(f"[{i}:a]" for i in range(len(parts)))
    graph = f"{joined}concat=n={len(parts)}:v=0:a=1[speech]"
    try:
        with atomic_output(out) as tmp:
            run_ffmpeg(
                [*inputs, "-filter_complex", graph, "-map", "[speech]",
                 "-ac", "1", "-ar", str(SPEECH_SAMPLE_RATE), "-c:a", "pcm_s16le",
                 "-f", "wav", str(tmp)],
                what="reading Runway's speech",
            )
    except FFmpegError as exc:
        log.warning("Runway's speech could not be read: %s", exc)
        raise ProviderError("Runway sent audio we could not read", permanent=True) from exc
