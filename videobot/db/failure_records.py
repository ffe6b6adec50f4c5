"""The jobs that failed most recently, with their reasons, for the operator's /stats."""

from __future__ import annotations

from sqlalchemy import select

from videobot.db.engine import Database
from videobot.db.models import JobStatus, VideoJob


def recent_failures(db: Database, limit: int = 5) -> list[VideoJob]:
    """The last `limit` failed jobs, newest first."""
    with db.session() as s:
        return list(
            s.scalars(
                select(VideoJob)
                .where(VideoJob.status == JobStatus.FAILED)
                .order_by(VideoJob.updated_at.desc())
                .limit(limit)
            )
        )
