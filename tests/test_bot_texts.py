"""What the bot says at the door, in its menus and to an answer: voice notes invited only where
it takes them, a voice note narrated in the configured language, languages named as people
read them, an answer's length told against its own limit, an expired job's question let go."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.bot_in_process import deliver, running_bot
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_updates import Sent
from videobot.chat_texts import edit_keyboard, gate_keyboard, inline_markup
from videobot.db.models import VideoJob
from videobot.db.store import JobStore

ANNA, RUSSIAN = 9101, 9102
KEYED_STT = {"stt_provider": "openai", "openai_api_key": "sk-test-" + "c" * 24}


@pytest.mark.parametrize(("stt", "says_voice"), [({}, False), (KEYED_STT, True)])
async def test_the_bot_invites_voice_notes_only_when_it_takes_them(
    tmp_path: Path, stt: dict[str, Any], says_voice: bool
) -> None:
    """/start, /help, /new and the reply to a sticker name voice notes, with their length
    limit, only where speech-to-text is set up; in both languages."""
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path, voice_max_seconds=90, **stt) as app:
            for user, language in ((ANNA, "en"), (RUSSIAN, "ru")):
                for command in ("/start", "/help", "/new"):
                    tg.write(user, command, language=language)
                tg.send_sticker(user, language=language)
            await deliver(app, tg)
        english = [m.text for m in tg.chat_messages(ANNA)]
        russian = [m.text for m in tg.chat_messages(RUSSIAN)]
    assert len(english) == len(russian) == 4
    assert all(("voice note" in text) is says_voice for text in english), english
    assert all(("голосов" in text) is says_voice for text in russian), russian
    if says_voice:
        assert "as text or a voice note (up to 90 s)." in english[0]
        assert "текстом или голосовым (до 90 с)." in russian[0]
    else:
        assert "1. Send me what the video is about. Add a photo" in english[0]
        assert english[3] == "I can use text or a photo. Send me a sentence."
        assert russian[3] == "Я понимаю текст или фото. Пришлите фразу."


@pytest.mark.parametrize(("language", "narrated_in"), [("auto", "auto"), ("ru", "ru")])
async def test_a_voice_note_is_narrated_in_the_configured_language(
    registered_runs: list[Any], tmp_path: Path, language: str, narrated_in: str
) -> None:
    """LANGUAGE=ru narrates a voice note in Russian; with auto the job waits for the
    transcript's language ("auto" until the flow has heard it)."""
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path, language=language, **KEYED_STT) as app:
            tg.send_voice(ANNA, b"OggS" + bytes(200), duration=4)
            await deliver(app, tg)
            store: JobStore = app.bot_data["services"].store
            with store.db.session() as s:
                job = s.scalars(select(VideoJob)).one()
            registered_runs.append(job.flow_run_id)
    assert (job.prompt_kind, job.language) == ("voice", narrated_in)
    assert job.voice_path and job.flow_run_id is not None


async def test_settings_name_languages_as_people_read_them(tmp_path: Path) -> None:
    """/settings names the language (not its code); a tap on Русский turns the menu Russian,
    and one on "as in Telegram" gives the choice back to the person's Telegram app."""
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path) as app:
            tg.write(ANNA, "/settings")
            await deliver(app, tg)
            menu = tg.chat_messages(ANNA)[-1]
            assert "Language: from Telegram" in menu.text
            assert {"English", "Русский"} <= set(menu.buttons)
            tg.press(ANNA, menu, menu.button("Русский"))
            await deliver(app, tg)
            russian = tg.chat_messages(ANNA)[-1]
            assert "Язык: русский" in russian.text and "• Русский" in russian.buttons
            tg.press(ANNA, russian, russian.button("как в Telegram"))
            await deliver(app, tg)
        again = tg.chat_messages(ANNA)[-1]
    assert "Language: from Telegram" in again.text and "• from Telegram" in again.buttons


def _at_script_gate(services: Any, tg: FakeTelegram, user: int) -> tuple[VideoJob, Sent, Sent]:
    """A job of `user` waiting at its first script gate, with the gate's message and its Edit
    menu as the chat shows them."""
    store: JobStore = services.store
    job = store.create_job(user_id=f"tg:{user}", prompt="Tides", language="en", fmt="16:9",
                           chat_id=str(user))
    store.update_job(job.id, flow_run_id=uuid.uuid4())
    store.open_gate(job.id, "script", 1)
    for keyboard in (gate_keyboard("en", job.id, "script", 1),
                     edit_keyboard("en", job.id, "script", 1)):
        services.board.api.call("sendMessage", chat_id=user, text="Script",
                                reply_markup=inline_markup(keyboard))
    gate, edit_menu = tg.chat_messages(user)[-2:]
    return job, gate, edit_menu


async def test_an_answer_too_long_is_told_its_own_limit_and_may_be_sent_again(
    tmp_path: Path,
) -> None:
    """Feedback holds 1,000 characters, a new part 2,000: each is told its own limit and the
    question stays open for a shorter answer."""
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path) as app:
            services = app.bot_data["services"]
            job, gate, edit_menu = _at_script_gate(services, tg, ANNA)
            tg.press(ANNA, gate, gate.button("Regenerate"))
            tg.write(ANNA, "f" * 1001)
            await deliver(app, tg)
            feedback_told = tg.chat_messages(ANNA)[-1].text
            still_asked = services.records.person(f"tg:{ANNA}").awaiting
            tg.press(ANNA, edit_menu, edit_menu.button("Intro"))
            tg.write(ANNA, "w" * 2001)
            await deliver(app, tg)
            edit_told = tg.chat_messages(ANNA)[-1].text
            decided = services.store.decision(job.id, "script", 1)
    assert feedback_told == "That is 1001 characters; please keep it to 1000 at most."
    assert still_asked is not None and still_asked["kind"] == "feedback"
    assert edit_told == "That is 2001 characters; please keep it to 2000 at most."
    assert decided is None


async def test_a_question_left_open_by_an_expired_job_lets_a_new_idea_start_a_video(
    registered_runs: list[Any], tmp_path: Path
) -> None:
    """Asked for feedback, the person lets the gate expire; the idea they send after the
    expiry message starts a new video rather than answering the closed question."""
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path) as app:
            services = app.bot_data["services"]
            job, gate, _ = _at_script_gate(services, tg, ANNA)
            tg.press(ANNA, gate, gate.button("Regenerate"))
            await deliver(app, tg)
            services.store.update_job(job.id, status="expired")
            tg.write(ANNA, "How kites fly")
            await deliver(app, tg)
            with services.store.db.session() as s:
                jobs = s.scalars(select(VideoJob).order_by(VideoJob.created_at)).all()
            registered_runs.extend(j.flow_run_id for j in jobs[1:])
            texts = [m.text for m in tg.chat_messages(ANNA)]
    assert [j.prompt for j in jobs] == ["Tides", "How kites fly"]
    assert any(t.startswith("Got it! Video ") for t in texts)
    assert "That question is no longer open; the video has moved on." not in texts


@pytest.mark.parametrize(("animator", "settings_line"), [
    ({}, "/settings — format, language, narrator voice and captions\n"),
    ({"video_provider": "runway", "runwayml_api_secret": "key_test"},
     "/settings — format, language, narrator voice, captions and clip model\n"),
])
async def test_help_names_the_clip_model_only_where_there_is_a_choice(
    tmp_path: Path, animator: dict[str, Any], settings_line: str
) -> None:
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path, **animator) as app:
            tg.write(ANNA, "/help")
            await deliver(app, tg)
        assert settings_line in tg.chat_messages(ANNA)[-1].text
