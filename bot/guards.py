"""Who is writing, and whether to serve them: private chats only, the allow-list, rate limits."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import ContextTypes

from bot.services import blocking, services
from videobot.i18n import pick_language, tr


@dataclass(frozen=True)
class Person:
    key: str  # the job owner id: "tg:<telegram user id>"
    telegram_id: int
    chat_id: str
    lang: str


def person_key(telegram_id: int) -> str:
    return f"tg:{telegram_id}"


async def identify(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Person | None:
    """The person behind the update, with their language; None for updates without one."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    sv = services(context)
    row = await blocking(sv.records.note_person, person_key(user.id), user.language_code)
    lang = pick_language(row.language, row.telegram_language)
    return Person(person_key(user.id), user.id, str(chat.id), lang)


async def admit(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, counted: bool = True
) -> Person | None:
    """The person, if they may be served now; otherwise None after telling them why not.

    Messages that ask for work count against the person's rate limits, held in the database so
    that all bot replicas share them. Read-only commands (`counted=False`: /status, /help, ...)
    and button presses do not: a person who hit the limit can still see where their job is.
    """
    person = await identify(update, context)
    message = update.effective_message
    if person is None or message is None:
        return None
    sv = services(context)
    allowed = sv.settings.allowed_user_ids
    if allowed and person.telegram_id not in allowed:
        await message.reply_text(tr(person.lang, "not_allowed"))
        return None
    if not counted:
        return person
    wait = await blocking(
        sv.records.admit,
        person.key,
        sv.settings.rate_limit_per_minute,
        sv.settings.rate_limit_per_hour,
    )
    if wait > 0:
        await message.reply_text(tr(person.lang, "rate_limited", wait=wait_text(person.lang, wait)))
        return None
    return person


def wait_text(lang: str, seconds: float) -> str:
    """A wait in the units a person thinks in: seconds under a minute, else whole minutes."""
    if seconds < 60:
        return tr(lang, "wait_seconds", n=max(1, int(seconds + 0.999)))
    return tr(lang, "wait_minutes", n=int(seconds / 60 + 0.999))


def is_admin(context: ContextTypes.DEFAULT_TYPE, person: Person) -> bool:
    return person.telegram_id in services(context).settings.admin_user_ids
