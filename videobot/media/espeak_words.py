"""espeak-ng through its C library: the audio and each word's start from one synthesis.

The library keeps global state, so one lock serialises every synthesis in the process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000  # the pause after the last sentence, as the espeak-ng command adds it
_RATE = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1


class _Event(ctypes.Structure):
    """espeak_EVENT from speak_lib.h."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based, in characters of the input
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds from the start of the audio
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)
_lock = threading.Lock()


class EspeakError(RuntimeError):
    """The espeak-ng library refused the voice or the text."""


@dataclass(frozen=True)
class EspeakSpeech:
    """16-bit mono samples, their rate, and (character offset, start s) of each spoken word."""

    samples: np.ndarray
    rate: int
    word_starts: list[tuple[int, float]]


@lru_cache(maxsize=1)
def _library() -> tuple[ctypes.CDLL, int] | None:
    name = ctypes.util.find_library("espeak-ng")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_Callback]
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
        ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_DONT_EXIT)
    if rate <= 0:
        return None
    return lib, int(rate)


def espeak_library_available() -> bool:
    """Whether libespeak-ng could be loaded and started in this process."""
    return _library() is not None


def synthesize(text: str, voice: str, words_per_minute: int) -> EspeakSpeech:
    """Speak `text` with `voice` (e.g. "en-us+m3") at `words_per_minute`, in memory."""
    loaded = _library()
    if loaded is None:
        raise EspeakError("the espeak-ng library is not installed")
    lib, rate = loaded
    chunks: list[bytes] = []
    starts: list[tuple[int, float]] = []

    def collect(wav: ctypes._Pointer, count: int, events: ctypes._Pointer) -> int:
        if count > 0:
            chunks.append(ctypes.string_at(wav, count * 2))
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_WORD:
                starts.append((max(0, event.text_position - 1), event.audio_position / 1000))
            i += 1
        return 0  # 0 = go on

    callback = _Callback(collect)  # kept alive until the synthesis returns
    encoded = text.replace("\x00", " ").encode("utf-8")
    with _lock:
        lib.espeak_SetSynthCallback(callback)
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise EspeakError(f"espeak-ng has no voice {voice!r}")
        lib.espeak_SetParameter(_RATE, int(words_per_minute), 0)
        status = lib.espeak_Synth(encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0,
                                  _CHARS_UTF8 | _ENDPAUSE, None, None)
        lib.espeak_Synchronize()
    if status != 0:
        raise EspeakError(f"espeak-ng could not speak the text (error {status})")
    samples = np.frombuffer(b"".join(chunks), dtype="<i2")
    return EspeakSpeech(samples=samples, rate=rate, word_starts=starts)
