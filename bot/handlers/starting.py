"""Starting a job from a message: the person's choices, their photo, the daily budget."""

from __future__ import annotations

import logging
import uuid

from telegram import Message

from bot.guards import Person
from bot.services import Services, blocking
from videobot.budget import day_spent_up
from videobot.chat_texts import status_message
from videobot.db.bot_records import Refused
from videobot.db.models import JobStatus
from videobot.i18n import tr
from videobot.media.paths import MediaLayout
from videobot.naming import short_id
from videobot.references import PhotoRefused, store_reference

log = logging.getLogger(__name__)


async def start_job(
    sv: Services,
    person: Person,
    message: Message,
    *,
    prompt: str,
    kind: str,
    language: str,
    photo: str | None = None,
) -> None:
    """A new job for the person, drawn after `photo` (a captioned photo's media-store key) or
    the photo they sent before; refused when they have one going or their day's budget is
    spent."""
    limit = await blocking(day_spent_up, sv.settings, sv.store, person.key)
    if limit is not None:
        await _discard(sv, photo)
        await message.reply_text(tr(person.lang, "budget_day_spent", limit=f"{limit:.2f}"))
        return
    row = await blocking(sv.records.person, person.key)
    fmt = (row.format if row and row.format else None) or sv.settings.video_format.value
    started = await blocking(
        sv.records.start_job,
        user_id=person.key,
        chat_id=person.chat_id,
        prompt=prompt,
        prompt_kind=kind,
        language=language,
        fmt=fmt,
        voice=row.voice if row else None,
        captions=row.captions if row else None,
        motion=row.motion if row else None,
        max_active=sv.settings.active_jobs_per_user,
    )
    if isinstance(started, Refused):
        await _discard(sv, photo)
        await message.reply_text(tr(person.lang, "active_job", job=short_id(started.active.id)))
        return
    job = started
    failed_text, status_shown = "start_failed", False
    try:
        await _attach_photo(sv, person, job.id, photo)
        if kind == "voice":
            failed_text = "voice_failed"
            await _store_voice(sv, message, job.id)
            failed_text = "start_failed"
        await message.reply_text(tr(person.lang, "accepted", job=short_id(job.id)))
        position = await blocking(sv.store.queue_position, job.id)
        shown = status_message(person.lang, job, [], position)
        sent = await message.reply_text(shown)
        await blocking(
            sv.records.save_status_message, job.id, person.chat_id, sent.message_id, shown
        )
        status_shown = True
        await sv.trigger(job.id)
    except Exception as exc:
        log.warning("Could not start job %s: %s", short_id(job.id), type(exc).__name__)
        await blocking(
            sv.store.update_job,
            job.id,
            status=JobStatus.FAILED,
            error=f"could not start: {type(exc).__name__}",
        )
        if status_shown:  # it says the job waits for a slot; no run will ever edit it
            await _show_failed(sv, job.id)
        await message.reply_text(tr(person.lang, failed_text))


async def _show_failed(sv: Services, job_id: uuid.UUID) -> None:
    try:
        await blocking(sv.board.refresh, job_id)
    except Exception as exc:  # Telegram itself may be why the job could not start
        log.warning("Status of job %s not shown: %s", short_id(job_id), type(exc).__name__)


async def _attach_photo(sv: Services, person: Person, job_id: uuid.UUID,
                        photo: str | None) -> None:
    """The job's reference: the photo that came with the prompt, else the one the person sent
    before (taken off them, so no later job uses it too), stored under the job's own key."""
    waiting = await blocking(sv.records.take_reference, person.key)
    if photo is not None:
        await _discard(sv, waiting)
    chosen = photo or waiting
    if chosen is None or not await blocking(sv.files.exists, chosen):
        return
    with sv.scratch() as scratch:
        local = await blocking(sv.files.get, chosen, scratch.temp("reference"))
        try:
            target = await blocking(store_reference, sv.files, local, job_id)
        except PhotoRefused as exc:  # checked when it arrived; changed in the store since
            log.warning("Job %s starts without its photo: %s", short_id(job_id), exc)
            return
    await _discard(sv, chosen)
    await blocking(sv.store.update_job, job_id, reference_path=target)


async def _store_voice(sv: Services, message: Message, job_id: uuid.UUID) -> None:
    """The voice note, stored where the job's flow (on any worker) reads it."""
    assert message.voice is not None
    target = MediaLayout().voice_prompt(job_id).as_posix()
    with sv.scratch() as scratch:
        local = scratch.temp("prompt.ogg")
        await (await message.voice.get_file()).download_to_drive(local)
        await blocking(sv.files.put, target, local)
    await blocking(sv.store.update_job, job_id, voice_path=target)


async def _discard(sv: Services, photo: str | None) -> None:
    if photo is not None:
        await blocking(sv.files.delete, photo)
