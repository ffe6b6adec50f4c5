"""Reading media files with ffmpeg alone: stream parameters, audio levels, frames."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from videobot.media.ffmpeg import FFmpegError, run_ffmpeg
from videobot.media.probe import (
    audio_rms,
    extract_frame,
    parse_ffmpeg_info,
    probe,
    probe_many,
    share_codec_params,
)


def _clip(out: Path, size: str = "320x240", rate: int = 24, seconds: float = 2) -> Path:
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-shortest", str(out)],
        what="making a test clip",
    )
    return out


def test_probe_reads_video_and_audio_streams(tmp_path: Path) -> None:
    """probe reports duration, codecs, size, frame rate, pixel format and sample rate."""
    info = probe(_clip(tmp_path / "a.mp4", "320x240", 24, 2))
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert (info.video_codec, info.width, info.height) == ("h264", 320, 240)
    assert info.fps == 24.0
    assert info.pix_fmt == "yuv420p"
    assert (info.audio_codec, info.sample_rate) == ("aac", 44100)
    assert info.size_bytes == (tmp_path / "a.mp4").stat().st_size


def test_probe_reads_audio_only_file(tmp_path: Path) -> None:
    """A WAV has an audio stream and no video stream."""
    wav = tmp_path / "tone.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=duration=1.5:sample_rate=48000", str(wav)], what="tone")
    info = probe(wav)
    assert info.duration == pytest.approx(1.5, abs=0.02)
    assert (info.audio_codec, info.sample_rate) == ("pcm_s16le", 48000)
    assert info.video_codec is None and info.width is None


def test_probe_rejects_missing_and_unreadable_files(tmp_path: Path) -> None:
    """A missing path raises FileNotFoundError; a file that is not media raises FFmpegError."""
    with pytest.raises(FileNotFoundError):
        probe(tmp_path / "nothing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video")
    with pytest.raises(FFmpegError, match="junk.mp4"):
        probe(junk)


def test_probe_many_matches_probe_and_names_a_bad_file(tmp_path: Path) -> None:
    """One ffmpeg run reads several files exactly as probe does; a bad one is named."""
    wav = tmp_path / "tone.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=duration=1", str(wav)], what="tone")
    files = [_clip(tmp_path / "a.mp4"), wav, _clip(tmp_path / "b.mp4", "640x480")]
    assert probe_many(files) == [probe(f) for f in files]
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not media")
    with pytest.raises(FFmpegError, match="junk.mp4"):
        probe_many([*files, junk])


def test_parse_handles_commas_inside_parentheses() -> None:
    """Stream lines with '(tv, bt709, progressive)' still yield pixel format, size and fps."""
    stderr = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 900 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 800 kb/s, 23.98 fps, 23.98 tbr, 24k tbn (default)
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 96 kb/s (default)
"""  # noqa: E501
    info = parse_ffmpeg_info(stderr, 123)
    assert info.duration == pytest.approx(62.5)
    assert (info.video_codec, info.video_profile, info.pix_fmt) == ("h264", "High", "yuv420p")
    assert (info.width, info.height, info.fps) == (1920, 1080, 23.98)
    assert (info.audio_codec, info.sample_rate, info.size_bytes) == ("aac", 48000, 123)


def test_audio_rms_tells_tone_from_silence(tmp_path: Path) -> None:
    """RMS is about 0.088 for a 1/8-amplitude sine and 0 for the digital silence after it."""
    wav = tmp_path / "tone-then-silence.wav"
    run_ffmpeg(
        ["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-af", "apad=whole_dur=2", str(wav)],
        what="tone",
    )
    loud, quiet, beyond = audio_rms(wav, [(0.1, 0.9), (1.1, 1.9), (5, 6)])
    assert loud == pytest.approx(0.0884, abs=0.005)
    assert quiet < 1e-4
    assert beyond == 0.0


def test_extract_frame_writes_png_of_video_size(tmp_path: Path) -> None:
    """The extracted frame is a PNG with the video's dimensions."""
    frame = extract_frame(_clip(tmp_path / "a.mp4", "320x240"), 1.0, tmp_path / "f.png")
    with Image.open(frame) as image:
        assert (image.format, image.size) == ("PNG", (320, 240))


def test_share_codec_params_compares_size_and_rate(tmp_path: Path) -> None:
    """Clips made alike share parameters; a different size or frame rate breaks the match."""
    a = probe(_clip(tmp_path / "a.mp4", "320x240", 24, 1))
    b = probe(_clip(tmp_path / "b.mp4", "320x240", 24, 1))
    bigger = probe(_clip(tmp_path / "c.mp4", "640x480", 24, 1))
    faster = probe(_clip(tmp_path / "d.mp4", "320x240", 30, 1))
    assert share_codec_params([a, b])
    assert not share_codec_params([a, b, bigger])
    assert not share_codec_params([a, faster])
    assert not share_codec_params([])


def test_run_ffmpeg_error_names_the_step_and_reason(tmp_path: Path) -> None:
    """A failing ffmpeg run raises FFmpegError with what was attempted and ffmpeg's reason."""
    with pytest.raises(FFmpegError, match=r"converting nothing failed: .*No such file"):
        run_ffmpeg(["-i", str(tmp_path / "missing.wav"), str(tmp_path / "x.mp3")],
                   what="converting nothing")
