"""Local text-to-speech with espeak-ng: robotic, but real speech, offline and free."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from videobot.media.ffmpeg import FFmpegError, run_ffmpeg
from videobot.media.files import atomic_output
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
    """Speaks text with espeak-ng and writes a 24 kHz mono 16-bit WAV."""

    name = "offline"
    model = "espeak-ng"

    def __init__(self, words_per_minute: int = 165, *, binary: str = "espeak-ng") -> None:
        self.words_per_minute = words_per_minute
        self.binary = binary

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
        exe = shutil.which(self.binary)
        if exe is None:
            raise ProviderError(
                "espeak-ng is not installed; install it with: apt-get install espeak-ng",
                permanent=True,
            )
        with tempfile.TemporaryDirectory(prefix="narration-") as folder:
            raw = Path(folder) / "speech.wav"
            # The text goes through stdin: no shell, and no text is ever read as an option.
            proc = subprocess.run(
                [exe, "-v", spoken + _variant(voice), "-s", str(self.words_per_minute),
                 "-w", str(raw), "--stdin"],
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=_TIMEOUT_SECONDS,
                check=False,
            )
            if proc.returncode != 0 or not raw.is_file() or raw.stat().st_size <= 44:
                reason = proc.stderr.decode(errors="replace").strip() or "no audio written"
                raise ProviderError(f"espeak-ng failed: {reason}")
            try:
                with atomic_output(Path(out)) as tmp:
                    run_ffmpeg(
                        ["-i", str(raw), "-ac", "1", "-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le",
                         "-f", "wav", str(tmp)],
                        what="converting the narration",
                    )
            except FFmpegError as exc:
                raise ProviderError(str(exc)) from exc
        return Usage(provider=self.name, model=self.model, units=len(text), unit="characters")
