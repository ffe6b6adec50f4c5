"""Failures in the chat: the person reads their own language without configuration details;
the operator gets the full reason (log, admins, /stats); a voice note with no speech-to-text is
refused at the door."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, get_args

import httpx2
import openai
import pytest
from sqlalchemy import func, select
from telegram.ext import Application

from bot.handlers.prompts import speech_to_text_ready
from tests.bot_in_process import deliver, running_bot
from tests.fakes.telegram_server import FakeTelegram
from videobot.chat_texts import media_message
from videobot.db.bot_records import BotRecords, Refused
from videobot.db.engine import Database
from videobot.db.models import VideoJob, VideoSegment
from videobot.db.store import JobStore
from videobot.failure_notes import (
    FaultKind,
    fault_of,
    job_failure_text,
    scene_failure_text,
)
from videobot.i18n import tr
from videobot.naming import short_id
from videobot.providers.faults import Fault
from videobot.providers.offline.transcriber import NO_OFFLINE_STT
from videobot.providers.openai_api import classify_openai_error
from videobot.providers.runway_api import classify_task_failure
from videobot.settings import Settings
from videobot.telegram import BotApi, TelegramChannel

ADMIN, RUSSIAN, ANNA = 9001, 9002, 9003
SETTING_NAME = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def _openai_reason(status: int, message: str, code: str | None = None) -> tuple[str, Fault]:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/images/generations")
    body = {"message": message, "code": code}
    response = httpx2.Response(status, request=request, json={"error": body})
    found = classify_openai_error(
        openai.APIStatusError(f"Error code: {status}", response=response, body=body)
    )
    return found.reason, found.fault


def _provider_reasons() -> list[tuple[str, Fault]]:
    """Reasons as the providers themselves word them, with the fault they classified."""
    verify = "Your organization must be verified to use the model `gpt-image-2`."
    runway_safety = classify_task_failure("SAFETY.INPUT.TEXT", "flagged")
    runway_internal = classify_task_failure("INTERNAL.BAD_OUTPUT.CODE01", "oops")
    return [
        _openai_reason(403, verify),
        _openai_reason(401, "Incorrect API key provided: sk-abc"),
        _openai_reason(400, "Your request was rejected by our safety system", "moderation_blocked"),
        _openai_reason(500, "The server had an error"),
        _openai_reason(429, "Rate limit reached for requests"),
        _openai_reason(429, "You exceeded your current quota", "insufficient_quota"),
        (runway_safety.reason, runway_safety.fault),
        (runway_internal.reason, runway_internal.fault),
    ]


def test_fault_kind_read_from_a_reason_agrees_with_the_provider() -> None:
    """Safety and transient reasons are read as such; permanent ones never as retryable."""
    for reason, fault in _provider_reasons():
        kind = fault_of(reason)
        if fault is Fault.SAFETY:
            assert kind == "safety", reason
        elif fault is Fault.TRANSIENT:
            assert kind == "transient", reason
        else:
            assert kind in ("setup", "permanent"), reason
    assert fault_of(_provider_reasons()[0][0]) == "setup", "a 403 is the operator's to fix"
    assert fault_of(NO_OFFLINE_STT) == "setup"
    assert fault_of("ValueError: a contact sheet needs at least one image") == "internal"
    assert fault_of("the voice note cannot be read as audio: send it again") == "voice"


@pytest.mark.parametrize("reason", [reason for reason, _ in _provider_reasons()] + [
    NO_OFFLINE_STT, "ValueError: a contact sheet needs at least one image", None,
])
@pytest.mark.parametrize("stage", ["intake", "images", "clips-gate", "narration", "unknown"])
def test_russian_failure_text_has_no_english_or_settings(reason: str | None, stage: str) -> None:
    """Whatever the reason and stage, the Russian sentence is all Russian: no setting, class or
    provider text, and it says the operator has the details."""
    text = job_failure_text("ru", "3f2a9c1e", stage, reason)
    assert not LATIN_WORD.search(text.replace("3f2a9c1e", "")), text
    assert "оператору" in text and "3f2a9c1e" in text


@pytest.mark.parametrize("kind", get_args(FaultKind))
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_fault_kind_has_its_texts(kind: str, lang: str) -> None:
    """Each kind of fault has job advice and a scene line in both languages."""
    assert tr(lang, f"fail_advice_{kind}").strip()
    scene = "safety_images" if kind == "safety" else kind
    key = f"scene_{scene}" if kind in ("safety", "transient", "daily_cap", "setup") else (
        "scene_permanent"
    )
    assert tr(lang, key, scene=4).strip()


def test_failure_text_names_the_step_and_whether_to_retry() -> None:
    """The step comes from the job's stage; the advice from the kind of fault."""
    busy = job_failure_text("en", "ab12", "clips", "Runway is busy (HTTP 429)")
    assert "🎥 Clips" in busy and "again in a few minutes" in busy
    setup = job_failure_text("ru", "ab12", "images", _provider_reasons()[0][0])
    assert "🖼 Картинки" in setup and "бесполезно" in setup
    assert "reword the request" in job_failure_text(
        "en", "ab12", "script", "OpenAI's content filter stopped the answer: rephrase the request"
    )
    upload = job_failure_text("ru", "ab12", "delivery", "could not connect to the Bot API")
    assert "📤 Отправляю видео" in upload, "a failed upload is not told as the assembly"


