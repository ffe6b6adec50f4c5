"""Housekeeping queries: which jobs' media can go, which gates waited too long.

Everything here is plain SQL over the models, so the cleanup flow, the CLI and tests share it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Select, func, or_, select, update
from sqlalchemy.orm import Session

from videobot.db.models import FINISHED_STATUSES, Approval, BotUser, JobStatus, VideoJob, utcnow
from videobot.db.store import JobNotFound, JobStore


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken as UTC already.

    SQLite keeps timestamps as text without an offset, so every bound value must be in UTC
    for the comparisons to mean the same thing on both databases.
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


EXPIRY_REASON = "no decision arrived within"


def expiry_reason(timeout: timedelta) -> str:
    """The error recorded on a job whose gate timed out, e.g. "... within 48 hours"; the
    cleanup cancels the job's paused run with it as the state's message."""
    hours = timeout.total_seconds() / 3600
    return f"{EXPIRY_REASON} {hours:g} hours"


def is_expiry(message: str | None) -> bool:
    """Whether a run was cancelled by an expiry (`expiry_reason`), not by a person."""
    return (message or "").startswith(EXPIRY_REASON)


# Media cleanup --------------------------------------------------------------------------


def _cleanable(now: datetime, older_than: timedelta) -> Select[tuple[VideoJob]]:
    cutoff = as_utc(now) - older_than
    finished = func.coalesce(VideoJob.finished_at, VideoJob.updated_at)
    return (
        select(VideoJob)
        .where(
            VideoJob.status.in_([str(s) for s in FINISHED_STATUSES]),
            finished < cutoff,
            or_(
                VideoJob.media_removed_at.is_(None),
                # Rerun after a cleanup and finished again: it has new media to remove.
                VideoJob.media_removed_at < VideoJob.finished_at,
            ),
        )
        .order_by(finished, VideoJob.id)
    )


def jobs_to_clean(store: JobStore, now: datetime, older_than: timedelta) -> list[VideoJob]:
    """Finished jobs (delivered, failed, cancelled, expired) that finished more than
    `older_than` before `now` and whose media were not removed since; oldest first."""
    with store.db.session() as s:
        return list(s.scalars(_cleanable(now, older_than)))


def still_to_clean(
    store: JobStore, job_id: uuid.UUID, now: datetime, older_than: timedelta
) -> VideoJob | None:
    """The job if it still qualifies for cleanup, else None (it was rerun, or is cleaned)."""
    with store.db.session() as s:
        return s.scalars(_cleanable(now, older_than).where(VideoJob.id == job_id)).first()


def drop_kept_photos(store: JobStore, now: datetime, older_than: timedelta) -> list[str]:
    """Take off their owners the photos kept for a next job for more than `older_than`;
    their keys, for the caller to delete. A photo a job takes meanwhile is not among them."""
    cutoff = as_utc(now) - older_than
    dropped = []
    with store.db.session() as s:
        stale = s.execute(
            select(BotUser.user_id, BotUser.reference_path).where(
                BotUser.reference_path.is_not(None), BotUser.reference_kept_at < cutoff
            )
        ).all()
        for user_id, path in stale:
            # Cleared only if still the same photo: a job may take it, or a new one replace it.
            cleared = s.execute(
                update(BotUser)
                .where(BotUser.user_id == user_id, BotUser.reference_path == path)
                .values(reference_path=None, reference_kept_at=None)
            )
            if cast(CursorResult[Any], cleared).rowcount == 1:
                dropped.append(path)
    return dropped


def record_media_removed(
    store: JobStore, job_id: uuid.UUID, removed_bytes: int, removed_files: int, now: datetime
) -> None:
    """Record that the job's media directory is gone; the row and its history stay.

    Only the time and the byte count are stored; the file count is for the caller's report.
    """
    if removed_bytes < 0 or removed_files < 0:
        raise ValueError("removed bytes and files cannot be negative")
    with store.db.session() as s:
        job = s.get(VideoJob, job_id)
        if job is None:
            raise JobNotFound(job_id)
        job.media_removed_at = as_utc(now)
        job.media_removed_bytes = removed_bytes


# Approval expiry ------------------------------------------------------------------------


def _expirable(now: datetime, timeout: timedelta) -> Select[tuple[VideoJob, Approval]]:
    # The gate a job waits at is its newest undecided one (as in JobStore.waiting_gate);
    # an older stale row must not expire a job that was asked again recently.
    newest_open = (
        select(Approval.job_id, func.max(Approval.id).label("gate_id"))
        .where(Approval.decision.is_(None))
        .group_by(Approval.job_id)
        .subquery()
    )
    return (
        select(VideoJob, Approval)
        .join(newest_open, newest_open.c.job_id == VideoJob.id)
        .join(Approval, Approval.id == newest_open.c.gate_id)
        .where(
            VideoJob.status == str(JobStatus.WAITING),
            Approval.opened_at < as_utc(now) - timeout,
        )
        .order_by(Approval.opened_at, VideoJob.id)
    )


def gates_to_expire(
    store: JobStore, now: datetime, timeout: timedelta
) -> list[tuple[VideoJob, Approval]]:
    """Waiting jobs whose open gate was opened more than `timeout` before `now`."""
    with store.db.session() as s:
        return [(job, gate) for job, gate in s.execute(_expirable(now, timeout))]


def still_to_expire(
    store: JobStore, job_id: uuid.UUID, now: datetime, timeout: timedelta
) -> tuple[VideoJob, Approval] | None:
    """The job and its gate if it still waits at a gate older than `timeout`, else None."""
    with store.db.session() as s:
        row = s.execute(_expirable(now, timeout).where(VideoJob.id == job_id)).first()
        return (row[0], row[1]) if row else None


def expire_job(
    store: JobStore, job_id: uuid.UUID, now: datetime, timeout: timedelta
) -> VideoJob | None:
    """Mark the job expired if it still waits at a gate older than `timeout`.

    The gate row stays undecided: `Decision` has no "expired" action, so writing one would
    break the replay in `JobStore.decision`, and writing "cancel" would replay as the
    person's choice. The job status alone says the gate timed out. Returns the updated job,
    or None when a decision (or a rerun) got there first.
    """
    moment = as_utc(now)
    with store.db.session() as s:
        if s.execute(_expirable(moment, timeout).where(VideoJob.id == job_id)).first() is None:
            return None
        # Guarded on the status as well, so a decision recorded meanwhile wins.
        if not _mark_expired(s, job_id, expiry_reason(timeout), moment):
            return None
        return s.get(VideoJob, job_id, populate_existing=True)


def expire_waiting(store: JobStore, job_id: uuid.UUID, reason: str) -> bool:
    """Mark the job expired if it still waits at a gate (its run's pause timed out); False
    when a decision, or the cleanup's expiry, got there first."""
    with store.db.session() as s:
        return _mark_expired(s, job_id, reason, utcnow())


def _mark_expired(s: Session, job_id: uuid.UUID, reason: str, moment: datetime) -> bool:
    changed = cast(CursorResult[Any], s.execute(
        update(VideoJob)
        .where(VideoJob.id == job_id, VideoJob.status == str(JobStatus.WAITING))
        .values(status=str(JobStatus.EXPIRED), error=reason, finished_at=moment,
                updated_at=moment)
        .execution_options(synchronize_session=False)
    ))
    return changed.rowcount == 1


def cancel_unended(store: JobStore, job_id: uuid.UUID) -> bool:
    """End the job cancelled unless it has ended already (its run was cancelled in Prefect:
    the UI, the prefect CLI); True when this changed it."""
    moment = utcnow()
    with store.db.session() as s:
        changed = cast(CursorResult[Any], s.execute(
            update(VideoJob)
            .where(VideoJob.id == job_id,
                   VideoJob.status.not_in([str(status) for status in FINISHED_STATUSES]))
            .values(status=str(JobStatus.CANCELLED), stage="cancelled", finished_at=moment,
                    updated_at=moment)
            .execution_options(synchronize_session=False)
        ))
        return changed.rowcount == 1
