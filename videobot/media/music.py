"""The music bed under the narration: a soft pad synthesised here, or a file the user supplied."""

from __future__ import annotations

import hashlib
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from videobot.media.ffmpeg import FFmpegError, run_ffmpeg
from videobot.media.files import atomic_output

if TYPE_CHECKING:  # numpy is imported where a pad is made: every flow-run process imports
    import numpy as np  # this module, and most start to wait at a gate, not to make music

MOODS = ("calm", "upbeat", "dramatic", "wonder")
DEFAULT_MOOD = "calm"
# Every bed is rendered near this loudness, so the mix can place it under the voice by a fixed
# margin whatever its source.
BED_LEVEL_DBFS = -24.0
_TABLE_SIZE = 4096
MUSIC_EXTENSIONS = frozenset({".mp3", ".wav", ".ogg", ".oga", ".opus", ".flac", ".m4a", ".aac"})


@dataclass(frozen=True)
class Mood:
    """A chord progression (semitones above A1 = 55 Hz), its pace and its colour."""

    chords: tuple[tuple[int, ...], ...]
    chord_seconds: float
    brightness: float  # weight of the second and third harmonics
    pulse_hz: float = 0.0  # a soft rhythmic swell for moods that move; 0 = sustained
    octave: int = 1  # octaves above A1 for the chord tones


_MOODS: dict[str, Mood] = {
    # I - vi - IV - V in C, voiced low and sustained.
    "calm": Mood(((3, 7, 10, 15), (0, 3, 7, 12), (8, 12, 15, 20), (10, 14, 17, 22)), 6.0, 0.25),
    # I - V - vi - IV in D, brighter, pulsing at 120 bpm eighths.
    "upbeat": Mood(((5, 9, 12, 17), (12, 16, 19, 24), (0, 5, 9, 12), (8, 12, 15, 20)), 4.0,
                   0.45, pulse_hz=4.0),
    # i - VI - III - VII in A minor, low and slow.
    "dramatic": Mood(((0, 3, 7, 12), (8, 12, 15, 20), (3, 7, 10, 15), (10, 14, 17, 22)), 8.0,
                     0.35, octave=0),
    # Major sevenths and added ninths, high and airy.
    "wonder": Mood(((3, 7, 10, 14, 17), (8, 12, 15, 19, 22), (0, 4, 7, 11, 14),
                    (5, 9, 12, 16, 19)), 7.0, 0.15, octave=2),
}


@dataclass(frozen=True)
class MusicBed:
    path: Path
    source: str  # "calm pad" or the chosen file's name, for the job's notes


def normalise_mood(mood: str | None) -> str:
    """One of MOODS: the given mood when it is one (any case), else the default."""
    name = (mood or "").strip().lower()
    return name if name in _MOODS else DEFAULT_MOOD


def pick_music_file(music_dir: Path, seed: int) -> Path | None:
    """The same audio file of `music_dir` for the same seed; None when it holds none."""
    if not music_dir.is_dir():
        return None
    files = sorted(
        p for p in music_dir.iterdir() if p.is_file() and p.suffix.lower() in MUSIC_EXTENSIONS
    )
    if not files:
        return None
    # A hash rather than seed % n, so consecutive seeds do not walk the folder in order.
    digest = hashlib.sha256(str(seed).encode()).digest()
    return files[int.from_bytes(digest[:8], "big") % len(files)]


def make_music_bed(
    mood: str | None,
    seconds: float,
    out: Path,
    *,
    seed: int,
    music_dir: Path | None = None,
    sample_rate: int = 24_000,
) -> MusicBed:
    """A mono WAV of `seconds` at `sample_rate`: a file from `music_dir` or a synthesised pad."""
    out = Path(out)
    chosen = pick_music_file(Path(music_dir), seed) if music_dir else None
    if chosen is not None:
        _render_file(chosen, seconds, out, sample_rate)
        return MusicBed(out, chosen.name)
    name = normalise_mood(mood)
    samples = synthesise_pad(name, seconds, sample_rate, seed=seed)
    with atomic_output(out) as tmp:
        _write_wav(tmp, samples, sample_rate)
    return MusicBed(out, f"{name} pad")


