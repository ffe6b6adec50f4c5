"""Word timings for a narration that came as bare audio: the known script aligned to it.

espeak-ng says the same text and reports where each of its own words starts; both signals
become cepstral frames (25 ms windows, 10 ms hop), dynamic time warping pairs the frames, and
each espeak word is carried along the warping path onto the narration's clock. Words are
then kept inside the narration's stretches of speech, so none sits over a pause. No model
weights: only numpy and the espeak-ng library.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from videobot.media.espeak_words import EspeakError, synthesize
from videobot.media.ffmpeg import ffmpeg_exe
from videobot.media.speech_spans import speech_spans
from videobot.media.word_alignment import align_word_starts, voiced_frames
from videobot.media.word_timings import WordTiming

ESPEAK_VOICES = {"en": "en-us", "ru": "ru"}
_WORDS_PER_MINUTE = 175
_HOP_SECONDS = 0.01
_WINDOW_SECONDS = 0.025
_MEL_BANDS = 20
_CEPSTRA = 13
_MIN_WORD_SECONDS = 0.04


def align_script(audio: Path, text: str, language: str) -> list[WordTiming] | None:
    """Each word of `text` as spoken in `audio`; None when espeak-ng cannot say the language
    (no voice, no library) or the audio cannot be read, so the caller spreads the words."""
    voice = ESPEAK_VOICES.get(language)
    if voice is None or not text.strip():
        return None
    try:
        reference = synthesize(text, voice, _WORDS_PER_MINUTE)
    except EspeakError:
        return None
    spoken = align_word_starts(text, reference.word_starts, reference.samples, reference.rate)
    samples = _decode(audio, reference.rate)
    if not spoken or samples is None or samples.size == 0:
        return None
    path = _warping_path(reference.samples, samples, reference.rate)
    if path is None:
        return None
    return keep_inside_speech(_carry(spoken, path), speech_spans(audio))


def _decode(audio: Path, rate: int) -> np.ndarray | None:
    """The audio as 16-bit mono samples at `rate` (ffmpeg reads any format a narrator gives)."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(audio),
         "-vn", "-ac", "1", "-ar", str(rate), "-f", "s16le", "-"],
        capture_output=True, check=False,
    )
    if proc.returncode != 0:
        return None
    return np.frombuffer(proc.stdout[: len(proc.stdout) // 2 * 2], dtype="<i2")


def cepstral_frames(samples: np.ndarray, rate: int) -> np.ndarray:
    """Per 10 ms frame, mel cepstra 1..12 normalised to zero mean and unit variance over the
    utterance (which takes out most of the voice and the recording's colour)."""
    hop, window = int(rate * _HOP_SECONDS), int(rate * _WINDOW_SECONDS)
    signal = samples.astype(np.float32) / 32768.0
    signal = np.append(signal[0:1], signal[1:] - 0.97 * signal[:-1])  # pre-emphasis
    count = max(1, 1 + (len(signal) - window) // hop)
    signal = np.pad(signal, (0, max(0, (count - 1) * hop + window - len(signal))))
    index = np.arange(window)[None, :] + hop * np.arange(count)[:, None]
    size = 1 << (window - 1).bit_length()
    power = np.abs(np.fft.rfft(signal[index] * np.hanning(window), n=size)) ** 2
    mel = np.log(power @ _mel_filters(rate, size).T + 1e-8)
    bands = np.arange(_MEL_BANDS)
    dct = np.cos(np.pi / _MEL_BANDS * (bands[None, :] + 0.5) * np.arange(_CEPSTRA)[:, None])
    cepstra = (mel @ dct.T)[:, 1:]  # c0 is loudness: the two recordings differ there
    return (cepstra - cepstra.mean(0)) / (cepstra.std(0) + 1e-6)


def _mel_filters(rate: int, size: int) -> np.ndarray:
    def to_mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    edges_mel = np.linspace(to_mel(np.array(60.0)), to_mel(np.array(min(7600.0, rate / 2))),
                            _MEL_BANDS + 2)
    edges = 700.0 * (10 ** (edges_mel / 2595.0) - 1.0)
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    low, mid, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - low) / (mid - low)
    falling = (high - freqs[None, :]) / (high - mid)
    return np.maximum(0.0, np.minimum(rising, falling))


def _warping_path(reference: np.ndarray, narration: np.ndarray, rate: int) -> np.ndarray | None:
    """For each reference frame, the first and last narration frame paired with it
    (an array of shape (reference frames, 2)); leading and trailing silence is left out of
    the warp so the band around the diagonal fits the speech."""
    ref_from, ref_to = _sounding(reference, rate)
    nar_from, nar_to = _sounding(narration, rate)
    if ref_to - ref_from < 2 or nar_to - nar_from < 2:
        return None
    ref = cepstral_frames(reference, rate)[ref_from:ref_to]
    nar = cepstral_frames(narration, rate)[nar_from:nar_to]
    pairs = dtw_path(ref, nar)
    total = max(ref_to, len(reference) // int(rate * _HOP_SECONDS))
    spans = np.full((total, 2), nar_to - 1, dtype=np.int64)  # after the speech: its end
    spans[:ref_from] = nar_from
    first = np.full(len(ref), np.iinfo(np.int64).max)
    last = np.full(len(ref), -1)
    np.minimum.at(first, pairs[:, 0], pairs[:, 1])
    np.maximum.at(last, pairs[:, 0], pairs[:, 1])
    spans[ref_from:ref_to, 0] = first + nar_from
    spans[ref_from:ref_to, 1] = last + nar_from
    return spans


def _sounding(samples: np.ndarray, rate: int) -> tuple[int, int]:
    """The first and past-the-last sounding 10 ms frame."""
    voiced = np.flatnonzero(voiced_frames(samples, rate))
    if voiced.size == 0:
        return 0, 0
    return int(voiced[0]), int(voiced[-1]) + 1


def dtw_path(a: np.ndarray, b: np.ndarray, *, band: float = 0.25) -> np.ndarray:
    """The cheapest monotonic pairing of the frames of `a` and `b` (rows (i, j)), steps
    diagonal, down or across, kept within `band` (a share of the longer one) of the diagonal."""
    n, m = len(a), len(b)
    width = max(50, int(band * max(n, m)), abs(n - m) + 10)
    centre = np.arange(n) * (m - 1) / max(1, n - 1)
    lows = np.clip(np.floor(centre - width).astype(int), 0, m - 1)
    highs = np.clip(np.ceil(centre + width).astype(int) + 1, 1, m)
    norms_b = np.sum(b * b, axis=1)
    # Only the band is kept (rows of `width`-ish cells): a minute of audio stays a few MB.
    band_cost = np.full((n, int((highs - lows).max())), np.inf, dtype=np.float32)
    previous = np.full(m, np.inf)
    for i in range(n):  # rows one by one; within a row, numpy
        lo, hi = lows[i], highs[i]
        row = np.sqrt(np.maximum(0.0, np.sum(a[i] * a[i]) + norms_b[lo:hi]
                                 - 2.0 * (b[lo:hi] @ a[i])))
        if i == 0:
            entry = np.full(hi - lo, np.inf)
            entry[0] = row[0] if lo == 0 else np.inf
        else:
            diagonal = np.concatenate(([previous[lo - 1] if lo > 0 else np.inf],
                                       previous[lo:hi - 1]))
            entry = row + np.minimum(previous[lo:hi], diagonal)
        # Steps across the row: D[j] = min over k <= j of entry[k] + row[k+1..j].
        sums = np.cumsum(row)
        values = sums + np.minimum.accumulate(entry - sums)
        previous = np.full(m, np.inf)
        previous[lo:hi] = values
        band_cost[i, : hi - lo] = values
    return _backtrack(band_cost, lows, highs, m)


def _backtrack(band_cost: np.ndarray, lows: np.ndarray, highs: np.ndarray,
               m: int) -> np.ndarray:
    def cost(i: int, j: int) -> float:
        return float(band_cost[i, j - lows[i]]) if lows[i] <= j < highs[i] else np.inf

    i, j = band_cost.shape[0] - 1, m - 1
    pairs = [(i, j)]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            steps = (cost(i - 1, j - 1), cost(i - 1, j), cost(i, j - 1))
            best = int(np.argmin(steps))
            i, j = (i - 1, j - 1) if best == 0 else (i - 1, j) if best == 1 else (i, j - 1)
        pairs.append((i, j))
    return np.array(pairs[::-1], dtype=np.int64)


def _carry(words: Sequence[WordTiming], spans: np.ndarray) -> list[WordTiming]:
    """The reference's words moved onto the narration's clock along the warping path."""
    last = len(spans) - 1
    moved: list[WordTiming] = []
    for word in words:
        start_frame = min(last, max(0, int(round(word.start / _HOP_SECONDS))))
        end_frame = min(last, max(0, int(round(word.end / _HOP_SECONDS)) - 1))
        start = float(spans[start_frame, 0]) * _HOP_SECONDS
        end = float(spans[end_frame, 1] + 1) * _HOP_SECONDS
        moved.append(WordTiming(word.word, round(start, 3), round(max(end, start), 3)))
    return moved


def keep_inside_speech(words: Sequence[WordTiming],
                       spans: Sequence[tuple[float, float]]) -> list[WordTiming]:
    """Each word clamped into the stretch of speech it overlaps most (the nearest one when it
    lies in a pause), in order and without overlaps, so no word covers a pause."""
    if not spans:
        return list(words)
    kept: list[WordTiming] = []
    for word in words:
        overlaps = [min(word.end, b) - max(word.start, a) for a, b in spans]
        best = int(np.argmax(overlaps))
        if overlaps[best] <= 0:
            middle = (word.start + word.end) / 2
            best = min(range(len(spans)),
                       key=lambda k: max(spans[k][0] - middle, middle - spans[k][1], 0.0))
        a, b = spans[best]
        floor = kept[-1].end if kept else 0.0
        start = min(max(word.start, a, floor), b)
        end = min(max(word.end, start + _MIN_WORD_SECONDS), b)
        if end <= start:  # the span is used up by the words before: share its very end
            start, end = max(a, b - _MIN_WORD_SECONDS), b
        kept.append(WordTiming(word.word, round(float(start), 3), round(float(end), 3)))
    return kept
