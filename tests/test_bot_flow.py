"""The bot end to end: a real bot process and served deployments, a fake Telegram at the edge."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest

from tasks.runtime import runtime
from tests.bot_fixtures import Stack, approvals_of, only_job_of, run_state, running_stack
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import Sent
from tests.helpers import job_slots_held, jobs_limit, wait_for
from videobot.media import probe


@pytest.fixture(scope="module")
def stack(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(
        prefect_server, tmp_path_factory, ADMIN_USER_IDS=str(ADMIN), RATE_LIMIT_PER_MINUTE="30"
    )


ADMIN = 1009


def test_settings_status_cancel_history_and_stats(stack: Stack) -> None:
    """/settings changes the format and the language; the next job uses them; /status,
    /cancel, /history and /stats (admins only) answer in the chosen language."""
    tg, user = stack.tg, ADMIN
    tg.write(user, "/settings")
    menu = tg.wait_for_message(user, lambda m: "Format: 16:9" in m.text, timeout=30)
    assert _press(tg, user, menu, menu.buttons["9:16"])["text"] == "Saved."
    assert _press(tg, user, menu, menu.buttons["Русский"])["text"] == "Сохранено."
    wait_for(lambda: "Формат: 9:16\nЯзык: русский" in menu.text, timeout=10,
             what="the menu in Russian")

    tg.write(user, "/status")
    tg.wait_for_message(user, lambda m: "Сейчас видео не делается" in m.text, timeout=30)
    ahead = _left_queued()
    tg.write(user, "Как работают вулканы")
    tg.wait_for_message(user, lambda m: "Принято!" in m.text, timeout=30)
    job = only_job_of(user)
    assert (job.format, job.language, job.prompt) == ("9:16", "ru", "Как работают вулканы")
    wait_for(lambda: runtime().store.job(job.id).flow_run_id, timeout=30, what="the run")
    first_status = next(
        str(c.params["text"])
        for c in tg.calls_to("sendMessage")
        if c.params["chat_id"] == user and str(c.params["text"]).startswith("🎬")
    )
    assert "⏳ Жду свободного места" in first_status
    assert f"Место в очереди: {ahead + 1}" in first_status
    tg.write(user, "/cancel")
    tg.wait_for_message(user, lambda m: f"Видео {str(job.id)[:8]} отменено" in m.text, 60)
    assert runtime().store.job(job.id).status == "cancelled"
    assert run_state(job.id) == "Cancelled"

    tg.write(user, "/history")
    tg.wait_for_message(
        user,
        lambda m: "Ваши последние видео" in m.text and "Как работают вулканы" in m.text,
        timeout=30,
    )
    tg.write(user, "/stats")
    tg.wait_for_message(
        user, lambda m: "Задачи по состояниям" in m.text and "cancelled: " in m.text, timeout=30
    )
    tg.write(1010, "/stats")
    tg.wait_for_message(1010, lambda m: "I don't know that command" in m.text, timeout=30)


def _keyboard(tg: FakeTelegram, user: int, marker: str, after: int = 0) -> Sent:
    return tg.wait_for_message(
        user, lambda m: bool(m.reply_markup) and marker in m.text, timeout=180, after=after
    )


def _press(tg: FakeTelegram, user: int, message: Sent, data: str) -> dict[str, object]:
    return tg.wait_for_answer(tg.press(user, message, data))


def test_start_explains_the_bot(stack: Stack) -> None:
    """/start answers with what the bot does, in the person's language."""
    stack.tg.write(501, "/start")
    stack.tg.wait_for_message(501, lambda m: "50-second" in m.text, timeout=30)
    stack.tg.write(502, "/start", language="ru")
    stack.tg.wait_for_message(502, lambda m: "50-секундные" in m.text, timeout=30)


