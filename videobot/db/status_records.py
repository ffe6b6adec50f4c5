"""Each job's one status message and each chat's edit slot, kept in the app database so
that every flow process and bot replica edits the same message, at most once per gap."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update

from videobot.db.engine import Database
from videobot.db.models import BotUser, StatusMessage, utcnow


def aware(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class StatusRecords:
    db: Database

    if TYPE_CHECKING:  # BotRecords'

        def note_person(self, user_id: str, telegram_language: str | None = None) -> BotUser: ...

    def status_message(self, job_id: uuid.UUID) -> StatusMessage | None:
        with self.db.session() as s:
            return s.get(StatusMessage, job_id)

    def save_status_message(
        self, job_id: uuid.UUID, chat_id: str, message_id: int, text: str
    ) -> None:
        with self.db.session() as s:
            row = s.get(StatusMessage, job_id)
            if row is None:
                s.add(
                    StatusMessage(
                        job_id=job_id,
                        chat_id=chat_id,
                        message_id=message_id,
                        text=text,
                        edited_at=utcnow(),
                    )
                )
            else:
                row.chat_id, row.message_id, row.text = chat_id, message_id, text
                row.edited_at = utcnow()

    def claim_edit_slot(self, user_id: str, gap_seconds: float) -> float:
        """0 when this process may edit the person's chat now (≤ one edit per `gap_seconds`,
        across processes), else the seconds to wait."""
        self.note_person(user_id)
        now = utcnow()
        with self.db.session() as s:
            granted = s.execute(
                update(BotUser)
                .where(
                    BotUser.user_id == user_id,
                    or_(
                        BotUser.status_edited_at.is_(None),
                        BotUser.status_edited_at <= now - timedelta(seconds=gap_seconds),
                    ),
                )
                .values(status_edited_at=now)
            )
            if granted.rowcount == 1:  # type: ignore[attr-defined]
                return 0.0
            last = s.scalar(select(BotUser.status_edited_at).where(BotUser.user_id == user_id))
        if last is None:
            return 0.0
        wait = (aware(last) + timedelta(seconds=gap_seconds) - now).total_seconds()
        return min(gap_seconds, max(0.05, wait))  # `now` may predate the winner's stamp

    def edit_done(self, user_id: str) -> None:
        """Stamp the person's chat as edited now, once an edit has been answered: the next one
        then reaches Telegram at least the gap after this one did, however late this one's
        claim was stamped or its request travelled."""
        with self.db.session() as s:
            s.execute(
                update(BotUser).where(BotUser.user_id == user_id).values(status_edited_at=utcnow())
            )
