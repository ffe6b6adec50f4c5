"""Video formats and the fixed timeline of a video: 3 sections, 10 scenes of 5 seconds."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class VideoFormat(StrEnum):
    LANDSCAPE = "16:9"
    PORTRAIT = "9:16"
    SQUARE = "1:1"

    @property
    def size(self) -> tuple[int, int]:
        """Pixel size (width, height) of the final video and every image and clip."""
        return _SIZES[self]


_SIZES = {
    VideoFormat.LANDSCAPE: (1280, 720),
    VideoFormat.PORTRAIT: (720, 1280),
    VideoFormat.SQUARE: (960, 960),
}


def frame_size(fmt: VideoFormat, scale: float = 1.0) -> tuple[int, int]:
    """The pixel size pictures are made at: the format's size times `scale` (VIDEO_SCALE),
    both sides rounded to even numbers, as H.264 in yuv420p needs."""
    width, height = fmt.size
    return (max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2))


FPS = 24
SCENE_SECONDS = 5.0
SCENE_COUNT = 10


@dataclass(frozen=True)
class Section:
    """One narrated part of the video and the scenes it covers."""

    index: int
    name: str
    first_scene: int  # 0-based scene index
    scene_count: int

    @property
    def start_seconds(self) -> float:
        return self.first_scene * SCENE_SECONDS

    @property
    def seconds(self) -> float:
        return self.scene_count * SCENE_SECONDS

    @property
    def scenes(self) -> range:
        return range(self.first_scene, self.first_scene + self.scene_count)


SECTIONS: tuple[Section, ...] = (
    Section(0, "intro", 0, 3),
    Section(1, "main", 3, 4),
    Section(2, "outro", 7, 3),
)
SECTION_NAMES: tuple[str, ...] = tuple(s.name for s in SECTIONS)
VIDEO_SECONDS = SCENE_COUNT * SCENE_SECONDS


def section_of_scene(index: int) -> Section:
    """The section a 0-based scene index belongs to."""
    for section in SECTIONS:
        if index in section.scenes:
            return section
    raise ValueError(f"scene index {index} is outside 0..{SCENE_COUNT - 1}")
