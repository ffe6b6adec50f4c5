"""Queue places in the chat: while jobs wait for a working slot, their status messages show
their current place, edited as the queue moves (a job gets a slot, is cancelled or fails).

The bot process watches the queue rather than the flows: a queued job's run may not have
started yet, and a job leaves the queue in many places (a slot taken in a flow, /cancel here,
the CLI, a crash). One query a second sees all of them; messages are edited only for jobs
whose place changed. Every replica may watch: an edit that is already made is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from videobot.db.store import JobStore
from videobot.telegram import StatusBoard

log = logging.getLogger(__name__)
QUEUE_POLL_SECONDS = 1.0
# Messages looked at per look: a long queue moving at once is told front first, a share a
# second, well under the Bot API's ~30 messages a second across all chats.
TELLS_PER_TICK = 20


class QueueWatch:
    def __init__(self, board: StatusBoard, store: JobStore) -> None:
        self.board, self.store = board, store
        self._told: dict[UUID, int] = {}  # the place each queued job's message shows
        self._leaving: set[UUID] = set()  # left the queue; their messages still show a place

    def tick(self) -> list[UUID]:
        """Look at the queue once; returns the jobs whose messages were brought up to date."""
        queue = self.store.queued_jobs()
        places = {job_id: place for place, (job_id, has_chat) in enumerate(queue, 1) if has_chat}
        self._leaving = (self._leaving | (self._told.keys() - places.keys())) - places.keys()
        self._told = {job_id: told for job_id, told in self._told.items() if job_id in places}
        moved = [job_id for job_id, place in places.items() if self._told.get(job_id) != place]
        told: list[UUID] = []
        for job_id in [*sorted(self._leaving), *moved][:TELLS_PER_TICK]:
            outcome = self._tell(job_id, queued=job_id in places)
            if outcome is not False:
                self._leaving.discard(job_id)
            if outcome:
                told.append(job_id)
                if job_id in places:
                    self._told[job_id] = places[job_id]
        return told

    def _tell(self, job_id: UUID, queued: bool) -> bool | None:
        """True: the message is up to date; False: try again on the next look (the chat's edit
        slot is taken, or the bot is still sending the job's first message); None: failed."""
        try:
            if self.board.records.status_message(job_id) is None:
                return False if queued else None
            return self.board.refresh(job_id, wait=False)
        except Exception as exc:  # one chat's trouble must not stop the others' updates
            log.warning("Queue place of job %s not shown: %s", str(job_id)[:8], exc)
            return None


async def watch_queue(watch: QueueWatch, every: float = QUEUE_POLL_SECONDS) -> None:
    """Run `watch.tick` until cancelled (when the bot stops)."""
    while True:
        try:
            await asyncio.to_thread(watch.tick)
        except Exception as exc:  # the database may be briefly away; keep watching
            log.warning("The job queue could not be read: %s", exc)
        await asyncio.sleep(every)
