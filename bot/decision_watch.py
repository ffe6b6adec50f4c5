"""Decisions claimed in the chat but never passed on to their runs are passed on.

A button's decision is claimed on the gate row before the run is resumed. A bot stopped
between the two (a restart, a crash) would leave the run waiting for a decision the person
already made; every replica looks for such gates now and then and resumes their runs.
"""

from __future__ import annotations

import asyncio
import logging

from orchestration.gate_service import pass_on_stranded
from videobot.db.bot_records import BotRecords
from videobot.db.store import JobStore

log = logging.getLogger(__name__)
STRANDED_POLL_SECONDS = 15.0


async def watch_decisions(
    store: JobStore, records: BotRecords, every: float = STRANDED_POLL_SECONDS
) -> None:
    """Pass on stranded decisions until cancelled (when the bot stops)."""
    while True:
        try:
            await asyncio.to_thread(pass_on_stranded, store, records)
        except Exception as exc:  # the database or Prefect may be briefly away
            log.warning("Stranded decisions could not be looked for: %s", exc)
        await asyncio.sleep(every)
