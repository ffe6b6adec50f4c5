"""What the bot's handlers share: settings, the app database, the media root, and Prefect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from telegram.ext import ContextTypes

from orchestration import runs
from videobot.db.bot_records import BotRecords
from videobot.db.engine import Database
from videobot.db.store import JobStore
from videobot.media.scratch import Scratch
from videobot.media.store import MediaStore, open_media_store
from videobot.settings import Settings
from videobot.telegram import BotApi, StatusBoard

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    db: Database
    store: JobStore
    records: BotRecords
    files: MediaStore  # where voice notes and photos go, for the flows on any worker
    board: StatusBoard  # edits status messages the bot itself keeps current (queue places)

    @classmethod
    def open(cls, settings: Settings) -> Services:
        db = Database(settings.db_url)
        db.migrate()
        store, records = JobStore(db), BotRecords(db)
        token = settings.telegram_bot_token
        assert token is not None  # build_application refuses to start without one
        api = BotApi(settings.telegram_api_base_url, token.get_secret_value())
        board = StatusBoard(api, store, records, settings.telegram_edit_seconds)
        return cls(settings, db, store, records, open_media_store(settings), board)

    def scratch(self) -> Scratch:
        """A local folder for one download, removed when done."""
        return Scratch(self.files, self.settings.scratch_dir)

    def close(self) -> None:
        self.board.api.close()
        self.db.dispose()

    async def trigger(self, job_id: UUID) -> None:
        """Hand the job to the served `make-video` deployment; returns once the run exists."""
        await blocking(runs.trigger, self.store, self.settings, job_id, channel="telegram")

    async def cancel_run(self, flow_run_id: UUID) -> None:
        """Stop the job's run (`orchestration.runs.cancel_run`); the job itself is cancelled
        by the caller either way."""
        await blocking(runs.cancel_run, flow_run_id, reason="cancelled in the chat")


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found: Services = context.bot_data["services"]
    return found


async def blocking(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Database and Prefect calls are blocking; run them off the event loop."""
    return await asyncio.to_thread(call, *args, **kwargs)
