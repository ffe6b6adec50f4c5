"""What the bot says at the door and in its menus: voice notes invited only where it takes
them, a voice note narrated in the configured language, languages named as people read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.bot_in_process import deliver, running_bot
from tests.fakes.telegram_server import FakeTelegram
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
    """/settings names the language (not its code), and a tap on Русский turns the menu
    Russian."""
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
    assert "Язык: Русский" in russian.text and "• Русский" in russian.buttons
