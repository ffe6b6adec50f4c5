"""What a person has spent: the ledger's recorded costs of their jobs, per day."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import func, select

from videobot.db.engine import Database
from videobot.db.models import ProviderCall, VideoJob, utcnow


def day_start(now: datetime) -> datetime:
    """Midnight UTC of `now`'s day: a person's daily budget starts again then."""
    return datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)


class SpendRecords:
    db: Database

    def spent_today(self, user_id: str, now: datetime | None = None) -> float:
        """USD the ledger records for the person's jobs since midnight UTC."""
        since = day_start(now or utcnow())
        with self.db.session() as s:
            total = s.scalar(
                select(func.coalesce(func.sum(ProviderCall.cost_usd), 0.0))
                .join(VideoJob, VideoJob.id == ProviderCall.job_id)
                .where(VideoJob.user_id == user_id, ProviderCall.created_at >= since)
            )
            return float(total or 0.0)
