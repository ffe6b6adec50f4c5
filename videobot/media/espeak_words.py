"""espeak-ng through its C library: the audio and each word's start from one synthesis.

libespeak-ng keeps state between texts inside a process, so every synthesis runs in a fresh
child process (`espeak_engine`): the same text and voice always give the same samples. The
child is started with `subprocess` (fork and exec at once), safe from many threads at a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from videobot.media import espeak_engine

_ENGINE = Path(espeak_engine.__file__)
_TIMEOUT_SECONDS = 120


class EspeakError(RuntimeError):
    """The espeak-ng library refused the voice or the text, or its process failed."""

    def __init__(self, message: str, *, permanent: bool = True) -> None:
        super().__init__(message)
        self.permanent = permanent


class EspeakLibraryMissing(EspeakError):
    """libespeak-ng is not installed (or will not start)."""


@dataclass(frozen=True)
class EspeakSpeech:
    """16-bit mono samples, their rate, and (character offset, start s) of each spoken word."""

    samples: np.ndarray
    rate: int
    word_starts: list[tuple[int, float]]


@lru_cache(maxsize=1)
def _library_name() -> str | None:
    return espeak_engine.library_name()


def espeak_library_available() -> bool:
    """Whether libespeak-ng is installed (found by the system's library search)."""
    return _library_name() is not None


def synthesize(text: str, voice: str, words_per_minute: int) -> EspeakSpeech:
    """Speak `text` with `voice` (e.g. "en-us+m3") at `words_per_minute`, in a fresh process."""
    library = _library_name()
    if library is None:
        raise EspeakLibraryMissing("the espeak-ng library is not installed")
    # -I: no environment, not the script's folder on sys.path; -S: no site-packages (the
    # engine needs only the standard library), which halves the start.
    command = [sys.executable, "-I", "-S", str(_ENGINE), library, voice, str(int(words_per_minute))]
    try:
        proc = subprocess.run(command, input=text.encode("utf-8"), capture_output=True,
                              timeout=_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired as exc:
        raise EspeakError(f"espeak-ng took longer than {_TIMEOUT_SECONDS} s",
                          permanent=False) from exc
    except OSError as exc:
        raise EspeakError("espeak-ng could not be started", permanent=False) from exc
    reason = proc.stderr.decode(errors="replace").strip()
    if proc.returncode == espeak_engine.EXIT_NO_LIBRARY:
        raise EspeakLibraryMissing(reason or "the espeak-ng library is not installed")
    if proc.returncode == espeak_engine.EXIT_REFUSED:
        raise EspeakError(reason or "espeak-ng refused the text")
    header, newline, body = proc.stdout.partition(b"\n")
    if proc.returncode != 0 or not newline:
        # The child's stderr may hold a Python traceback: not for a person to read.
        raise EspeakError(f"espeak-ng stopped unexpectedly (exit {proc.returncode})",
                          permanent=False)
    meta = json.loads(header)
    starts = [(int(offset), float(seconds)) for offset, seconds in meta["word_starts"]]
    samples = np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2")
    return EspeakSpeech(samples=samples, rate=int(meta["rate"]), word_starts=starts)
