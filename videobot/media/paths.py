"""Where a job's media lives. Paths are built from the job id and numbers only, never user text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from uuid import UUID


@dataclass(frozen=True)
class MediaLayout:
    root: Path

    def job_dir(self, job_id: UUID) -> Path:
        return self.root / str(UUID(str(job_id)))

    def image(self, job_id: UUID, scene: int, round_: int) -> Path:
        return self.job_dir(job_id) / "images" / f"scene-{scene + 1:02d}-r{round_}.png"

    def clip(self, job_id: UUID, scene: int, round_: int) -> Path:
        return self.job_dir(job_id) / "clips" / f"scene-{scene + 1:02d}-r{round_}.mp4"

    def narration(self, job_id: UUID, section: str) -> Path:
        if section not in ("intro", "main", "outro"):
            raise ValueError(f"unknown section {section!r}")
        return self.job_dir(job_id) / "audio" / f"{section}.wav"

    def voice_prompt(self, job_id: UUID) -> Path:
        return self.job_dir(job_id) / "prompt.ogg"

    def contact_sheet(self, job_id: UUID, stage: str, round_: int) -> Path:
        return self.job_dir(job_id) / f"{stage}-sheet-r{round_}.jpg"

    def final(self, job_id: UUID) -> Path:
        return self.job_dir(job_id) / "video.mp4"
