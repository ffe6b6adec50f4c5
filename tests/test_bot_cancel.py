"""/cancel of a job whose run has started, with the bot's Application fed real updates in
process: the person is told at once that the video is being stopped, and the same message
then says how it ended; a run Prefect cannot stop leaves the job as it was."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect.states import Cancelled, Running
from telegram import Update
from telegram.ext import Application

from orchestration.runs import api_client
from tests.bot_in_process import deliver, running_bot
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import Sent
from videobot.db.models import VideoJob
from videobot.naming import short_id

ANNA = 8201


def _job_of(app: Application, user: int) -> VideoJob:
    (job,) = app.bot_data["services"].records.jobs_of(f"tg:{user}")
    return job


async def _until(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _run_state(run_id: uuid.UUID) -> str:
    with api_client() as client:
        state = client.read_flow_run(run_id).state
    return state.name if state else ""


async def _handle_latest(app: Application, tg: FakeTelegram) -> None:
    """Hand the application the newest update, as polling would while it still handles an
    earlier one (the bot handles updates concurrently)."""
    latest = tg.handle("getUpdates", {"offset": 0, "timeout": 0}, {})[-1]
    await app.process_update(Update.de_json(latest, app.bot))


def _saying(tg: FakeTelegram, user: int, text: str) -> Sent | None:
    return next((m for m in tg.chat_messages(user) if text in m.text), None)


async def test_cancel_says_at_once_that_the_video_is_stopping(
    registered_runs: list[Any], tmp_path: Path
) -> None:
    """While the run's process is being stopped (seconds; its runner ends it), the person
    already reads "Stopping video …". A second /cancel meanwhile (a double tap) waits for the
    same end: it does not force the run Cancelled while its process may still run. The job is
    marked cancelled only once the run has ended, and each message then says so, edited."""
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path) as app:
            tg.write(ANNA, "How tides work")
            await deliver(app, tg)
            job = _job_of(app, ANNA)
            assert job.flow_run_id is not None
            registered_runs.append(job.flow_run_id)
            with api_client() as client:  # as if a process had started it
                client.set_flow_run_state(job.flow_run_id, Running(), force=True)
            before = len(tg.chat_messages(ANNA))
            tg.write(ANNA, "/cancel")
            first = asyncio.create_task(_handle_latest(app, tg))
            said = await _until(lambda: _saying(tg, ANNA, "Stopping video"), "the first word")
            assert said.text == f"Stopping video {short_id(job.id)}…"
            await _until(lambda: _run_state(job.flow_run_id) == "Cancelling", "Cancelling")
            tg.write(ANNA, "/cancel")
            second = asyncio.create_task(_handle_latest(app, tg))
            await _until(lambda: len(tg.chat_messages(ANNA)) == before + 2, "the second word")
            await asyncio.sleep(2)
            assert _run_state(job.flow_run_id) == "Cancelling", "forced while it was stopping"
            assert not first.done() and not second.done()
            assert _job_of(app, ANNA).status != "cancelled"
            with api_client() as client:  # as its runner does, once it ended
                client.set_flow_run_state(job.flow_run_id, Cancelled(), force=True)
            await asyncio.wait_for(asyncio.gather(first, second), 30)
            cancelled = _job_of(app, ANNA)
    answers = tg.chat_messages(ANNA)[before:]
    assert [m.text for m in answers] == [f"Video {short_id(job.id)} is cancelled."] * 2
    assert [m.edits for m in answers] == [1, 1]
    assert cancelled.status == "cancelled" and cancelled.stage == "cancelled"


async def test_a_run_prefect_cannot_stop_leaves_the_job_as_it_was(
    prefect_server: str, tmp_path: Path
) -> None:
    """The job names a run the Prefect server does not have: the person reads that the video
    could not be cancelled (in the message that said it was stopping), and the job goes on."""
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path) as app:
            store = app.bot_data["services"].store
            job = store.create_job(user_id="tg:8202", prompt="How kites fly", language="en",
                                   fmt="16:9")
            store.update_job(job.id, flow_run_id=uuid.uuid4(), stage="images")
            tg.write(8202, "/cancel")
            await deliver(app, tg)
            after = store.job(job.id)
    (said,) = [m for m in tg.chat_messages(8202) if short_id(job.id) in m.text]
    assert said.text == f"I could not cancel video {short_id(job.id)}. Please try again."
    assert after.status == job.status and after.stage == "images"
