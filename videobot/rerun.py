"""Discard a stage's output, and what depends on it, so a rerun makes it again: in new rounds
(new files, new gate rows), keeping the delivered video until its replacement exists.

Dependencies: the script feeds the scene plan and the narration; the plan feeds pictures,
motion prompts and clips; pictures and motion prompts feed the clips; clips and narration feed
the final video. Work upstream of the stage is kept and replayed at no cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select

from videobot.db.models import Approval, MediaStatus, VideoJob, utcnow
from videobot.db.store import JobStore
from videobot.formats import SCENE_COUNT, SECTION_NAMES
from videobot.media.store import MediaStore

RERUN_STAGES = ("script", "segments", "images", "motion", "clips", "narration", "assembly")


def _reset_gates(store: JobStore, job_id: UUID, stages: Sequence[str]) -> None:
    """Start each gate's next pass after its last round: the rounds carry on their numbers, so
    the pass writes new files and its gate rows never meet the old ones, which stay as the
    job's history (an old gate left undecided is closed)."""
    with store.db.session() as s:
        job = s.get(VideoJob, job_id)
        assert job is not None
        firsts = dict(job.first_rounds or {})
        for stage in stages:
            rows = list(s.scalars(
                select(Approval).where(Approval.job_id == job_id, Approval.stage == stage)
            ))
            for row in rows:
                if row.decision is None:
                    row.decision, row.decided_by, row.decided_at = "cancel", "rerun", utcnow()
            last = max([row.attempt for row in rows], default=firsts.get(stage, 1) - 1)
            firsts[stage] = max(last + 1, firsts.get(stage, 1))
        job.first_rounds = firsts


def discard_from(
    store: JobStore,
    files: MediaStore,
    job_id: UUID,
    stage: str,
    scenes: Sequence[int] | None = None,
) -> str:
    """Discard `stage` (for 1-based `scenes` where it applies) and its dependants, in the
    database and in the media store; say what. Contact sheets are named by round, and the
    rounds carry on, so the old ones stay as the job's history."""

    def _remove(ref: str | None) -> None:
        if ref:
            files.delete(ref)

    if stage not in RERUN_STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages are {', '.join(RERUN_STAGES)}")
    indexes = sorted({n - 1 for n in scenes}) if scenes else list(range(SCENE_COUNT))
    if any(not 0 <= i < SCENE_COUNT for i in indexes):
        raise ValueError(f"scene numbers run from 1 to {SCENE_COUNT}")
    job = store.job(job_id)
    segments = store.segments(job_id)

    if stage in ("script", "segments"):
        for seg in segments:
            for path in (seg.image_path, seg.video_path):
                _remove(path)
        store.save_plan_cleared(job_id)
        _reset_gates(store, job_id, ["images", "clips"])
    if stage == "script":
        store.update_job(job_id, script_intro=None, script_main=None, script_outro=None,
                         title=None, script_round=0, style=None, style_sheet=None)
        _reset_gates(store, job_id, ["script"])
    if stage in ("script", "narration"):
        for name in SECTION_NAMES:
            _remove(getattr(job, f"{name}_audio_path"))
            store.record_narration(job_id, name, None)

    if stage in ("images", "motion", "clips"):
        for seg in (s for s in segments if s.index in indexes):
            values: dict[str, object] = {
                "video_path": None, "video_status": MediaStatus.PENDING, "video_round": 0,
                "duration": None, "error": None,
            }
            _remove(seg.video_path)
            if stage == "images":
                _remove(seg.image_path)
                values.update(image_path=None, image_status=MediaStatus.PENDING, image_round=0)
            if stage == "motion":
                values["motion_prompt"] = None
            store.update_segment(job_id, seg.index, **values)
        gates = ["images", "clips"] if stage == "images" else ["clips"]
        _reset_gates(store, job_id, gates)

    # The delivered video stays until its replacement is assembled (tasks.assembly.assemble).
    replaced = job.final_path or job.replaced_final_path
    store.update_job(job_id, final_path=None, replaced_final_path=replaced, error=None,
                     stage=stage)
    store.reopen_stages(job_id, stage)
    which = f" for scene(s) {', '.join(str(i + 1) for i in indexes)}" if scenes else ""
    return f"discarded {stage}{which} and what depends on it"
