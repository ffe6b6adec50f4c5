"""Messages: a text or voice prompt starts a job; a reply answers the bot's open question;
anything else but a photo (bot.handlers.photos) gets a short explanation and starts nothing."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from pydantic import ValidationError
from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.deciding import decide, gate_open
from bot.guards import Person, admit, identify
from bot.handlers.starting import start_job
from bot.services import Services, blocking, services
from videobot.db.models import JobStatus
from videobot.decisions import MAX_EDIT_CHARS, MAX_FEEDBACK_CHARS, Decision
from videobot.i18n import tr
from videobot.motion import motion_models
from videobot.requests import (
    MAX_PROMPT_CHARS,
    InvalidRequest,
    clean_prompt,
    resolve_language,
    voice_language,
)
from videobot.settings import Settings

log = logging.getLogger(__name__)


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A prompt, or the answer to the question the bot asked at a gate."""
    message = update.effective_message
    if message is None or not (person := await admit(update, context)):
        return
    sv = services(context)
    awaiting = (await blocking(sv.records.person, person.key)).awaiting  # type: ignore[union-attr]
    if awaiting and await _answer(sv, person, message, awaiting):
        return
    prompt = await prompt_of(person, message, message.text or "")
    if prompt is not None:
        language = resolve_language(sv.settings.language, prompt)
        await start_job(sv, person, message, prompt=prompt, kind="text", language=language)


async def prompt_of(person: Person, message: Message, raw: str) -> str | None:
    """The prompt in `raw`, or None after telling the person why it cannot be one."""
    if len(raw) > MAX_PROMPT_CHARS:
        await message.reply_text(
            tr(person.lang, "prompt_too_long", length=len(raw), limit=MAX_PROMPT_CHARS)
        )
        return None
    try:
        return clean_prompt(raw)
    except InvalidRequest:
        await message.reply_text(tr(person.lang, "prompt_empty"))
        return None


async def voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A voice note (at most VOICE_MAX_MB and VOICE_MAX_SECONDS): stored, then transcribed
    by the flow; refused before any job is made when the bot has no speech-to-text."""
    message = update.effective_message
    if message is None or message.voice is None or not (person := await admit(update, context)):
        return
    sv = services(context)
    if not speech_to_text_ready(sv.settings):
        log.warning(
            "A voice note was refused: no speech-to-text is configured (STT_PROVIDER=%s%s)",
            sv.settings.stt_provider,
            "" if sv.settings.stt_provider == "offline" else " without OPENAI_API_KEY",
        )
        await message.reply_text(tr(person.lang, "voice_unavailable"))
        return
    note = message.voice
    duration = note.duration
    seconds = duration.total_seconds() if isinstance(duration, timedelta) else duration
    if seconds and seconds > sv.settings.voice_max_seconds:
        await message.reply_text(
            tr(person.lang, "voice_too_long",
               limit=length_text(person.lang, sv.settings.voice_max_seconds))
        )
        return
    if note.file_size and note.file_size > sv.settings.voice_max_mb * 1024 * 1024:
        await message.reply_text(
            tr(person.lang, "voice_too_big", limit=f"{sv.settings.voice_max_mb:g}")
        )
        return
    language = voice_language(sv.settings.language)
    await start_job(sv, person, message, prompt="", kind="voice", language=language)


def speech_to_text_ready(settings: Settings) -> bool:
    """Whether voice notes can be transcribed: a real transcriber, with its key."""
    if settings.stt_provider == "offline":
        return False
    return settings.stt_provider != "openai" or settings.openai_api_key is not None


def invitation(lang: str, key: str, settings: Settings) -> str:
    """The text `key` (start, help, new, unsupported), naming voice notes only where the bot
    can transcribe them, and the clip model among the settings only where there is a choice."""
    choices = "settings_list_clips" if len(motion_models(settings)) > 1 else "settings_list"
    settings_list = tr(lang, choices)
    if not speech_to_text_ready(settings):
        return tr(lang, key, by_voice="", or_voice="", kinds=tr(lang, "kinds_text"),
                  settings_list=settings_list)
    length = length_text(lang, settings.voice_max_seconds)
    return tr(lang, key, by_voice=tr(lang, "by_voice", length=length),
              or_voice=tr(lang, "or_voice"), kinds=tr(lang, "kinds_voice"),
              settings_list=settings_list)


def length_text(lang: str, seconds: int) -> str:
    """A length limit in whole minutes where it is some, else in seconds."""
    if seconds % 60:
        return tr(lang, "wait_seconds", n=seconds)
    return tr(lang, "wait_minutes", n=seconds // 60)


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, documents and the like cannot be prompts."""
    if (person := await admit(update, context)) and update.effective_message:
        await update.effective_message.reply_text(
            invitation(person.lang, "unsupported", services(context).settings)
        )


async def edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message changes nothing; say so (edits count as requests), and stop here."""
    chat, message = update.effective_chat, update.effective_message
    private = chat is not None and chat.type == "private"
    if private and message and (person := await admit(update, context)):
        await message.reply_text(tr(person.lang, "edited_ignored"))
    raise ApplicationHandlerStop


async def group_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups the bot only explains that it works in private chats."""
    person = await identify(update, context)
    if person and update.effective_message:
        await update.effective_message.reply_text(tr(person.lang, "private_only"))
    raise ApplicationHandlerStop


async def _answer(
    sv: Services, person: Person, message: Message, awaiting: dict[str, object]
) -> bool:
    """The reply to "what should change?" or "send the new text": a decision at the gate.
    False when the question ended with its job (expired, cancelled): the text is a new
    prompt."""
    await blocking(sv.records.set_awaiting, person.key, None)
    job, _ = await blocking(sv.records.job_by_key, person.key, str(awaiting.get("job", "")))
    if job is not None and job.status in (JobStatus.EXPIRED, JobStatus.CANCELLED):
        return False
    stage, attempt = str(awaiting.get("stage")), int(str(awaiting.get("attempt", 0)))
    if job is None or not await blocking(gate_open, sv, job, stage, attempt):
        await message.reply_text(tr(person.lang, "answer_stale"))
        return True
    reply = (message.text or "").strip()
    try:
        if awaiting.get("kind") == "feedback":
            decision = Decision.make("regenerate", person.key, feedback=reply)
        elif awaiting.get("kind") == "part":
            decision = Decision.make("edit", person.key, part=awaiting.get("part"), text=reply)
        else:
            decision = Decision.make("edit", person.key, scene=awaiting.get("scene"), text=reply)
    except ValidationError:
        limit = MAX_FEEDBACK_CHARS if awaiting.get("kind") == "feedback" else MAX_EDIT_CHARS
        await message.reply_text(
            tr(person.lang, "answer_too_long", length=len(reply), limit=limit)
        )
        await blocking(sv.records.set_awaiting, person.key, awaiting)
        return True
    outcome = await decide(sv, person, job, stage, attempt, decision)
    if not outcome.done and outcome.text != tr(person.lang, "already_decided"):
        await blocking(sv.records.set_awaiting, person.key, awaiting)  # let them try again
    gate_message = awaiting.get("message")
    # The answered gate loses its buttons before anything else is said: the resumed run may
    # show the next round within a second or two, and its buttons must be the only ones.
    if outcome.done and isinstance(gate_message, int):
        with contextlib.suppress(TelegramError):  # the gate message may be gone
            await message.get_bot().edit_message_reply_markup(
                chat_id=person.chat_id, message_id=gate_message, reply_markup=None
            )
    await message.reply_text(outcome.text)
    return True
