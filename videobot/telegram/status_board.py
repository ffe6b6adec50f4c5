"""One status message per job, edited as the work goes on: at most one edit per chat every
`TELEGRAM_EDIT_SECONDS` (claimed in the database, so every flow process keeps to it)."""

from __future__ import annotations

import logging
import threading
import time
from uuid import UUID

from videobot.chat_texts import status_message
from videobot.db.bot_records import BotRecords
from videobot.db.models import JobStatus
from videobot.db.store import JobStore
from videobot.i18n import pick_language
from videobot.telegram.bot_api import BotApi, TelegramError

log = logging.getLogger(__name__)
WATCHED_STAGES = ("images", "clips")
WATCH_LIMIT_SECONDS = 3600


class StatusBoard:
    def __init__(self, api: BotApi, store: JobStore, records: BotRecords, edit_gap: float) -> None:
        self.api, self.store, self.records, self.edit_gap = api, store, records, edit_gap
        self._locks: dict[UUID, threading.Lock] = {}
        self._watched: set[UUID] = set()
        self._guard = threading.Lock()

    def language(self, user_id: str) -> str:
        person = self.records.person(user_id)
        return pick_language(
            person.language if person else None, person.telegram_language if person else None
        )

    def render(self, job_id: UUID, status: str | None = None) -> str:
        job = self.store.job(job_id)
        if status is not None:
            job.status = status
        position = self.store.queue_position(job_id) if job.status == JobStatus.QUEUED else None
        return status_message(
            self.language(job.user_id), job, self.store.segments(job_id), position
        )

    def refresh(self, job_id: UUID, status: str | None = None, *, wait: bool = True) -> bool:
        """Bring the job's status message up to date (sending it first if there is none).

        With `wait=False` an edit that would have to wait for the chat's edit slot is not made;
        the answer says whether the message is up to date.
        """
        with self._lock(job_id):
            job = self.store.job(job_id)
            if not job.chat_id:
                return True
            text = self.render(job_id, status)
            row = self.records.status_message(job_id)
            if row is not None and row.text == text:
                return True
            if row is not None:
                while (pause := self.records.claim_edit_slot(job.user_id, self.edit_gap)) > 0:
                    if not wait:
                        return False
                    time.sleep(pause)
                try:
                    self.api.call(
                        "editMessageText", chat_id=row.chat_id, message_id=row.message_id, text=text
                    )
                    self.records.edit_done(job.user_id)
                    self.records.save_status_message(job_id, row.chat_id, row.message_id, text)
                    return True
                except TelegramError as exc:
                    if "not modified" in exc.description:
                        return True
                    if "not found" not in exc.description:
                        raise
            sent = self.api.call("sendMessage", chat_id=job.chat_id, text=text)
            self.records.save_status_message(job_id, job.chat_id, int(sent["message_id"]), text)
            return True

    def watch(self, job_id: UUID) -> None:
        """While the job makes images or clips, refresh its message as scenes finish."""
        with self._guard:
            if job_id in self._watched:
                return
            self._watched.add(job_id)
        threading.Thread(
            target=self._watch, args=(job_id,), daemon=True, name=f"status-{str(job_id)[:8]}"
        ).start()

    def _watch(self, job_id: UUID) -> None:
        started = time.monotonic()
        try:
            while time.monotonic() - started < WATCH_LIMIT_SECONDS:
                time.sleep(max(self.edit_gap, 0.5))
                job = self.store.job(job_id)
                working = job.status == JobStatus.RUNNING and job.stage in WATCHED_STAGES
                self.refresh(job_id)
                if not working:
                    return
        except Exception as exc:  # progress is a courtesy: never let it break the job
            log.warning("Status updates for job %s stopped: %s", str(job_id)[:8], exc)
        finally:
            with self._guard:
                self._watched.discard(job_id)

    def _lock(self, job_id: UUID) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(job_id, threading.Lock())