def synthesise_pad(mood: str, seconds: float, sample_rate: int, *, seed: int) -> np.ndarray:
    """Float32 samples of a soft chord pad: slow attacks, chords crossfading, a little detune."""
    import numpy as np

    spec = _MOODS[normalise_mood(mood)]
    rng = np.random.default_rng(seed)
    count = int(round(seconds * sample_rate))
    t = np.arange(count, dtype=np.float64) / sample_rate
    # The seed moves the key by up to a fourth and starts the progression at another chord.
    transpose = int(rng.integers(0, 6))
    start = int(rng.integers(0, len(spec.chords)))
    root_hz = 55.0 * 2.0 ** (spec.octave + transpose / 12)
    out = np.zeros(count, dtype=np.float64)
    # One cycle of the voice's waveform, looked up instead of computing sines per sample.
    w = np.linspace(0, 2 * np.pi, _TABLE_SIZE, endpoint=False)
    table = (np.sin(w) + spec.brightness * (0.5 * np.sin(2 * w) + 0.25 * np.sin(3 * w)))
    table = table.astype(np.float32)
    step = spec.chord_seconds
    fade = min(2.5, step / 2)  # attack and release of each chord, overlapping its neighbours
    for k in range(int(np.ceil(seconds / step)) + 1):
        chord = spec.chords[(start + k) % len(spec.chords)]
        # The first chord swells in from silence; the others overlap their neighbours.
        begin, end = (k * step - fade / 2 if k else 0.0), (k + 1) * step + fade / 2
        lo, hi = max(0, int(begin * sample_rate)), min(count, int(end * sample_rate))
        if lo >= hi:
            continue
        local = t[lo:hi]
        envelope = np.clip(np.minimum(local - begin, end - local) / fade, 0.0, 1.0)
        envelope = np.sin(envelope * np.pi / 2) ** 2  # smooth, click-free swell
        tone = np.zeros(hi - lo, dtype=np.float32)
        for semitone in chord:
            f = root_hz * 2.0 ** (semitone / 12)
            for detune in (-0.004, 0.004):  # two voices a few cents apart: a chorus shimmer
                cycles = (f * (1 + detune)) * local + rng.uniform(0, 1)
                index = ((cycles - np.floor(cycles)) * _TABLE_SIZE).astype(np.int32)
                tone += table[index]
        out[lo:hi] += tone * envelope
    if spec.pulse_hz:
        out *= 0.75 + 0.25 * np.cos(2 * np.pi * spec.pulse_hz * t) ** 2
    out *= 0.85 + 0.15 * np.sin(2 * np.pi * 0.07 * t)  # a slow breath over the whole bed
    rms = float(np.sqrt(np.mean(out**2))) or 1.0
    return (out * (10 ** (BED_LEVEL_DBFS / 20) / rms)).astype(np.float32)


def _write_wav(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    import numpy as np

    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())


def _render_file(source: Path, seconds: float, out: Path, sample_rate: int) -> None:
    """Loop or trim the user's file to `seconds`, mono, levelled to about BED_LEVEL_DBFS."""
    # Single-pass loudnorm is approximate, which is all a bed level needs.
    level = f"loudnorm=I={BED_LEVEL_DBFS - 3:g}:TP=-6:LRA=11,aresample={sample_rate}"
    with atomic_output(out) as tmp:
        try:
            run_ffmpeg(
                ["-stream_loop", "-1", "-i", str(source), "-t", f"{seconds:g}", "-vn",
                 "-af", level, "-ac", "1", "-ar", str(sample_rate), "-c:a", "pcm_s16le",
                 "-f", "wav", str(tmp)],
                what=f"preparing the music file {source.name}",
            )
        except FFmpegError as exc:
            raise FFmpegError(f"the music file {source.name} cannot be used: {exc}") from exc
