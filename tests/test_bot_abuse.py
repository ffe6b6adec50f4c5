"""Mistakes and abuse: each gets a clear answer and leaves jobs, approvals and runs unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from tasks.runtime import runtime
from tests.bot_fixtures import Stack, approvals_of, job_rows, only_job_of, run_state, running_stack
from tests.fakes.telegram_updates import Sent
from tests.helpers import paused_at, wait_for
from videobot.callbacks import job_key

OWNER, STRANGER = 2001, 2002


@pytest.fixture(scope="module")
def stack(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(prefect_server, tmp_path_factory)


@pytest.fixture(scope="module")
def waiting(stack: Stack) -> tuple[UUID, Sent]:
    """The owner's job, suspended at its script gate, and the gate's message."""
    stack.tg.write(OWNER, "How glaciers move")
    script = stack.tg.wait_for_message(OWNER, lambda m: "Script (version 1)" in m.text, 120)
    job_id = only_job_of(OWNER).id
    wait_for(paused_at(job_id, "script", 1), timeout=60, what="the script gate")
    return job_id, script


def _answer(stack: Stack, user: int, message: Sent, data: str) -> str:
    return str(stack.tg.wait_for_answer(stack.tg.press(user, message, data))["text"])


def _reply(stack: Stack, user: int, text: str, marker: str) -> None:
    """Person `user` sends `text`; the bot answers with a message containing `marker`."""
    before = max((m.message_id for m in stack.tg.chat_messages(user)), default=0)
    stack.tg.write(user, text)
    stack.tg.wait_for_message(user, lambda m: marker in m.text, timeout=30, after=before)


def _unchanged(job_id: UUID, rows: tuple[int, int]) -> None:
    assert job_rows() == rows
    assert approvals_of(job_id) == [("script", 1, None)]
    assert run_state(job_id) == "Suspended"


def test_forged_callback_data(stack: Stack, waiting: tuple[UUID, Sent]) -> None:
    """Data the bot never made, or naming no job, is refused; nothing moves."""
    job_id, script = waiting
    rows = job_rows()
    key = job_key(job_id)
    for data in (
        "approve",
        "g1:deadbeef:s:1:a:",
        f"g1:{key}:s:1:a:x",
        f"g1:{key}:i:1:k:fff",
        f"g1:{key}:s:1:n:11",
        "g1:" + "a" * 70,
    ):
        assert _answer(stack, OWNER, script, data) == "This button is not valid."
    _unchanged(job_id, rows)


def test_another_persons_job(stack: Stack, waiting: tuple[UUID, Sent]) -> None:
    """A stranger pressing the owner's real button is told it is not theirs."""
    job_id, script = waiting
    rows = job_rows()
    answer = _answer(stack, STRANGER, script, script.button("Approve"))
    assert answer == "This is someone else's video."
    _unchanged(job_id, rows)


def test_button_for_another_attempt_is_stale(stack: Stack, waiting: tuple[UUID, Sent]) -> None:
    """A button for a gate the job does not wait at answers "already decided"."""
    job_id, script = waiting
    rows = job_rows()
    stale = script.button("Approve").replace(":s:1:", ":s:2:")
    assert _answer(stack, OWNER, script, stale) == "Already decided."
    _unchanged(job_id, rows)


def test_too_long_prompt_unknown_command_sticker_edit_group(
    stack: Stack, waiting: tuple[UUID, Sent]
) -> None:
    """Each is explained; no job is created and the waiting job is untouched."""
    job_id, _ = waiting
    rows = job_rows()
    _reply(stack, 2003, "x" * 10_000,
           "That is 10000 characters; please keep the prompt to 2000 at most")
    _reply(stack, 2004, "/frobnicate", "I don't know that command")
    stack.tg.send_sticker(2005)
    stack.tg.wait_for_message(2005, lambda m: "text, a voice note or a photo" in m.text, 30)
    stack.tg.edit(2006, 1, "changed my mind")
    stack.tg.wait_for_message(2006, lambda m: "edited messages" in m.text, 30)
    stack.tg.write(2007, "/start", chat_id=-100500, chat_type="group")
    stack.tg.wait_for_message(-100500, lambda m: "private chats only" in m.text, 30)
    _reply(stack, OWNER, "Another video please", "You already have a video in progress")
    stack.tg.send_voice(2009, b"OggS" + bytes(100), duration=121)
    stack.tg.wait_for_message(2009, lambda m: "longer than 2 min." in m.text, 30)
    _unchanged(job_id, rows)


def test_sixth_request_in_a_minute(stack: Stack, waiting: tuple[UUID, Sent]) -> None:
    """Five requests a minute are served; the sixth is told to wait, in seconds, and starts
    nothing; read-only commands still answer past the limit."""
    job_id, _ = waiting
    rows = job_rows()
    user = 2008
    for _ in range(5):
        _reply(stack, user, "/new", "Send me")
    _reply(stack, user, "How tides work", "Please wait")
    assert job_rows() == rows
    _reply(stack, user, "/help", "/status")
    _unchanged(job_id, rows)


def test_double_click_decides_once(stack: Stack, waiting: tuple[UUID, Sent]) -> None:
    """Two presses of Approve at once: one approval, one "already decided"; then the gate's
    keyboard shows the outcome and its old buttons are stale."""
    job_id, script = waiting
    rows = job_rows()
    data = script.button("Approve")
    first, second = stack.tg.press(OWNER, script, data), stack.tg.press(OWNER, script, data)
    answers = sorted(str(stack.tg.wait_for_answer(c)["text"]) for c in (first, second))
    assert answers == ["Already decided.", "✅ Approved."]
    assert approvals_of(job_id)[0] == ("script", 1, "approve")
    wait_for(
        lambda: "✅ Approved." in script.text and not script.reply_markup,
        timeout=10,
        what="the outcome in place of the keyboard",
    )
    assert _answer(stack, OWNER, script, data) == "Already decided."

    images = stack.tg.wait_for_message(
        OWNER, lambda m: "round 1" in m.text and bool(m.reply_markup), 120, after=script.message_id
    )
    assert _answer(stack, OWNER, images, images.button("Cancel")) == "✖️ Cancelled."
    wait_for(
        lambda: runtime().store.job(job_id).status == "cancelled",
        timeout=60,
        what="the job to be cancelled",
    )
    assert [a[2] for a in approvals_of(job_id)] == ["approve", "cancel"]
    assert job_rows() == (rows[0], rows[1] + 1)  # only the images gate was added
    wait_for(lambda: run_state(job_id) == "Cancelled", timeout=60, what="the run to end")
