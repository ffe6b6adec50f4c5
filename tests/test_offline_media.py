"""Offline providers make real media: drawn images, ffmpeg motion, espeak-ng speech."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from videobot.formats import VideoFormat
from videobot.media.assembly import assemble_video
from videobot.media.contact_sheet import make_contact_sheet
from videobot.media.ffmpeg import ffmpeg_exe
from videobot.media.probe import audio_rms, extract_frame, probe, share_codec_params
from videobot.providers.base import ProviderError, Reference
from videobot.providers.offline.animator import MOTIONS, OfflineAnimator, choose_motion
from videobot.providers.offline.images import OfflineImageMaker, reference_hue
from videobot.providers.offline.narrator import OfflineNarrator

PROMPT = "A lighthouse on a cliff at sunset"


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("offline")


@pytest.fixture(scope="module")
def images(work: Path) -> dict[VideoFormat, Path]:
    maker = OfflineImageMaker()
    made = {}
    for fmt in VideoFormat:
        made[fmt] = work / f"{fmt.name}.png"
        maker.make_image(PROMPT, "The light turns on", 0, fmt, made[fmt])
    return made


@pytest.fixture(scope="module")
def landscape_clips(work: Path, images: dict[VideoFormat, Path]) -> dict[str, Path]:
    """One landscape clip per motion."""
    clips = {}
    for i, motion in enumerate(MOTIONS):
        clips[motion] = work / f"clip-{i}.mp4"
        OfflineAnimator().animate(images[VideoFormat.LANDSCAPE], f"slow {motion}", 5.0,
                                  VideoFormat.LANDSCAPE, clips[motion])
    return clips


@pytest.mark.parametrize("fmt", list(VideoFormat))
def test_image_has_the_format_size(fmt: VideoFormat, images: dict[VideoFormat, Path]) -> None:
    """Each format's image is a PNG of exactly the format's pixel size."""
    with Image.open(images[fmt]) as image:
        assert (image.format, image.size) == ("PNG", fmt.size)


def test_scenes_get_distinct_pictures_and_repeat_exactly(tmp_path: Path) -> None:
    """Two scenes of one prompt differ clearly; the same scene drawn twice is identical."""
    maker = OfflineImageMaker()
    usage = maker.make_image(PROMPT, "caption", 1, VideoFormat.SQUARE, tmp_path / "a.png")
    maker.make_image(PROMPT, "caption", 2, VideoFormat.SQUARE, tmp_path / "b.png")
    maker.make_image(PROMPT, "caption", 1, VideoFormat.SQUARE, tmp_path / "c.png")
    assert np.abs(_pixels(tmp_path / "a.png") - _pixels(tmp_path / "b.png")).mean() > 10
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "c.png").read_bytes()
    assert (usage.provider, usage.model, usage.units, usage.unit) == (
        "offline", "procedural", 1, "images"
    )


@pytest.mark.parametrize("rgb", [(20, 40, 220), (220, 30, 30), (30, 200, 60)])
def test_reference_picture_sets_the_palette(rgb: tuple[int, int, int], tmp_path: Path) -> None:
    """With a reference, every scene's dominant hue stays within 0.2 of the reference's hue."""
    reference = tmp_path / "reference.png"
    Image.new("RGB", (64, 64), rgb).save(reference)
    wanted = reference_hue(reference)
    assert wanted is not None
    for scene in range(4):
        out = tmp_path / f"scene-{scene}.png"
        OfflineImageMaker().make_image(f"prompt {scene}", "caption", scene, VideoFormat.SQUARE,
                                       out, references=[Reference(reference, "look")])
        got = reference_hue(out)
        assert got is not None
        assert min(abs(got - wanted), 1 - abs(got - wanted)) < 0.2


def test_pictures_carry_no_text(tmp_path: Path) -> None:
    """The scene's text is not drawn into its picture: captions show it, timed to the voice."""
    maker = OfflineImageMaker()
    maker.make_image(PROMPT, "Жук ползёт", 0, VideoFormat.LANDSCAPE, tmp_path / "a.png")
    maker.make_image(PROMPT, "A different caption.", 0, VideoFormat.LANDSCAPE, tmp_path / "b.png")
    assert np.array_equal(_pixels(tmp_path / "a.png"), _pixels(tmp_path / "b.png"))