def test_scene_failures_at_the_gate_are_told_by_kind() -> None:
    """A refused scene asks for a new prompt, a passing fault for a redo; never the reason."""
    safety = "Runway's content filter refused the prompt or picture (SAFETY.INPUT.TEXT)"
    scenes = [
        VideoSegment(index=0, image_status="ready", video_status="pending"),
        VideoSegment(index=1, image_status="failed", error=safety),
        VideoSegment(index=2, image_status="failed", error="OpenAI had a temporary problem (502)"),
    ]
    text = media_message("ru", "images", scenes, 1, None)
    assert "Сцена 2: система безопасности сервиса генерации отклонила" in text
    assert "Сцену 3 не удалось сделать из-за временного сбоя" in text
    assert "Сцена 1" not in text and "Сцену 1 " not in text, "a ready scene is not listed"
    assert not LATIN_WORD.search(text), text
    english = scene_failure_text("en", "images", 2, safety)
    assert english == (
        "Scene 2: the provider's safety system refused this scene: edit its prompt."
    )
    assert "redo it" in scene_failure_text("en", "clips", 2, safety)


def _channel_setup(tmp_path: Path, tg: FakeTelegram) -> tuple[JobStore, BotRecords, Any]:
    db = Database(f"sqlite:///{tmp_path / 'app.db'}")
    db.migrate()
    store, records = JobStore(db), BotRecords(db)
    records.note_person(f"tg:{RUSSIAN}", "ru")
    records.note_person(f"tg:{ADMIN}", "en")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, telegram_edit_seconds=0, admin_user_ids=[ADMIN]
    )
    channel = TelegramChannel(settings, store, records, BotApi(tg.url, tg.token))
    return store, records, channel


