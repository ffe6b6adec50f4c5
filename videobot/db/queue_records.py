"""The queue for working slots, kept in the jobs table: a job's place is the order in which
jobs became queued (`queued_at`), and joining or leaving is a conditional update, so a job
that ended while its run was starting or waiting is never brought back to life."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_, select, update

from videobot.db.engine import Database
from videobot.db.models import FINISHED_STATUSES, JobStatus, VideoJob, utcnow


class QueueRecords:
    db: Database

    if TYPE_CHECKING:

        def job(self, job_id: uuid.UUID) -> VideoJob: ...  # JobStore's

    def queue_position(self, job_id: uuid.UUID) -> int | None:
        """1 for the next job to get a working slot; None when the job is not queued."""
        job = self.job(job_id)
        if job.status != JobStatus.QUEUED or job.queued_at is None:
            return None
        with self.db.session() as s:
            ahead = s.scalar(
                select(func.count())
                .select_from(VideoJob)
                .where(
                    VideoJob.status == JobStatus.QUEUED,
                    or_(
                        VideoJob.queued_at < job.queued_at,
                        and_(VideoJob.queued_at == job.queued_at, VideoJob.id < job.id),
                    ),
                )
            )
        return int(ahead or 0) + 1

    def queued_jobs(self) -> list[tuple[uuid.UUID, bool]]:
        """The queue for working slots, first in line first: each job and whether it has a
        chat to tell its place."""
        with self.db.session() as s:
            rows = s.execute(
                select(VideoJob.id, VideoJob.chat_id)
                .where(VideoJob.status == JobStatus.QUEUED)
                .order_by(VideoJob.queued_at, VideoJob.id)
            )
            return [(job_id, chat_id is not None) for job_id, chat_id in rows]

    def join_queue(self, job_id: uuid.UUID) -> bool:
        """Queue the job for a working slot (at the end, unless it is queued already); False,
        changing nothing, when the job has ended (cancelled while its run was starting)."""
        now = utcnow()
        with self.db.session() as s:
            ended = VideoJob.status.in_(list(FINISHED_STATUSES))
            joined = s.execute(
                update(VideoJob)
                .where(VideoJob.id == job_id, ~ended, VideoJob.status != JobStatus.QUEUED)
                .values(status=JobStatus.QUEUED, queued_at=now, updated_at=now)
            ).rowcount  # type: ignore[attr-defined]
            if joined:
                return True
            status = s.scalar(select(VideoJob.status).where(VideoJob.id == job_id))
            return status == JobStatus.QUEUED

    def queue_resumed(self, job_id: uuid.UUID, stage: str) -> bool:
        """A run resumed from its `stage` gate queues again for a working slot, from now: its
        process may start only once the pool has room. Only while the job still waits at that
        gate, so a run that took its slot already (it runs, or waits at a later gate) is left
        as it is."""
        now = utcnow()
        with self.db.session() as s:
            return bool(
                s.execute(
                    update(VideoJob)
                    .where(VideoJob.id == job_id, VideoJob.status == JobStatus.WAITING,
                           VideoJob.stage == f"{stage}-gate")
                    .values(status=JobStatus.QUEUED, queued_at=now, updated_at=now)
                ).rowcount  # type: ignore[attr-defined]
            )

    def leave_queue(self, job_id: uuid.UUID) -> bool:
        """The queued job got its slot: it runs now. False when it left the queue otherwise
        (cancelled or expired while it waited)."""
        with self.db.session() as s:
            return bool(
                s.execute(
                    update(VideoJob)
                    .where(VideoJob.id == job_id, VideoJob.status == JobStatus.QUEUED)
                    .values(status=JobStatus.RUNNING, updated_at=utcnow())
                ).rowcount  # type: ignore[attr-defined]
            )