def test_regenerate_and_edit_the_script_then_cancel(stack: Stack) -> None:
    """Regenerate asks what to change and the reply makes version 2; Edit → Intro takes the
    person's own text as version 3; Cancel ends the job."""
    tg, user = stack.tg, 1003
    tg.write(user, "How rainbows form")
    first = _keyboard(tg, user, "Script (version 1)")
    _press(tg, user, first, first.button("Regenerate"))
    tg.wait_for_message(user, lambda m: "What should change" in m.text, 30, first.message_id)
    tg.write(user, "Make it about double rainbows")
    tg.wait_for_message(user, lambda m: "Regenerating with your feedback" in m.text, 30)
    second = _keyboard(tg, user, "Script (version 2)", after=first.message_id)
    assert not first.reply_markup  # the answered gate lost its keyboard

    _press(tg, user, second, second.button("Edit"))
    tg_wait(lambda: "Intro" in second.buttons)
    _press(tg, user, second, second.buttons["Intro"])
    tg.wait_for_message(user, lambda m: "new text for the Intro" in m.text, 30)
    tg.write(user, "Rainbows are sunlight, bent and split by raindrops.")
    third = _keyboard(tg, user, "Script (version 3)", after=second.message_id)
    assert "Rainbows are sunlight, bent and split by raindrops." in third.text
    assert _press(tg, user, third, third.button("Cancel"))["text"] == "✖️ Cancelled."

    job = only_job_of(user)
    wait_for(lambda: runtime().store.job(job.id).status == "cancelled", what="cancelled")
    assert approvals_of(job.id) == [
        ("script", 1, "regenerate"),
        ("script", 2, "edit"),
        ("script", 3, "cancel"),
    ]
    assert runtime().store.approvals(job.id)[0].feedback == "Make it about double rainbows"


def test_text_prompt_to_a_fifty_second_video(stack: Stack, tmp_path: Path) -> None:
    """Prompt, approve the script, redo scene 4, approve images and clips: a 50 s video."""
    tg, user = stack.tg, 1001
    tg.write(user, "How volcanoes work")
    script = _keyboard(tg, user, "Script (version 1)")
    assert _press(tg, user, script, script.button("Approve"))["text"] == "✅ Approved."

    images = _keyboard(tg, user, "round 1", after=script.message_id)
    album = [c for c in tg.calls_to("sendMediaGroup") if c.params["chat_id"] == user]
    assert len(album) == 1 and len(album[0].params["media"]) == 10
    assert "estimated $" in images.text
    _press(tg, user, images, images.button("Redo"))
    tg_wait(lambda: "4" in images.buttons)
    _press(tg, user, images, images.buttons["4"])
    tg_wait(lambda: "☑ 4" in images.buttons)
    answer = _press(tg, user, images, images.button("Redo 1"))
    assert answer["text"] == "🔁 Redoing scene(s) 4."

    again = _keyboard(tg, user, "round 2", after=images.message_id)
    _press(tg, user, again, again.button("Approve all"))
    clips = _keyboard(tg, user, "ten clips", after=again.message_id)
    _press(tg, user, clips, clips.button("Approve all"))

    _receive_fifty_second_video(tg, user, clips, tmp_path / "received.mp4")

    job = only_job_of(user)
    wait_for(lambda: runtime().store.job(job.id).status == "delivered", what="delivered")
    assert runtime().store.call_counts(job.id)["images"] == 11  # ten, then scene 4 again
    assert approvals_of(job.id) == [
        ("script", 1, "approve"),
        ("images", 1, "redo"),
        ("images", 2, "approve"),
        ("clips", 1, "approve"),
    ]
    _status_message_was_throttled(tg, user)
    bot_log = stack.bot.output()
    assert re.search(rf"INFO .*Decision approve at clips-1 for job {str(job.id)[:8]}: done=True",
                     bot_log), "the operator's log shows each decision passed on"
    logs = bot_log + stack.server.log.read_text(errors="replace")
    assert tg.token not in logs and tg.token.split(":")[1] not in logs


def _status_message_was_throttled(tg: FakeTelegram, user: int) -> None:
    """One status message, edited as the work went on, at most once per 2 s, ending "Done"."""
    status = tg.wait_for_message(user, lambda m: m.text.startswith("🎬"), timeout=5)
    wait_for(lambda: "✅ Done" in status.text, timeout=30, what="the status to say done")
    edits = [
        c for c in tg.calls_to("editMessageText") if c.params["message_id"] == status.message_id
    ]
    texts = [str(c.params["text"]) for c in edits]
    assert any("🖼 Images" in t and "/10 ▓" in t for t in texts), texts
    assert any("🎥 Clips" in t for t in texts), texts
    gaps = [b.at - a.at for a, b in zip(edits, edits[1:], strict=False)]
    assert gaps and min(gaps) >= 1.95, gaps


