"""What the bot's handlers share: settings, the app database, the media root, and Prefect."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from telegram.ext import ContextTypes

from bot.progress import StatusBoard
from bot.telegram_http import BotApi
from videobot.db.bot_records import BotRecords
from videobot.db.engine import Database
from videobot.db.models import JobStatus
from videobot.db.store import JobStore
from videobot.decisions import Decision
from videobot.media.paths import MediaLayout
from videobot.naming import job_tags
from videobot.settings import Settings

T = TypeVar("T")
DEPLOYMENT = "make-video/make-video"


@dataclass
class Services:
    settings: Settings
    db: Database
    store: JobStore
    records: BotRecords
    media: MediaLayout
    board: StatusBoard  # edits status messages the bot itself keeps current (queue places)

    @classmethod
    def open(cls, settings: Settings) -> Services:
        db = Database(settings.db_url)
        db.migrate()
        # Imported now rather than on the first button press, which would wait for them.
        import prefect.deployments.flow_runs  # noqa: F401

        import flows.gates  # noqa: F401

        store, records = JobStore(db), BotRecords(db)
        token = settings.telegram_bot_token
        assert token is not None  # build_application refuses to start without one
        api = BotApi(settings.telegram_api_base_url, token.get_secret_value())
        board = StatusBoard(api, store, records, settings.telegram_edit_seconds)
        return cls(settings, db, store, records, MediaLayout(settings.media_dir), board)

    def close(self) -> None:
        self.board.api.close()
        self.db.dispose()

    async def trigger(self, job_id: UUID) -> None:
        """Hand the job to the served `make-video` deployment; returns once the run exists."""
        from prefect.deployments.flow_runs import arun_deployment

        job = await blocking(self.store.job, job_id)
        run = await arun_deployment(
            DEPLOYMENT,
            parameters={"job_id": str(job_id), "channel": "telegram"},
            tags=job_tags(job.user_id, job.format, self.settings),
            timeout=0,
        )
        await blocking(self.store.update_job, job_id, flow_run_id=run.id, flow_run_name=run.name)

    async def resume(
        self, job_id: UUID, stage: str, decision: Decision, within: float = 15.0
    ) -> None:
        """Resume the job's run with `decision`, already claimed on its gate row.

        The gate message goes out just before the run suspends, so a quick press can find the
        run not paused yet. If the run then reaches the gate it replays the recorded decision
        and moves on (the job leaves the gate); if it suspended first, a later try resumes it.
        """
        from prefect.exceptions import NotPausedError

        from flows.gates import resume_with

        deadline = time.monotonic() + within
        while True:
            job = await blocking(self.store.job, job_id)
            assert job.flow_run_id is not None
            try:
                await blocking(resume_with, job.flow_run_id, decision)
                return
            except NotPausedError:
                job = await blocking(self.store.job, job_id)
                if job.status != JobStatus.WAITING or job.stage != f"{stage}-gate":
                    return  # the run took the recorded decision without waiting for it
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def run_waits(self, flow_run_id: UUID) -> bool:
        """Whether the run is paused or suspended (waiting for a decision)."""
        from prefect import get_client

        async with get_client() as client:
            state = (await client.read_flow_run(flow_run_id)).state
        return bool(state and state.is_paused())

    async def cancel_run(self, flow_run_id: UUID, within: float = 20.0) -> None:
        """Stop the job's run: a started or starting one through its runner (Cancelling, which
        ends its process), others at once. (A Cancelled state forced on a starting run is
        overwritten when its process starts running it.) A run still not ended after `within`
        is set Cancelled: a process that began just as it was asked to stop can leave it
        Cancelling for good, and the job itself is cancelled either way."""
        from prefect import get_client
        from prefect.states import Cancelled, Cancelling

        async with get_client() as client:
            state = (await client.read_flow_run(flow_run_id)).state
            if state is not None and state.is_final():
                return
            started = state is not None and (state.is_running() or state.is_pending())
            new = Cancelling if started else Cancelled
            await client.set_flow_run_state(
                flow_run_id, new(message="cancelled in the chat"), force=True
            )
            deadline = time.monotonic() + within
            while time.monotonic() < deadline:
                state = (await client.read_flow_run(flow_run_id)).state
                if state is None or state.is_final():
                    return
                await asyncio.sleep(0.5)
            await client.set_flow_run_state(
                flow_run_id, Cancelled(message="cancelled in the chat"), force=True
            )


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found: Services = context.bot_data["services"]
    return found


async def blocking(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Database and Prefect calls are blocking; run them off the event loop."""
    return await asyncio.to_thread(call, *args, **kwargs)
