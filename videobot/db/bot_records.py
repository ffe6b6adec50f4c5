"""What the bot keeps in the app database, so that any number of bot replicas agree: people's
settings, their request log (rate limits), the job they may start, decisions claimed once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from videobot.db.engine import Database
from videobot.db.models import (
    FINISHED_STATUSES,
    Approval,
    BotRequest,
    BotUser,
    ProviderCall,
    VideoJob,
    utcnow,
)
from videobot.db.status_records import StatusRecords, aware
from videobot.db.store import new_job_row
from videobot.decisions import Decision

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


@dataclass(frozen=True)
class Refused:
    """Why a job was not started: the person already has `active` jobs going."""

    active: VideoJob


class BotRecords(StatusRecords):
    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def _person_locked(self, user_id: str, now: datetime) -> Iterator[Session]:
        """A transaction holding the person's row: their requests are counted one at a time
        across replicas (PostgreSQL locks the row; SQLite takes its write lock)."""
        self.note_person(user_id)
        with self.db.session() as s:
            s.execute(update(BotUser).where(BotUser.user_id == user_id).values(last_request_at=now))
            yield s

    # People -----------------------------------------------------------------------------

    def note_person(self, user_id: str, telegram_language: str | None = None) -> BotUser:
        """The person's row, created on first contact; remembers their Telegram language."""
        for _ in range(3):
            try:
                with self.db.session() as s:
                    person = s.get(BotUser, user_id)
                    if person is None:
                        person = BotUser(user_id=user_id, created_at=utcnow())
                        s.add(person)
                    if telegram_language and person.telegram_language != telegram_language:
                        person.telegram_language = telegram_language[:16]
                    return person
            except IntegrityError:  # another replica created it at the same moment
                continue
        raise RuntimeError(f"could not record person {user_id}")

    def person(self, user_id: str) -> BotUser | None:
        with self.db.session() as s:
            return s.get(BotUser, user_id)

    def update_person(self, user_id: str, **values: Any) -> None:
        self.note_person(user_id)
        with self.db.session() as s:
            s.execute(update(BotUser).where(BotUser.user_id == user_id).values(**values))

    def set_awaiting(self, user_id: str, awaiting: dict[str, Any] | None) -> None:
        self.update_person(user_id, awaiting=awaiting)

    # Limits -----------------------------------------------------------------------------

    def admit(self, user_id: str, per_minute: int, per_hour: int) -> float:
        """Record one request and return 0, or return the seconds to wait (nothing recorded)."""
        with self._person_locked(user_id, utcnow()) as s:
            now = utcnow()  # read once the row is ours: earlier requests are all in the past
            s.execute(
                delete(BotRequest).where(BotRequest.user_id == user_id, BotRequest.at < now - HOUR)
            )
            recent = [
                aware(at)
                for at in s.scalars(
                    select(BotRequest.at)
                    .where(BotRequest.user_id == user_id)
                    .order_by(BotRequest.at.desc())
                    .limit(max(per_minute, per_hour))
                )
            ]
            waits = []
            in_minute = [at for at in recent if at > now - MINUTE]
            if len(in_minute) >= per_minute:
                waits.append((in_minute[per_minute - 1] + MINUTE - now).total_seconds())
            if len(recent) >= per_hour:
                waits.append((recent[per_hour - 1] + HOUR - now).total_seconds())
            if waits:
                return max(1.0, max(waits))
            s.add(BotRequest(user_id=user_id, at=now))
            return 0.0

    def start_job(
        self,
        *,
        user_id: str,
        chat_id: str,
        prompt: str,
        prompt_kind: str,
        language: str,
        fmt: str,
        voice: str | None,
        max_active: int,
        captions: bool | None = None,
        motion: str | None = None,
    ) -> VideoJob | Refused:
        """A new queued job, unless the person already has `max_active` unfinished ones."""
        with self._person_locked(user_id, utcnow()) as s:
            active = list(
                s.scalars(
                    select(VideoJob)
                    .where(
                        VideoJob.user_id == user_id, VideoJob.status.not_in(list(FINISHED_STATUSES))
                    )
                    .order_by(VideoJob.created_at.desc())
                )
            )
            if len(active) >= max_active:
                return Refused(active[0])
            job = new_job_row(
                user_id=user_id, chat_id=chat_id, prompt=prompt, prompt_kind=prompt_kind,
                language=language, fmt=fmt, narrator_voice=voice,
            )
            job.captions = captions
            job.motion_model = motion
            s.add(job)
            return job

    # The person's photo -----------------------------------------------------------------

    def keep_reference(self, user_id: str, path: str) -> str | None:
        """Keep `path` as the reference of the person's next job; returns the photo it
        replaces (for the caller to delete), if any."""
        now = utcnow()
        with self._person_locked(user_id, now) as s:
            person = s.get(BotUser, user_id)
            assert person is not None  # created by _person_locked
            previous, person.reference_path = person.reference_path, path
            person.reference_kept_at = now
            return previous

    def take_reference(self, user_id: str) -> str | None:
        """The person's waiting photo, taken off them: it belongs to the one job that takes
        it, and to no other."""
        with self._person_locked(user_id, utcnow()) as s:
            person = s.get(BotUser, user_id)
            assert person is not None
            path, person.reference_path = person.reference_path, None
            person.reference_kept_at = None
            return path

    # Jobs -------------------------------------------------------------------------------

    def jobs_of(self, user_id: str, limit: int = 10) -> list[VideoJob]:
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(VideoJob)
                    .where(VideoJob.user_id == user_id)
                    .order_by(VideoJob.created_at.desc())
                    .limit(limit)
                )
            )

    def active_job(self, user_id: str) -> VideoJob | None:
        with self.db.session() as s:
            return s.scalars(
                select(VideoJob)
                .where(VideoJob.user_id == user_id, VideoJob.status.not_in(list(FINISHED_STATUSES)))
                .order_by(VideoJob.created_at.desc())
            ).first()

    def job_by_key(self, user_id: str, key: str) -> tuple[VideoJob | None, bool]:
        """The person's job whose id starts with `key`, and whether the key names anybody's."""
        with self.db.session() as s:
            own = [
                j
                for j in s.scalars(select(VideoJob).where(VideoJob.user_id == user_id))
                if j.id.hex.startswith(key)
            ]
            if own:
                return own[0], True
            anyone = s.scalar(
                select(func.count())
                .select_from(VideoJob)
                .where(cast(VideoJob.id, String).like(f"{key}%"))
            )
            return None, bool(anyone)

    def stats(self, since: datetime) -> tuple[dict[str, int], float]:
        """Jobs by status, and what providers cost since `since`."""
        with self.db.session() as s:
            rows = s.execute(select(VideoJob.status, func.count()).group_by(VideoJob.status))
            counts = {status: int(count) for status, count in rows}
            spend = s.scalar(
                select(func.coalesce(func.sum(ProviderCall.cost_usd), 0.0)).where(
                    ProviderCall.created_at >= since
                )
            )
            return counts, float(spend or 0.0)

    # Decisions --------------------------------------------------------------------------

    def claim_decision(
        self, job_id: uuid.UUID, stage: str, attempt: int, decision: Decision
    ) -> datetime | None:
        """Write the decision on the open gate row, once: a conditional UPDATE, so that of two
        clicks (or two replicas) exactly one wins. Returns the claim's time, None if lost."""
        now = utcnow()
        with self.db.session() as s:
            claimed = s.execute(
                update(Approval)
                .where(
                    Approval.job_id == job_id,
                    Approval.stage == stage,
                    Approval.attempt == attempt,
                    Approval.decision.is_(None),
                )
                .values(
                    decision=decision.action,
                    scenes=decision.scenes,
                    scene=decision.scene,
                    part=decision.part,
                    text=decision.text,
                    feedback=decision.feedback,
                    decided_by=decision.decided_by,
                    decided_at=now,
                )
            )
            return now if claimed.rowcount == 1 else None  # type: ignore[attr-defined]

    def release_decision(
        self, job_id: uuid.UUID, stage: str, attempt: int, decided_by: str
    ) -> None:
        """Undo a claim whose resume failed, so the person can press again."""
        with self.db.session() as s:
            s.execute(
                update(Approval)
                .where(
                    Approval.job_id == job_id,
                    Approval.stage == stage,
                    Approval.attempt == attempt,
                    Approval.decided_by == decided_by,
                )
                .values(
                    decision=None,
                    scenes=None,
                    scene=None,
                    part=None,
                    text=None,
                    feedback=None,
                    decided_by=None,
                    decided_at=None,
                )
            )
