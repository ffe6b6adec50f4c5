"""Queue places in the chat: the bot's queue watch edits a queued job's status message as the
queue moves, never drops an edit the chat's edit slot held back, and sends nothing new."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.queue_watch import TELLS_PER_TICK, QueueWatch
from tests.fakes.telegram_server import FakeTelegram
from videobot.db.bot_records import BotRecords
from videobot.db.engine import Database
from videobot.db.models import JobStatus
from videobot.db.store import JobStore
from videobot.telegram import BotApi, StatusBoard

EDIT_GAP = 1.0


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[FakeTelegram, JobStore, StatusBoard]]:
    db = Database(f"sqlite:///{tmp_path / 'app.db'}")
    db.migrate()
    store = JobStore(db)
    with FakeTelegram() as tg:
        board = StatusBoard(BotApi(tg.url, tg.token), store, BotRecords(db), EDIT_GAP)
        yield tg, store, board
    db.dispose()


def _accept(store: JobStore, board: StatusBoard, chat: int, prompt: str) -> uuid.UUID:
    """A job as the bot accepts it: queued, its status message sent."""
    job = store.create_job(
        user_id=f"tg:{chat}", prompt=prompt, language="en", fmt="16:9", chat_id=str(chat)
    )
    assert board.refresh(job.id)
    return job.id


def _status(tg: FakeTelegram, chat: int) -> str:
    (message,) = [m for m in tg.chat_messages(chat) if m.text.startswith("🎬")]
    return message.text


def test_status_messages_follow_the_queue(
    setup: tuple[FakeTelegram, JobStore, StatusBoard],
) -> None:
    tg, store, board = setup
    first, second, third = (
        _accept(store, board, chat, prompt)
        for chat, prompt in ((31, "Tides"), (32, "Comets"), (33, "Bees"))
    )
    assert [_status(tg, c).splitlines()[2] for c in (31, 32, 33)] == [
        "Position in the queue: 1",
        "Position in the queue: 2",
        "Position in the queue: 3",
    ]
    watch = QueueWatch(board, store)
    watch.tick()
    assert not tg.calls_to("editMessageText"), "nothing moved, nothing edited"

    store.update_job(first, status=JobStatus.RUNNING, stage="script")
    assert set(watch.tick()) == {first, second, third}
    assert "Position in the queue" not in _status(tg, 31)
    assert "Position in the queue: 1" in _status(tg, 32)
    assert "Position in the queue: 2" in _status(tg, 33)

    # Moves within the edit gap of those chats: the edits wait for their slots, none is lost.
    store.update_job(third, status=JobStatus.CANCELLED, stage="cancelled")
    store.update_job(first, status=JobStatus.QUEUED)  # back in line after a gate: at the end
    assert watch.tick() == [], "both chats were edited less than the edit gap ago"
    assert "Position in the queue: 2" in _status(tg, 33), "unchanged until its slot is free"
    time.sleep(EDIT_GAP + 0.1)
    assert set(watch.tick()) == {first, third}
    assert "Cancelled" in _status(tg, 33) and "Position in the queue" not in _status(tg, 33)
    assert "Position in the queue: 2" in _status(tg, 31)
    assert "Position in the queue: 1" in _status(tg, 32)

    store.update_job(second, status=JobStatus.RUNNING, stage="script")
    assert watch.tick() == [second], "the first chat's slot is still taken"
    assert "Position in the queue" not in _status(tg, 32)
    time.sleep(EDIT_GAP + 0.1)
    assert watch.tick() == [first]
    assert "Position in the queue: 1" in _status(tg, 31)
    assert watch.tick() == [], "everything told; nothing left to edit"
    assert len(tg.calls_to("sendMessage")) == 3, "only the three first status messages"


def test_a_job_whose_first_message_is_on_its_way_gets_no_second(
    setup: tuple[FakeTelegram, JobStore, StatusBoard],
) -> None:
    """The bot records a job before sending its status message; the watch waits for it."""
    tg, store, board = setup
    job = store.create_job(user_id="tg:41", prompt="Owls", language="en", fmt="16:9", chat_id="41")
    watch = QueueWatch(board, store)
    assert watch.tick() == []
    assert not tg.chat_messages(41)
    assert board.refresh(job.id)  # the bot's own first message
    assert watch.tick() == [job.id]
    assert len(tg.chat_messages(41)) == 1 and not tg.calls_to("editMessageText")


def test_a_long_queue_is_told_front_first_a_share_at_a_time(
    setup: tuple[FakeTelegram, JobStore, StatusBoard],
) -> None:
    """When a queue longer than one look's share moves, the front is edited first and the
    rest on the next look: the Bot API's overall message rate is kept to."""
    tg, store, board = setup
    chats = range(100, 100 + TELLS_PER_TICK + 6)
    jobs = [_accept(store, board, chat, f"Topic {chat}") for chat in chats]
    watch = QueueWatch(board, store)
    assert len(watch.tick()) == TELLS_PER_TICK and len(watch.tick()) == 6
    assert not tg.calls_to("editMessageText")

    store.update_job(jobs[0], status=JobStatus.RUNNING, stage="script")
    first_look = watch.tick()
    assert first_look == [jobs[0], *jobs[1:TELLS_PER_TICK]]
    assert watch.tick() == jobs[TELLS_PER_TICK:]
    edited = {int(c.params["chat_id"]) for c in tg.calls_to("editMessageText")}
    assert edited == set(chats)
    for place, chat in enumerate(chats[1:], 1):
        assert f"Position in the queue: {place}\n" in _status(tg, chat)