@pytest.mark.parametrize("fmt", [VideoFormat.PORTRAIT, VideoFormat.SQUARE])
def test_clip_has_format_size_rate_and_length(
    fmt: VideoFormat, images: dict[VideoFormat, Path], tmp_path: Path
) -> None:
    """A clip is 5.0 s of H.264 yuv420p at 24 fps in the format's size, with no audio."""
    out = tmp_path / "clip.mp4"
    usage = OfflineAnimator().animate(images[fmt], "zoom in slowly", 5.0, fmt, out)
    info = probe(out)
    assert info.duration == pytest.approx(5.0, abs=0.05)
    assert (info.video_codec, info.pix_fmt, info.fps) == ("h264", "yuv420p", 24.0)
    assert (info.width, info.height) == fmt.size
    assert info.audio_codec is None
    assert (usage.units, usage.unit, usage.model) == (5.0, "seconds", "ffmpeg-motion")


@pytest.mark.parametrize("motion", MOTIONS)
def test_every_motion_really_moves(
    motion: str, landscape_clips: dict[str, Path], tmp_path: Path
) -> None:
    """Frames at 0.5 s and 4.5 s differ, and the clip is 5.0 s of 1280x720 H.264."""
    clip = landscape_clips[motion]
    info = probe(clip)
    assert info.duration == pytest.approx(5.0, abs=0.05)
    assert (info.width, info.height, info.fps) == (1280, 720, 24.0)
    early = _pixels(extract_frame(clip, 0.5, tmp_path / "early.png"))
    late = _pixels(extract_frame(clip, 4.5, tmp_path / "late.png"))
    assert np.abs(early - late).mean() > 3


def _dot_path(clip: Path, box: tuple[int, int, int, int]) -> np.ndarray:
    """Centroid (x, y) of the bright pixels inside box (x, y, w, h) in every frame of a clip."""
    x, y, w, h = box
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(clip), "-vf", f"crop={w}:{h}:{x}:{y},format=gray",
         "-f", "rawvideo", "-"],
        capture_output=True, check=True,
    ).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w).astype(np.float32)
    totals = frames.sum(axis=(1, 2))
    xs = frames.sum(axis=1) @ np.arange(w, dtype=np.float32) / totals
    ys = frames.sum(axis=2) @ np.arange(h, dtype=np.float32) / totals
    return np.stack([xs + x, ys + y], axis=1)


@pytest.mark.parametrize("motion", MOTIONS)
def test_motion_is_smooth(motion: str, tmp_path: Path) -> None:
    """A dot moves at least 20 px and strays under 0.8 px from a smooth curve (no judder)."""
    size = VideoFormat.LANDSCAPE.size
    dot = Image.new("RGB", size, "black")
    ImageDraw.Draw(dot).rectangle((896, 504, 915, 523), fill="white")
    dot.save(tmp_path / "dot.png")
    OfflineAnimator().animate(tmp_path / "dot.png", motion, 5.0, VideoFormat.LANDSCAPE,
                              tmp_path / "dot.mp4")
    path = _dot_path(tmp_path / "dot.mp4", (640, 384, 512, 256))
    assert len(path) == 120
    assert np.linalg.norm(path[-1] - path[0]) > 20
    steps = np.arange(len(path))
    for axis in (0, 1):
        smooth = np.polyval(np.polyfit(steps, path[:, axis], 3), steps)
        assert np.abs(path[:, axis] - smooth).max() < 0.8


def test_clips_of_one_format_can_be_joined_without_reencoding(
    landscape_clips: dict[str, Path],
) -> None:
    """Clips with different motions share codec parameters, so assembly can stream-copy them."""
    assert share_codec_params([probe(clip) for clip in landscape_clips.values()])


def test_motion_follows_keywords_or_a_stable_hash() -> None:
    """Named motions win (the first one named); otherwise the choice is stable per prompt."""
    assert choose_motion("Slow ZOOM-IN on the tower") == "zoom in"
    assert choose_motion("pan right, then zoom out") == "pan right"
    assert choose_motion("камера медленно уходит влево") == "pan left"
    assert choose_motion("waves crash") == choose_motion("waves crash") in MOTIONS
    chosen = {choose_motion(f"scene {i}") for i in range(40)}
    assert len(chosen) > 1


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "The lighthouse keeps ships away from the rocks."),
     ("ru", "Маяк предупреждает корабли об опасных скалах.")],
)
def test_narration_is_audible_speech(language: str, text: str, tmp_path: Path) -> None:
    """espeak-ng speaks English and Russian into a 24 kHz WAV that is not silent."""
    out = tmp_path / "speech.wav"
    usage = OfflineNarrator().narrate(text, language, out)
    info = probe(out)
    assert info.audio_codec == "pcm_s16le" and info.sample_rate == 24000
    assert info.duration > 1.5
    assert audio_rms(out, [(0, info.duration)])[0] > 0.02
    assert (usage.units, usage.unit, usage.model) == (len(text), "characters", "espeak-ng")


