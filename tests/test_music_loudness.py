"""The sound of the final video: music bed, ducking under the voice, -14 LUFS, with real ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from videobot.formats import VideoFormat
from videobot.media.assembly import AssemblyResult, assemble_video
from videobot.media.audio_mix import measure_loudness
from videobot.media.ffmpeg import ffmpeg_exe, run_ffmpeg
from videobot.media.music import MOODS, make_music_bed, pick_music_file, synthesise_pad
from videobot.media.probe import audio_rms, probe
from videobot.providers.offline.narrator import OfflineNarrator

RATE = 16_000
TEXTS = (
    "Every river starts as a single drop of rain. Then it finds a path downhill.",
    "Over thousands of years the water cuts valleys, carries stones, and feeds forests. "
    "Cities grow along its banks.",
    "Next time you see a river, remember the rain that made it.",
)
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng missing")


def _clip(out: Path, size: tuple[int, int]) -> Path:
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"color=c=0x204060:s={size[0]}x{size[1]}:r=24:d=5",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "48", str(out)],
        what="making a clip",
    )
    return out


def _tone(out: Path, seconds: float, frequency: int, rate: int = 24_000) -> Path:
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"sine=frequency={frequency}:duration={seconds}:sample_rate={rate}",
         str(out)],
        what="making a tone",
    )
    return out


def _samples(media: Path) -> np.ndarray:
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(media), "-vn", "-ac", "1",
         "-ar", str(RATE), "-f", "s16le", "-"], capture_output=True, check=True,
    )
    return np.frombuffer(proc.stdout, dtype="<i2").astype(np.float64) / 32768.0


def _band_db(samples: np.ndarray, window: tuple[float, float], frequency: float) -> float:
    """Power in dB of the +-30 Hz band around `frequency` within a (start, end) window."""
    chunk = samples[int(window[0] * RATE) : int(window[1] * RATE)]
    spectrum = np.abs(np.fft.rfft(chunk * np.hanning(chunk.size))) ** 2
    freqs = np.fft.rfftfreq(chunk.size, 1 / RATE)
    band = spectrum[(freqs > frequency - 30) & (freqs < frequency + 30)].sum()
    return float(10 * np.log10(band / chunk.size + 1e-20))


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sound-inputs")


@pytest.fixture(scope="module")
def clips(media: Path) -> list[Path]:
    return [_clip(media / "clip.mp4", VideoFormat.LANDSCAPE.size)] * 10


@pytest.fixture(scope="module")
def speech(media: Path) -> list[Path]:
    """Three espeak-ng narrations, each shorter than its section, so each section ends quiet."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng missing")
    narrator = OfflineNarrator()
    paths = [media / f"speech-{i}.wav" for i in range(3)]
    for text, path in zip(TEXTS, paths, strict=True):
        narrator.narrate(text, "en", path)
    return paths


@pytest.fixture(scope="module")
def with_pad(clips: list[Path], speech: list[Path], media: Path) -> AssemblyResult:
    bed = make_music_bed("calm", 50, media / "bed.wav", seed=7)
    return assemble_video(clips, speech, VideoFormat.LANDSCAPE, media / "pad" / "video.mp4",
                          music=bed.path)


@pytest.fixture(scope="module")
def without_music(clips: list[Path], speech: list[Path], media: Path) -> AssemblyResult:
    return assemble_video(clips, speech, VideoFormat.LANDSCAPE, media / "plain" / "video.mp4")


@needs_espeak
def test_mix_with_music_is_minus_14_lufs(with_pad: AssemblyResult) -> None:
    """Speech with a pad under it measures -14 +-1 LUFS integrated and at most -1 dBTP."""
    measured = measure_loudness(with_pad.path)
    assert measured["I"] == pytest.approx(-14.0, abs=1.0)
    assert measured["Peak"] <= -1.0
    assert with_pad.duration == pytest.approx(50.0, abs=0.1)


@needs_espeak
def test_speech_alone_is_normalised_and_clips_are_still_copied(
    without_music: AssemblyResult,
) -> None:
    """With no music and no captions the clips are stream-copied; speech is at -14 LUFS too."""
    assert without_music.video_copied
    measured = measure_loudness(without_music.path)
    assert measured["I"] == pytest.approx(-14.0, abs=1.0)
    assert measured["Peak"] <= -1.0


