"""libespeak-ng through ctypes, run as its own short-lived process by `espeak_words`.

The library keeps state between texts (the same text and voice comes out a few samples
different after another synthesis, more after a Russian one), so each synthesis gets a fresh
process: `python -I -S espeak_engine.py LIBRARY VOICE WPM` reads the text on stdin and writes
one JSON line ({"rate", "word_starts"}) and then the 16-bit mono samples to stdout. Standard
library only, so the process starts quickly and imports nothing of the project.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import sys

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000  # the pause after the last sentence, as the espeak-ng command adds it
_RATE = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1

# Exit codes the parent tells apart.
EXIT_NO_LIBRARY = 3
EXIT_REFUSED = 4


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


def library_name() -> str | None:
    """The name libespeak-ng loads by, or None when it is not installed."""
    return ctypes.util.find_library("espeak-ng")


def _load(name: str) -> tuple[ctypes.CDLL, int] | None:
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


def _speak(lib: ctypes.CDLL, text: str, voice: str, words_per_minute: int
           ) -> tuple[bytes, list[tuple[int, float]]] | str:
    """The samples and (character offset, start s) of each word, or why espeak-ng refused."""
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
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        return f"espeak-ng has no voice {voice!r}"
    lib.espeak_SetParameter(_RATE, int(words_per_minute), 0)
    status = lib.espeak_Synth(encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0,
                              _CHARS_UTF8 | _ENDPAUSE, None, None)
    lib.espeak_Synchronize()
    if status != 0:
        return f"espeak-ng could not speak the text (error {status})"
    return b"".join(chunks), starts


def main(argv: list[str]) -> int:
    # The parent finds the library once: the search runs `ldconfig`, slower than a synthesis.
    name, voice, words_per_minute = argv[0], argv[1], int(argv[2])
    text = sys.stdin.buffer.read().decode("utf-8")
    loaded = _load(name)
    if loaded is None:
        sys.stderr.write("the espeak-ng library is not installed\n")
        return EXIT_NO_LIBRARY
    lib, rate = loaded
    spoken = _speak(lib, text, voice, words_per_minute)
    if isinstance(spoken, str):
        sys.stderr.write(spoken + "\n")
        return EXIT_REFUSED
    samples, starts = spoken
    header = json.dumps({"rate": rate, "word_starts": starts})  # ASCII: no newline inside
    sys.stdout.buffer.write(header.encode() + b"\n" + samples)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