def test_a_chosen_voice_changes_how_the_narration_sounds(tmp_path: Path) -> None:
    """Two voice names that map to different espeak-ng variants give different audio; the
    same name gives the same audio."""
    text = "The lighthouse keeps ships away from the rocks."
    made = {}
    for name in ("alloy", "coral", "alloy-again"):
        voice = "alloy" if name == "alloy-again" else name
        OfflineNarrator().narrate(text, "en", tmp_path / f"{name}.wav", voice)
        made[name] = (tmp_path / f"{name}.wav").read_bytes()
    assert made["alloy"] == made["alloy-again"]
    assert made["alloy"] != made["coral"]


def test_narrator_refuses_unknown_language_and_missing_binary(tmp_path: Path) -> None:
    """An unsupported language or an absent espeak-ng (library off, command missing) is a
    permanent ProviderError."""
    with pytest.raises(ProviderError) as unknown:
        OfflineNarrator().narrate("Hallo", "de", tmp_path / "a.wav")
    assert unknown.value.permanent
    missing = OfflineNarrator(binary="espeak-ng-not-installed-here", use_library=False)
    with pytest.raises(ProviderError, match="apt-get install espeak-ng") as absent:
        missing.narrate("Hello", "en", tmp_path / "b.wav")
    assert absent.value.permanent
    assert not (tmp_path / "a.wav").exists() and not (tmp_path / "b.wav").exists()


def test_contact_sheet_numbers_ten_thumbnails(images: dict[VideoFormat, Path],
                                              tmp_path: Path) -> None:
    """Ten 16:9 images make a 5x2 JPEG grid of 320 px thumbnails with numbers drawn on them."""
    frames = [images[VideoFormat.LANDSCAPE]] * 10
    sheet = make_contact_sheet(frames, tmp_path / "sheet.jpg")
    plain = make_contact_sheet(frames, tmp_path / "plain.jpg", labels=False)
    with Image.open(sheet) as image:
        assert image.format == "JPEG"
        assert image.size == (5 * 320 + 6 * 8, 2 * 180 + 3 * 8)
    corner = (slice(8, 60), slice(8, 60))
    assert np.abs(_pixels(sheet)[corner] - _pixels(plain)[corner]).mean() > 10


def test_offline_clips_and_speech_assemble_by_stream_copy(
    landscape_clips: dict[str, Path], tmp_path: Path
) -> None:
    """Offline clips and espeak narrations assemble by stream copy into 50 s with 24 kHz AAC."""
    narrator = OfflineNarrator()
    texts = ["Welcome to the coast.", "The lighthouse guides ships at night.", "Goodbye."]
    narrations = []
    for name, text in zip(("intro", "main", "outro"), texts, strict=True):
        narrations.append(tmp_path / f"{name}.wav")
        narrator.narrate(text, "en", narrations[-1])
    clips = list(itertools.islice(itertools.cycle(landscape_clips.values()), 10))
    result = assemble_video(clips, narrations, VideoFormat.LANDSCAPE, tmp_path / "video.mp4")
    assert result.video_copied
    assert result.duration == pytest.approx(50.0, abs=0.1)
    assert probe(result.path).sample_rate == 24000
    assert min(audio_rms(result.path, [(0.2, 1.2), (15.2, 16.2), (35.2, 36.0)])) > 0.02


@pytest.mark.parametrize(("fmt", "size"), [(VideoFormat.LANDSCAPE, (320, 180)),
                                           (VideoFormat.SQUARE, (240, 240))])
def test_a_draft_scale_makes_small_media_that_still_assemble_by_stream_copy(
    fmt: VideoFormat, size: tuple[int, int], tmp_path: Path
) -> None:
    """VIDEO_SCALE=0.25: pictures and clips are a quarter of the format's sides, and the video
    joins those clips as they are at that size; at full scale the same clips are re-encoded."""
    image = tmp_path / "scene.png"
    OfflineImageMaker(0.25).make_image(PROMPT, "", 0, fmt, image)
    with Image.open(image) as drawn:
        assert drawn.size == size
    clip = tmp_path / "clip.mp4"
    OfflineAnimator(0.25).animate(image, "pan left", 5.0, fmt, clip)
    assert (probe(clip).width, probe(clip).height) == size
    narrations = []
    for name in ("intro", "main", "outro"):
        narrations.append(tmp_path / f"{name}.wav")
        OfflineNarrator().narrate("A short line.", "en", narrations[-1])
    draft = assemble_video([clip] * 10, narrations, fmt, tmp_path / "draft.mp4", scale=0.25)
    assert draft.video_copied and (probe(draft.path).width, probe(draft.path).height) == size
    full = assemble_video([clip] * 10, narrations, fmt, tmp_path / "full.mp4")
    assert not full.video_copied and (probe(full.path).width, probe(full.path).height) == fmt.size