def test_a_failed_job_is_told_in_russian_and_in_full_to_admins(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """fail(): the Russian person reads Russian only; each admin gets job, stage and the full
    reason; the log has one WARNING with the reason and no traceback."""
    reason = NO_OFFLINE_STT
    with FakeTelegram() as tg:
        store, _, channel = _channel_setup(tmp_path, tg)
        job = store.create_job(
            user_id=f"tg:{RUSSIAN}", prompt="Приливы", language="ru", fmt="16:9",
            chat_id=str(RUSSIAN),
        )
        store.update_job(job.id, status="failed", stage="intake", error=reason)
        with caplog.at_level(logging.INFO, logger="bot"):
            channel.fail(store.job(job.id), reason)
        told = tg.chat_messages(RUSSIAN)[0].text
        admins = [m.text for m in tg.chat_messages(ADMIN)]
    key = short_id(job.id)
    assert told.startswith("Извините, видео") and key in told and "👂 Разбираю запрос" in told
    assert not LATIN_WORD.search(told.replace(key, "")), told
    assert not SETTING_NAME.search(told)
    assert len(admins) == 1
    assert key in admins[0] and "intake" in admins[0] and reason in admins[0]
    warnings = [r for r in caplog.records if r.name == "videobot.telegram.channel"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert reason in warnings[0].getMessage() and warnings[0].exc_info is None


def test_failed_scenes_at_the_gate_reach_admins_in_full(tmp_path: Path) -> None:
    """show_media(): the gate message tells the scene's fault in Russian; admins get the
    provider's own reason."""
    verify = _provider_reasons()[0][0]
    with FakeTelegram() as tg:
        store, _, channel = _channel_setup(tmp_path, tg)
        job = store.create_job(
            user_id=f"tg:{RUSSIAN}", prompt="Приливы", language="ru", fmt="16:9",
            chat_id=str(RUSSIAN),
        )
        scenes = [VideoSegment(index=n, image_status="failed", error=verify) for n in range(10)]
        channel.show_media(store.job(job.id), "images", scenes, None, 1)
        gate = next(m for m in tg.chat_messages(RUSSIAN) if m.reply_markup)
        admins = [m.text for m in tg.chat_messages(ADMIN)]
    assert "Сцена 1: бот пока не настроен" in gate.text
    assert "organization must be verified" not in gate.text
    assert len(admins) == 1 and admins[0].count("organization must be verified") == 10


# The bot itself, fed real updates in process ------------------------------------------------


def _jobs(app: Application) -> int:
    db = app.bot_data["services"].db
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(VideoJob)) or 0


class _Recorded(logging.Handler):
    """Every record that reaches the root logger while attached."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_voice_note_without_speech_to_text_is_refused_at_the_door(tmp_path: Path) -> None:
    """Offline STT, a Russian chat: a Russian refusal, no job row, no ERROR, one WARNING."""
    recorded = _Recorded()
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path, stt_provider="offline") as app:
            # Attached once the bot is up: opening its services sets up Prefect's logging,
            # which replaces the root logger's handlers.
            logging.getLogger().addHandler(recorded)
            try:
                tg.send_voice(RUSSIAN, b"OggS" + bytes(200), duration=4, language="ru")
                await deliver(app, tg)
            finally:
                logging.getLogger().removeHandler(recorded)
            jobs = _jobs(app)
        texts = [m.text for m in tg.chat_messages(RUSSIAN)]
    assert texts == ["Этот бот не принимает голосовые сообщения. Пришлите запрос текстом."]
    assert jobs == 0
    assert not [r for r in recorded.records if r.levelno >= logging.ERROR]
    refusals = [r for r in recorded.records if r.name.startswith("bot.")]
    assert [r.levelno for r in refusals] == [logging.WARNING]
    assert refusals[0].exc_info is None


def test_speech_to_text_needs_a_provider_and_its_key() -> None:
    """Offline, or OpenAI without a key: not ready; OpenAI with a key: ready."""
    base: dict[str, Any] = {"_env_file": None, "openai_api_key": None}
    assert not speech_to_text_ready(Settings(**base, stt_provider="offline"))
    assert not speech_to_text_ready(Settings(**base, stt_provider="openai"))
    keyed = {**base, "openai_api_key": "sk-test-" + "c" * 24}
    assert speech_to_text_ready(Settings(**keyed, stt_provider="openai"))


async def test_stats_lists_recent_failures_with_their_reasons(tmp_path: Path) -> None:
    """An admin's /stats shows the last failed jobs with stage and full reason."""
    reason = _provider_reasons()[0][0]
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path, admin_user_ids=[ADMIN]) as app:
            store: JobStore = app.bot_data["services"].store
            job = store.create_job(
                user_id="tg:5", prompt="Tides", language="en", fmt="16:9", chat_id="5"
            )
            store.update_job(job.id, status="failed", stage="images", error=reason)
            tg.write(ADMIN, "/stats")
            await deliver(app, tg)
        reply = tg.chat_messages(ADMIN)[-1].text
    assert "Recent failures:" in reply
    assert f"{short_id(job.id)} · images: {reason}" in reply


