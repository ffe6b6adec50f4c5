"""Local text-to-speech with espeak-ng: robotic, but real speech, offline and free.

Through libespeak-ng (one fresh process per narration, so the same text and voice always give
the same audio) the engine also says when each word starts; the narrator stores those timings
beside the audio (`word_timings_path(out)`, read with `read_word_timings`). Without the library
it runs the `espeak-ng` command and spreads the words over the speech it hears.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

from videobot.media.espeak_words import (
    EspeakError,
    EspeakLibraryMissing,
    EspeakSpeech,
    espeak_library_available,
    synthesize,
)
from videobot.media.ffmpeg import FFmpegError, run_ffmpeg
from videobot.media.files import atomic_output
from videobot.media.speech_spans import spread_over_speech
from videobot.media.word_alignment import align_word_starts
from videobot.media.word_timings import word_timings_path, write_word_timings
from videobot.providers.base import ProviderError, Usage

VOICES = {"en": "en-us", "ru": "ru"}
# espeak-ng speaks at 22.05 kHz; 24 kHz is the common TTS rate, and assembly then encodes its
# AAC at 24 kHz too (half the work of 48 kHz, nothing lost).
SAMPLE_RATE = 24_000
_TIMEOUT_SECONDS = 120


# espeak-ng's voice variants (appended as "+m3"), for narrators chosen by name.
VARIANTS = ("m1", "f2", "m3", "f4", "m7", "f5")


def _variant(voice: str | None) -> str:
    if not voice:
        return ""
    return "+" + VARIANTS[sum(voice.encode()) % len(VARIANTS)]


class OfflineNarrator:
    """Speaks text with espeak-ng and writes a 24 kHz mono 16-bit WAV and its word timings."""

    name = "offline"
    model = "espeak-ng"

    def __init__(self, words_per_minute: int = 165, *, binary: str = "espeak-ng",
                 use_library: bool = True) -> None:
        self.words_per_minute = words_per_minute
        self.binary = binary
        # True: libespeak-ng when installed, audio and the engine's own word timings in one
        # run; False: always the command, with timings spread over the speech.
        self.use_library = use_library

    def narrate(self, text: str, language: str, out: Path, voice: str | None = None) -> Usage:
        """`voice`, any name, picks one of espeak-ng's voice variants, the same for a name."""
        spoken = VOICES.get(language.lower().replace("_", "-").split("-")[0])
        if spoken is None:
            raise ProviderError(
                f"offline narration speaks {', '.join(sorted(VOICES))}, not {language!r}",
                permanent=True,
            )
        if not text.strip():
            raise ProviderError("there is no text to narrate", permanent=True)
        with tempfile.TemporaryDirectory(prefix="narration-") as folder:
            raw = Path(folder) / "speech.wav"
            speech = self._speak_with_library(text, spoken + _variant(voice))
            if speech is not None:
                _write_wav(raw, speech)
                to_narration_wav(raw, Path(out))
                timings = align_word_starts(text, speech.word_starts, speech.samples, speech.rate)
                write_word_timings(word_timings_path(out), timings, source="espeak-ng")
            else:
                self._speak_with_command(text, spoken + _variant(voice), raw)
                to_narration_wav(raw, Path(out))
                timings = spread_over_speech(Path(out), text)
                write_word_timings(word_timings_path(out), timings, source="speech-spans")
        return Usage(provider=self.name, model=self.model, units=len(text), unit="characters")

    def _speak_with_library(self, text: str, voice: str) -> EspeakSpeech | None:
        """The library's speech, or None when the library is off or not installed."""
        if not (self.use_library and espeak_library_available()):
            return None
        try:
            return synthesize(text, voice, self.words_per_minute)
        except EspeakLibraryMissing:
            return None
        except EspeakError as exc:
            raise ProviderError(str(exc), permanent=exc.permanent) from exc

    def _speak_with_command(self, text: str, voice: str, raw: Path) -> None:
        exe = shutil.which(self.binary)
        if exe is None:
            raise ProviderError(
                "espeak-ng is not installed; install it with: apt-get install espeak-ng",
                permanent=True,
            )
        # The text goes through stdin: no shell, and no text is ever read as an option.
        proc = subprocess.run(
            [exe, "-v", voice, "-s", str(self.words_per_minute), "-w", str(raw), "--stdin"],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=_TIMEOUT_SECONDS,
            check=False,
        )
        if proc.returncode != 0 or not raw.is_file() or raw.stat().st_size <= 44:
            reason = proc.stderr.decode(errors="replace").strip() or "no audio written"
            raise ProviderError(f"espeak-ng failed: {reason}")


def _write_wav(path: Path, speech: EspeakSpeech) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(speech.rate)
        wav.writeframes(speech.samples.tobytes())


def to_narration_wav(raw: Path, out: Path) -> None:
    """A local engine's WAV (22.05 kHz from espeak-ng and Piper) as the 24 kHz mono 16-bit
    WAV the assembly expects."""
    try:
        with atomic_output(out) as tmp:
            run_ffmpeg(
                ["-i", str(raw), "-ac", "1", "-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le",
                 "-f", "wav", str(tmp)],
                what="converting the narration",
            )
    except FFmpegError as exc:
        raise ProviderError(str(exc)) from exc