def test_voice_note_is_transcribed_and_made_into_a_video(stack: Stack, tmp_path: Path) -> None:
    """A voice note is downloaded, transcribed by the flow (fake OpenAI), shown with the script,
    and carried through the gates to a 50-second video."""
    tg, user = stack.tg, 1002
    stack.openai.transcript = "How do bees make honey?"
    note = tmp_path / "note.ogg"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:duration=3",
            "-c:a",
            "libopus",
            str(note),
        ],
        check=True,
    )
    tg.send_voice(user, note.read_bytes(), duration=3)
    script = _keyboard(tg, user, "Script (version 1)")
    assert "You said: “How do bees make honey?”" in script.text
    _press(tg, user, script, script.button("Approve"))
    images = _keyboard(tg, user, "round 1", after=script.message_id)
    _press(tg, user, images, images.button("Approve all"))
    clips = _keyboard(tg, user, "ten clips", after=images.message_id)
    _press(tg, user, clips, clips.button("Approve all"))
    _receive_fifty_second_video(tg, user, clips, tmp_path / "received.mp4")

    job = only_job_of(user)
    assert (job.prompt, job.prompt_kind) == ("How do bees make honey?", "voice")
    assert Path(runtime().files.locate(job.voice_path or "")).read_bytes() == note.read_bytes()
    uploads = stack.openai.requests_to("audio/transcriptions")
    assert len(uploads) == 1 and uploads[0].files["file"].filename.endswith(".ogg")


CANCEL_REPLY = 180  # seconds


def test_queued_jobs_see_their_place_move(stack: Stack) -> None:
    """With every job slot taken, three jobs queue in the order they came; when the first is
    cancelled, the others' status messages move up; when slots free, the next one starts."""
    wait_for(lambda: jobs_limit().active_slots == 0, timeout=60, what="no job slot held")
    tg, people = stack.tg, (2101, 2102, 2103)
    ahead = _left_queued()
    with job_slots_held(jobs_limit().limit) as release:
        for person, prompt in zip(
            people, ("How tides work", "Why cats purr", "What is rust"), strict=True
        ):
            tg.write(person, prompt)
            tg.wait_for_message(person, lambda m: "Got it!" in m.text, timeout=30)
        for place, person in enumerate(people, ahead + 1):
            _status_saying(tg, person, f"Position in the queue: {place}")
        jobs = [only_job_of(person) for person in people]
        wait_for(lambda: all(runtime().store.job(j.id).flow_run_id for j in jobs), what="the runs")
        tg.write(people[0], "/cancel")
        # The reply follows the run's end (`cancel_run`). On a busy machine the SQLite-backed
        # Prefect server has been seen to leave every request waiting for over a minute (one
        # writer at a time, waiters not served in turn), the runner's and the bot's alike.
        tg.wait_for_message(people[0], lambda m: "is cancelled" in m.text, timeout=CANCEL_REPLY)
        _status_saying(tg, people[1], f"Position in the queue: {ahead + 1}")
        _status_saying(tg, people[2], f"Position in the queue: {ahead + 2}")
        release()
        for person in people[1:]:  # each now works towards its script
            _keyboard(tg, person, "Script (version 1)")
            tg.write(person, "/cancel")
            tg.wait_for_message(person, lambda m: "is cancelled" in m.text,
                                timeout=CANCEL_REPLY)
    ended = ("Completed", "Cancelled")
    try:  # every run ends here, not in a later module's serving process
        wait_for(lambda: all(run_state(j.id) in ended for j in jobs), 60, "the runs to end")
    except AssertionError:
        raise AssertionError(f"runs not ended: {[run_state(j.id) for j in jobs]}") from None
    assert "Position in the queue" not in _status_saying(tg, people[0], "Cancelled").text
    assert runtime().store.job(jobs[0].id).status == "cancelled"
    assert run_state(jobs[0].id) == "Cancelled"
    assert not [m for m in tg.chat_messages(people[0]) if "Script" in m.text]
    assert runtime().store.call_counts(jobs[0].id) == {}


def _left_queued() -> int:
    """Jobs queued before a test's own: other modules of this test process leave some (made
    and queued, never run), and they stand ahead in the one queue of the app database."""
    return len(runtime().store.queued_jobs())


def _status_saying(tg: FakeTelegram, person: int, text: str) -> Sent:
    return tg.wait_for_message(
        person, lambda m: m.text.startswith("🎬") and text in m.text, timeout=30
    )


def _receive_fifty_second_video(tg: FakeTelegram, user: int, clips: Sent, out: Path) -> None:
    """The video sent after the clips gate, with its caption, saved to `out`: 50 s long."""
    video = tg.wait_for_message(
        user,
        lambda m: m.kind == "video" and "cost $" in m.text,
        timeout=240,
        after=clips.message_id,
    )
    assert video.file is not None
    out.write_bytes(video.file.data)
    assert abs(probe(out).duration - 50.0) < 0.2


def tg_wait(check: Callable[[], bool], timeout: float = 20) -> None:
    wait_for(check, timeout=timeout, what="the keyboard to change")