async def test_captions_are_turned_off_in_settings_and_reach_the_next_job(
    tmp_path: Path,
) -> None:
    """/settings offers captions on/off; "off" is saved for the person and a job they start
    carries it, while the menu shows the new choice."""
    user = 7001
    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path) as app:
            tg.write(user, "/settings")
            await deliver(app, tg)
            menu = tg.chat_messages(user)[-1]
            assert "Captions: on" in menu.text
            tg.press(user, menu, "set:captions:off")
            await deliver(app, tg)
            records: BotRecords = app.bot_data["services"].records
            row = records.person(f"tg:{user}")
            job = records.start_job(
                user_id=f"tg:{user}", chat_id=str(user), prompt="Tides", prompt_kind="text",
                language="en", fmt="16:9", voice=None, max_active=1,
                captions=row.captions if row else None,
            )
        assert row is not None and row.captions is False
        assert not isinstance(job, Refused) and job.captions is False
        assert "Captions: off" in tg.chat_messages(user)[-1].text


async def test_a_job_prefect_cannot_take_is_told_failed_in_its_status_message(
    tmp_path: Path,
) -> None:
    """The Prefect API is down when a job starts: the person is told the video could not
    start, and the status message sent a moment before (waiting for a slot) now says Failed,
    since no run will ever edit it."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.serving import free_port

    with FakeTelegram() as tg, temporary_settings(
        {PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}  # nothing listens there
    ):
        async with running_bot(tg, tmp_path) as app:
            tg.write(ANNA, "How tides work")
            await deliver(app, tg)
            store: JobStore = app.bot_data["services"].store
            with store.db.session() as s:
                job = s.scalars(select(VideoJob)).one()
        texts = [m.text for m in tg.chat_messages(ANNA)]
    assert job.status == "failed" and job.flow_run_id is None
    assert texts[0] == f"Got it! Video {short_id(job.id)} is on its way."
    assert texts[1].splitlines()[1] == "❌ Failed"
    assert texts[2] == "Sorry, I could not start the video. Please try again in a minute."


async def test_a_button_of_an_expired_job_says_the_video_expired(tmp_path: Path) -> None:
    """No one decided the images gate: a press on it after expiry says the time ran out, not
    that a decision was taken; the script gate before it was decided, and says so."""
    from videobot.chat_texts import gate_keyboard, inline_markup
    from videobot.decisions import Decision

    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path) as app:
            sv = app.bot_data["services"]
            job = sv.store.create_job(user_id=f"tg:{ANNA}", prompt="Tides", language="en",
                                      fmt="16:9", chat_id=str(ANNA))
            sv.store.open_gate(job.id, "script", 1)
            sv.store.record_decision(job.id, "script", 1, Decision.make("approve", "t"))
            sv.store.open_gate(job.id, "images", 1)
            sv.store.update_job(job.id, status="expired")
            for stage in ("script", "images"):
                keyboard = inline_markup(gate_keyboard("en", job.id, stage, 1))
                sv.board.api.call("sendMessage", chat_id=ANNA, text=stage, reply_markup=keyboard)
            script, images = tg.chat_messages(ANNA)[-2:]
            pressed = [tg.press(ANNA, script, script.button("Approve")),
                       tg.press(ANNA, images, images.button("Approve all"))]
            await deliver(app, tg)
            answers = [tg.wait_for_answer(callback)["text"] for callback in pressed]
    assert answers == ["Already decided.", "⌛ Expired: no decision arrived in time"]


async def test_a_click_on_a_gate_decided_a_moment_before_says_already_decided(
    tmp_path: Path,
) -> None:
    """The second of two quick clicks finds the gate claimed by the first (its job still
    waiting): "Already decided", not a word about the run having ended."""
    import uuid

    from bot.deciding import claim
    from bot.guards import Person
    from videobot.decisions import Decision

    with FakeTelegram() as tg:
        async with running_bot(tg, tmp_path) as app:
            sv = app.bot_data["services"]
            job = sv.store.create_job(user_id=f"tg:{ANNA}", prompt="Tides", language="en",
                                      fmt="16:9", chat_id=str(ANNA))
            sv.store.update_job(job.id, flow_run_id=uuid.uuid4())
            sv.store.open_gate(job.id, "script", 1)
            job = sv.store.job(job.id)  # as the second click read it: waiting, undecided
            approve = Decision.make("approve", f"tg:{ANNA}")
            assert sv.records.claim_decision(job.id, "script", 1, approve) is not None
            person = Person(f"tg:{ANNA}", ANNA, str(ANNA), "en")
            second = await claim(sv, person, job, "script", 1, approve)
    assert (second.done, second.text) == (False, "Already decided.")
