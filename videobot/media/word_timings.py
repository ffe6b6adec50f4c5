"""When each word of a narration is spoken: the words of a text, their timings, the sidecar file.

A narration `speech.wav` has its timings beside it in `speech.words.json`, so captions (and a
rerun of the assembly) read them instead of paying for the narration again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from videobot.media.files import atomic_output

_TOKEN = re.compile(r"\S+")
_WORDLIKE = re.compile(r"\w")
_SIDECAR_VERSION = 1


@dataclass(frozen=True)
class WordTiming:
    """One spoken word (with its punctuation, as written) and its span in seconds."""

    word: str
    start: float
    end: float


@dataclass(frozen=True)
class TextWord:
    """A word of the text and where it stands in it (character offsets, end exclusive)."""

    text: str
    begin: int
    end: int


def split_words(text: str) -> list[TextWord]:
    """The words of `text`: whitespace-separated tokens with a letter or digit.

    A token of punctuation only ("—", "…") is glued to the word before it (to the next one
    at the start), so every word shown is a word spoken.
    """
    words: list[TextWord] = []
    pending: TextWord | None = None  # leading punctuation, waiting for the first word
    for match in _TOKEN.finditer(text):
        token = TextWord(match.group(), match.start(), match.end())
        if _WORDLIKE.search(token.text):
            if pending is not None:
                token = TextWord(f"{pending.text} {token.text}", pending.begin, token.end)
                pending = None
            words.append(token)
        elif words:
            last = words[-1]
            words[-1] = TextWord(f"{last.text} {token.text}", last.begin, token.end)
        else:
            pending = token if pending is None else TextWord(
                f"{pending.text} {token.text}", pending.begin, token.end)
    return words


def word_weight(word: str) -> float:
    """How long a word takes to say, roughly: its vowel groups (syllables), at least one."""
    letters = "".join(ch for ch in word.lower() if ch.isalnum())
    syllables = len(re.findall(r"[aeiouyаеёиоуыэюя]+", letters))
    return float(max(1, syllables, len(letters) // 4))


def word_timings_path(audio: Path) -> Path:
    """Where the timings of the narration `audio` live: beside it, `<name>.words.json`."""
    return Path(audio).with_suffix(".words.json")


def write_word_timings(path: Path, timings: Sequence[WordTiming], *, source: str) -> Path:
    """Store `timings` as JSON at `path`; `source` says how they were found (engine, spread)."""
    body = {
        "version": _SIDECAR_VERSION,
        "source": source,
        "words": [{"word": t.word, "start": t.start, "end": t.end} for t in timings],
    }
    with atomic_output(Path(path)) as tmp:
        tmp.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    return Path(path)


def read_word_timings(path: Path) -> list[WordTiming]:
    """The timings stored by `write_word_timings` (ValueError when the file is not one)."""
    body = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(body, dict) or body.get("version") != _SIDECAR_VERSION:
        raise ValueError(f"{Path(path).name} is not a word timings file")
    return [WordTiming(str(w["word"]), float(w["start"]), float(w["end"])) for w in body["words"]]


def read_word_timings_source(path: Path) -> str:
    """How the timings at `path` were found: "espeak-ng" (the engine) or "speech-spans"."""
    return str(json.loads(Path(path).read_text(encoding="utf-8")).get("source", ""))
