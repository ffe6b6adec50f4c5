"""Where a job's media live. Names are built from the job id and numbers only, never user text.

`MediaLayout()` gives store keys (`<job>/clips/scene-01-r1.mp4`, see `videobot.media.store`);
`MediaLayout(folder)` gives the same names as paths under a local folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath
from uuid import UUID


@dataclass(frozen=True)
class MediaLayout:
    root: PurePath = field(default_factory=PurePosixPath)

    def job_dir(self, job_id: UUID) -> PurePath:
        return self.root / str(UUID(str(job_id)))

    def image(self, job_id: UUID, scene: int, round_: int) -> PurePath:
        return self.job_dir(job_id) / "images" / f"scene-{scene + 1:02d}-r{round_}.png"

    def clip(self, job_id: UUID, scene: int, round_: int) -> PurePath:
        return self.job_dir(job_id) / "clips" / f"scene-{scene + 1:02d}-r{round_}.mp4"

    def narration(self, job_id: UUID, section: str) -> PurePath:
        if section not in ("intro", "main", "outro"):
            raise ValueError(f"unknown section {section!r}")
        return self.job_dir(job_id) / "audio" / f"{section}.wav"

    def voice_prompt(self, job_id: UUID) -> PurePath:
        return self.job_dir(job_id) / "prompt.ogg"

    def contact_sheet(self, job_id: UUID, stage: str, round_: int) -> PurePath:
        return self.job_dir(job_id) / f"{stage}-sheet-r{round_}.jpg"

    def captions(self, job_id: UUID) -> PurePath:
        return self.job_dir(job_id) / "captions.srt"

    def final(self, job_id: UUID) -> PurePath:
        return self.job_dir(job_id) / "video.mp4"


def key(name: PurePath) -> str:
    """A layout name as a store key."""
    return name.as_posix()
