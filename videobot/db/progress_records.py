"""The replay record of a job: which pipeline stages are finished.

Together with the gate rows (each gate round's decision) and the scene rows (each scene's
media), it is all a run needs to carry on where an earlier run of the job stopped: a resumed,
retried or rerun run skips finished stages without creating a task run for them.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from videobot.db.engine import Database
from videobot.db.models import JobStatus, VideoJob

# In the order a run goes through them; a gated stage counts as finished once approved.
PIPELINE_STAGES = (
    "intake", "script", "segments", "images", "motion", "clips", "narration", "assembly",
    "delivery",
)


class ProgressRecords:
    db: Database

    def stages_done(self, job_id: uuid.UUID) -> list[str]:
        with self.db.session() as s:
            return list(s.scalar(select(VideoJob.stages_done).where(VideoJob.id == job_id)) or [])

    def finish_stage(self, job_id: uuid.UUID, stage: str) -> None:
        """Record `stage` as finished. The job works again, so an error a retried run kept
        on display until now is cleared."""
        if stage not in PIPELINE_STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        with self.db.session() as s:
            job = s.scalars(
                select(VideoJob).where(VideoJob.id == job_id).with_for_update()
            ).one()
            done = list(job.stages_done or [])
            if stage not in done:
                job.stages_done = [*done, stage]
            job.error = None

    def reopen_stages(self, job_id: uuid.UUID, first: str) -> None:
        """Forget `first` and every stage after it: a rerun makes them again."""
        later = PIPELINE_STAGES[PIPELINE_STAGES.index(first):]
        with self.db.session() as s:
            job = s.scalars(
                select(VideoJob).where(VideoJob.id == job_id).with_for_update()
            ).one()
            job.stages_done = [d for d in job.stages_done or [] if d not in later]

    def reopen_failed_job(self, job_id: uuid.UUID) -> bool:
        """A failed job taken up again (a retry of its run): running, with its error kept
        until a stage finishes. False when the job had not failed."""
        with self.db.session() as s:
            job = s.scalars(
                select(VideoJob).where(VideoJob.id == job_id).with_for_update()
            ).one()
            if job.status != JobStatus.FAILED:
                return False
            job.status, job.finished_at = JobStatus.RUNNING, None
            return True
