"""Assembling the final video from ten clips and three narrations, with real ffmpeg."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from videobot.formats import VideoFormat
from videobot.media.assembly import AssemblyError, AssemblyResult, assemble_video, plan_tempos
from videobot.media.ffmpeg import run_ffmpeg
from videobot.media.probe import audio_rms, extract_frame, probe

# One distinct colour per scene, so the order of scenes can be read back from the video.
COLOURS = [
    (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255),
    (0, 255, 255), (255, 255, 255), (128, 0, 0), (0, 128, 0), (0, 0, 128),
]
SOUND, SILENCE = 0.02, 0.002


def _colour_clip(out: Path, rgb: tuple[int, int, int], size: tuple[int, int],
                 rate: int = 24) -> Path:
    colour = "0x{:02x}{:02x}{:02x}".format(*rgb)
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"color=c={colour}:s={size[0]}x{size[1]}:r={rate}:d=5",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "48", str(out)],
        what="making a colour clip",
    )
    return out


def _tone(out: Path, seconds: float, frequency: int = 440) -> Path:
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"sine=frequency={frequency}:duration={seconds}:sample_rate=48000",
         str(out)],
        what="making a tone",
    )
    return out


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("assembly-inputs")


@pytest.fixture(scope="module")
def clips(media: Path) -> list[Path]:
    size = VideoFormat.LANDSCAPE.size
    return [_colour_clip(media / f"scene-{i}.mp4", rgb, size) for i, rgb in enumerate(COLOURS)]


@pytest.fixture(scope="module")
def narrations(media: Path) -> list[Path]:
    """Intro 10 s, main 15 s, outro 12 s: all shorter than their sections (15, 20, 15 s)."""
    return [_tone(media / "intro.wav", 10, 300), _tone(media / "main.wav", 15, 500),
            _tone(media / "outro.wav", 12, 700)]


@pytest.fixture(scope="module")
def assembled(clips: list[Path], narrations: list[Path], media: Path) -> AssemblyResult:
    return assemble_video(clips, narrations, VideoFormat.LANDSCAPE, media / "out" / "video.mp4")


def test_output_is_50_seconds_of_h264_and_aac(assembled: AssemblyResult) -> None:
    """The result is a 50 ± 0.1 s H.264 yuv420p 1280x720 24 fps video with 48 kHz AAC audio."""
    info = probe(assembled.path)
    assert assembled.duration == pytest.approx(50.0, abs=0.1)
    assert info.duration == pytest.approx(50.0, abs=0.1)
    assert (info.video_codec, info.pix_fmt, info.fps) == ("h264", "yuv420p", 24.0)
    assert (info.width, info.height) == (1280, 720)
    assert (info.audio_codec, info.sample_rate) == ("aac", 48000)  # inputs are 48 kHz
    assert assembled.size_bytes == assembled.path.stat().st_size == info.size_bytes


def test_matching_clips_are_copied_in_order(assembled: AssemblyResult, tmp_path: Path) -> None:
    """Clips with equal parameters are stream-copied, and scene k is on screen at 5k + 2.5 s."""
    assert assembled.video_copied
    assert assembled.tempos == (1.0, 1.0, 1.0)
    for k, rgb in enumerate(COLOURS):
        frame = extract_frame(assembled.path, 5 * k + 2.5, tmp_path / f"{k}.png")
        with Image.open(frame) as image:
            pixel = image.convert("RGB").getpixel((640, 360))
        assert isinstance(pixel, tuple)
        assert all(abs(a - b) < 40 for a, b in zip(pixel, rgb, strict=True)), (k, pixel)


def test_moov_atom_comes_first(assembled: AssemblyResult) -> None:
    """The MP4 is fast-start: its index precedes the media data, so playback starts at once."""
    head = assembled.path.read_bytes()[:4096]
    assert b"moov" in head
    assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head


def test_each_narration_plays_in_its_section_then_silence(assembled: AssemblyResult) -> None:
    """Narration is heard from 0, 15 and 35 s; each padded tail before the next is silent."""
    intro, main, outro, *tails = audio_rms(
        assembled.path, [(0.5, 9.5), (15.5, 29.5), (35.5, 46.5), (10.5, 14.8), (30.5, 34.8),
                         (47.5, 49.8)]
    )
    assert min(intro, main, outro) > SOUND
    assert max(tails) < SILENCE


@pytest.mark.parametrize("fmt", [VideoFormat.PORTRAIT, VideoFormat.SQUARE])
def test_other_formats_keep_their_size(
    fmt: VideoFormat, narrations: list[Path], tmp_path: Path
) -> None:
    """Portrait and square clips give a portrait or square final video, copied."""
    clip = _colour_clip(tmp_path / "clip.mp4", (30, 60, 90), fmt.size)
    result = assemble_video([clip] * 10, narrations, fmt, tmp_path / "video.mp4")
    info = probe(result.path)
    assert (info.width, info.height) == fmt.size
    assert result.video_copied
    assert info.duration == pytest.approx(50.0, abs=0.1)


def test_one_different_clip_forces_a_reencode(
    clips: list[Path], narrations: list[Path], tmp_path: Path
) -> None:
    """A 640x480 30 fps clip among 1280x720 ones is re-encoded to the format at 24 fps."""
    odd = _colour_clip(tmp_path / "odd.mp4", COLOURS[4], (640, 480), rate=30)
    mixed = [*clips[:4], odd, *clips[5:]]
    result = assemble_video(mixed, narrations, VideoFormat.LANDSCAPE, tmp_path / "video.mp4")
    info = probe(result.path)
    assert not result.video_copied
    assert (info.width, info.height, info.fps, info.pix_fmt) == (1280, 720, 24.0, "yuv420p")
    assert result.duration == pytest.approx(50.0, abs=0.1)


def test_slightly_long_narration_is_sped_up_to_fit(
    clips: list[Path], narrations: list[Path], tmp_path: Path
) -> None:
    """A 21.5 s main narration is sped up (< max_tempo) and ends before the outro starts."""
    long_main = _tone(tmp_path / "main.wav", 21.5, 500)
    result = assemble_video(
        clips, [narrations[0], long_main, narrations[2]], VideoFormat.LANDSCAPE,
        tmp_path / "video.mp4",
    )
    intro, main, outro = result.tempos
    assert intro == outro == 1.0
    assert 21.5 / 20 < main <= 1.35
    assert any("main narration was sped up" in note for note in result.notes)
    heard, edge = audio_rms(result.path, [(15.5, 34.5), (34.85, 35.0)])
    assert heard > SOUND
    assert edge < SILENCE
    assert result.duration == pytest.approx(50.0, abs=0.1)


def test_too_long_narration_is_refused_with_a_clear_message(
    clips: list[Path], narrations: list[Path], tmp_path: Path
) -> None:
    """A 31.2 s main narration (needs 1.56x) fails, naming section and lengths; no file is left."""
    too_long = _tone(tmp_path / "main.wav", 31.2)
    out = tmp_path / "video.mp4"
    with pytest.raises(AssemblyError) as caught:
        assemble_video(clips, [narrations[0], too_long, narrations[2]], VideoFormat.LANDSCAPE, out)
    assert str(caught.value) == (
        "the main narration is 31.2 s, the section is 20 s; shorten the text"
    )
    assert not out.exists()


def test_wrong_number_or_missing_inputs_are_refused(
    clips: list[Path], narrations: list[Path], tmp_path: Path
) -> None:
    """Nine clips, two narrations, a missing or unreadable file: AssemblyError saying which."""
    out = tmp_path / "video.mp4"
    with pytest.raises(AssemblyError, match="needs 10 clips, one per scene; got 9"):
        assemble_video(clips[:9], narrations, VideoFormat.LANDSCAPE, out)
    with pytest.raises(AssemblyError, match=r"needs 3 narrations \(intro, main, outro\); got 2"):
        assemble_video(clips, narrations[:2], VideoFormat.LANDSCAPE, out)
    with pytest.raises(AssemblyError, match="clip 3 is missing"):
        assemble_video([*clips[:2], tmp_path / "gone.mp4", *clips[3:]], narrations,
                       VideoFormat.LANDSCAPE, out)
    with pytest.raises(AssemblyError, match="the outro narration is missing"):
        assemble_video(clips, [*narrations[:2], tmp_path / "gone.wav"], VideoFormat.LANDSCAPE, out)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(AssemblyError, match="clip 10 cannot be read"):
        assemble_video([*clips[:9], junk], narrations, VideoFormat.LANDSCAPE, out)
    assert not out.exists()


def test_oversized_result_is_reencoded_to_fit(narrations: list[Path], tmp_path: Path) -> None:
    """Busy clips over max_bytes are re-encoded at a computed bitrate and end up under it."""
    busy = tmp_path / "busy.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=s=1280x720:r=24:d=5", "-c:v", "libx264", "-preset",
         "ultrafast", "-pix_fmt", "yuv420p", "-g", "48", str(busy)],
        what="making a busy clip",
    )
    limit = 3 * 1024 * 1024
    assert busy.stat().st_size * 10 > limit
    result = assemble_video([busy] * 10, narrations, VideoFormat.LANDSCAPE,
                            tmp_path / "video.mp4", max_bytes=limit)
    assert result.size_bytes <= limit
    assert not result.video_copied
    assert result.fitted_kbps is not None
    assert any("re-encoded" in note for note in result.notes)
    assert result.duration == pytest.approx(50.0, abs=0.1)


def test_plan_tempos_leaves_fitting_narration_alone() -> None:
    """Narrations within their sections keep tempo 1.0; a 16 s intro gets about 16 / 14.7."""
    assert plan_tempos([15.0, 20.0, 1.0], 1.35) == (1.0, 1.0, 1.0)
    intro, _, _ = plan_tempos([16.0, 5.0, 5.0], 1.35)
    assert intro == pytest.approx(16 / 14.7, abs=0.001)
    # 20 s needs 1.33x to fit 15 s; the margin would ask 1.36x, so it is capped at max_tempo.
    assert plan_tempos([20.0, 5.0, 5.0], 1.35)[0] == 1.35
