"""A photo: the reference of the person's next job. With a caption, that job starts now and
the caption is its prompt; without one, it waits for their next prompt."""

from __future__ import annotations

import logging

from telegram import Document, Message, PhotoSize, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.guards import admit
from bot.handlers.prompts import prompt_of
from bot.handlers.starting import start_job
from bot.services import blocking, services
from videobot.i18n import tr
from videobot.references import (
    PHOTO_MAX_BYTES,
    PHOTO_MAX_MB,
    PHOTO_MIME_TYPES,
    PhotoRefused,
    check_photo,
    pending_photo_key,
)
from videobot.requests import resolve_language

log = logging.getLogger(__name__)


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo (or an image sent as a file): checked, kept, and the next job drawn after it."""
    message = update.effective_message
    if message is None or not (person := await admit(update, context)):
        return
    sv = services(context)
    source = _largest(message)
    if source is None:
        await message.reply_text(tr(person.lang, "photo_unreadable"))
        return
    if source.file_size and source.file_size > PHOTO_MAX_BYTES:
        await message.reply_text(tr(person.lang, "photo_too_big", limit=PHOTO_MAX_MB))
        return
    target = pending_photo_key(person.key)
    with sv.scratch() as scratch:
        local = scratch.temp("photo")
        try:
            await (await source.get_file()).download_to_drive(local)
        except TelegramError as exc:
            log.warning("A photo could not be downloaded: %s", exc)
            await message.reply_text(tr(person.lang, "photo_failed"))
            return
        try:
            await blocking(check_photo, local)
        except PhotoRefused as refused:
            await message.reply_text(tr(person.lang, refused.code, limit=PHOTO_MAX_MB))
            return
        await blocking(sv.files.put, target, local)
    if message.caption:
        prompt = await prompt_of(person, message, message.caption)
        if prompt is None:
            await blocking(sv.files.delete, target)
            return
        language = resolve_language(sv.settings.language, prompt)
        await start_job(sv, person, message, prompt=prompt, kind="text", language=language,
                        photo=target)
        return
    replaced = await blocking(sv.records.keep_reference, person.key, target)
    if replaced:
        await blocking(sv.files.delete, replaced)
    await message.reply_text(
        tr(person.lang, "photo_kept", hours=sv.settings.file_cleanup_hours)
    )


def _largest(message: Message) -> PhotoSize | Document | None:
    """The photo's largest size, or an image document of a type the providers take."""
    if message.photo:
        return max(message.photo, key=lambda size: size.width * size.height)
    document = message.document
    if document is not None and document.mime_type in PHOTO_MIME_TYPES:
        return document
    return None