@needs_espeak
def test_music_fills_the_pauses(
    with_pad: AssemblyResult, without_music: AssemblyResult, speech: list[Path]
) -> None:
    """After each narration ends the pad is heard; the same stretch without music is silent."""
    tails = []
    for start, path, end in zip((0, 15, 35), speech, (15, 35, 47.5), strict=True):
        tails.append((start + probe(path).duration + 1.0, end - 0.3))
    assert all(b - a > 1.0 for a, b in tails)
    assert min(audio_rms(with_pad.path, tails)) > 0.005
    assert max(audio_rms(without_music.path, tails)) < 0.002
    assert with_pad.video_copied  # the bed changes only the sound


def test_music_dir_file_is_used_and_ducked_under_the_voice(
    clips: list[Path], tmp_path: Path
) -> None:
    """A 2 kHz file from the music folder plays >= 8 dB under a 500 Hz voice, ducked >= 6 dB."""
    folder = tmp_path / "music"
    folder.mkdir()
    _tone(folder / "bed.ogg", 20, 2000, rate=44_100)  # shorter than the video: it must loop
    (folder / "notes.txt").write_text("not music")
    bed = make_music_bed("calm", 50, tmp_path / "bed.wav", seed=1, music_dir=folder)
    assert bed.source == "bed.ogg"
    voices = [_tone(tmp_path / f"v{i}.wav", s, 500) for i, s in enumerate((10, 14, 11))]
    result = assemble_video(clips, voices, VideoFormat.LANDSCAPE, tmp_path / "video.mp4",
                            music=bed.path)
    samples = _samples(result.path)
    speaking = [(2.0, 9.0), (17.0, 28.0), (37.0, 45.0)]
    pauses = [(11.5, 14.5), (30.5, 34.5)]  # 0.6 s release after the voice, then the bed alone
    for window in speaking:
        assert _band_db(samples, window, 500) - _band_db(samples, window, 2000) >= 8.0, window
    ducked = max(_band_db(samples, w, 2000) for w in speaking)
    open_bed = min(_band_db(samples, w, 2000) for w in pauses)
    assert open_bed - ducked >= 6.0
    assert min(audio_rms(result.path, pauses)) > 0.005
    assert measure_loudness(result.path)["I"] == pytest.approx(-14.0, abs=1.0)


def test_music_file_choice_depends_only_on_the_seed(tmp_path: Path) -> None:
    """The same seed picks the same file; audio files only; an empty folder picks none."""
    assert pick_music_file(tmp_path, 3) is None
    for name in ("a.mp3", "b.flac", "c.wav", "readme.md"):
        (tmp_path / name).write_bytes(b"")
    picks = {pick_music_file(tmp_path, seed) for seed in range(40)}
    assert picks == {tmp_path / "a.mp3", tmp_path / "b.flac", tmp_path / "c.wav"}
    assert pick_music_file(tmp_path, 11) == pick_music_file(tmp_path, 11)


def test_pad_is_deterministic_per_seed_and_differs_by_mood(tmp_path: Path) -> None:
    """A pad is 50 s at the asked rate, the same for a seed, other for another seed or mood."""
    bed = make_music_bed("wonder", 50, tmp_path / "bed.wav", seed=5, sample_rate=22_050)
    info = probe(bed.path)
    assert (info.sample_rate, bed.source) == (22_050, "wonder pad")
    assert info.duration == pytest.approx(50.0, abs=0.05)
    pads = {m: synthesise_pad(m, 10, 8000, seed=5) for m in MOODS}
    assert np.array_equal(pads["calm"], synthesise_pad("calm", 10, 8000, seed=5))
    assert not np.array_equal(pads["calm"], synthesise_pad("calm", 10, 8000, seed=6))
    for a in MOODS:
        for b in MOODS:
            if a < b:
                assert not np.allclose(pads[a], pads[b], atol=1e-3), (a, b)
    assert synthesise_pad("no such mood", 1, 8000, seed=5).size == 8000  # falls back to calm
    # Slow attack: the first 50 ms are far quieter than the bed's level.
    level = float(np.sqrt(np.mean(pads["calm"] ** 2)))
    assert float(np.sqrt(np.mean(pads["calm"][:400] ** 2))) < level / 10
