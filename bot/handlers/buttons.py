"""Gate buttons: decide only for the job's owner, at the very gate the job waits at."""

from __future__ import annotations

import logging
import time

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.deciding import claim, gate_open, pass_on
from bot.guards import Person, identify
from bot.services import Services, blocking, services
from videobot.callbacks import BadCallback, GateButton, parse
from videobot.chat_texts import (
    Keyboard,
    clip,
    edit_keyboard,
    gate_keyboard,
    redo_keyboard,
    style_text,
)
from videobot.db.models import JobStatus, VideoJob
from videobot.decisions import Decision
from videobot.i18n import tr
from videobot.naming import short_id

log = logging.getLogger(__name__)


def markup(keyboard: Keyboard) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup.de_json(
        {
            "inline_keyboard": [
                [{"text": t, "callback_data": d} for t, d in row] for row in keyboard
            ]
        },
        None,
    )


async def gate_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on a gate button: checked, then a menu, a question, or a decision."""
    started = time.perf_counter()
    query = update.callback_query
    person = await identify(update, context)
    if query is None or person is None:
        return
    sv = services(context)
    try:
        button = parse(query.data)
    except BadCallback:
        await query.answer(tr(person.lang, "bad_button"), show_alert=True)
        return
    job, exists = await blocking(sv.records.job_by_key, person.key, button.job)
    if job is None:
        await query.answer(
            tr(person.lang, "not_your_job" if exists else "bad_button"), show_alert=True
        )
        return
    if not await blocking(gate_open, sv, job, button.stage, button.attempt):
        await query.answer(tr(person.lang, await blocking(_closed_text, sv, job, button)))
        if _carries(query, query.data):  # the message's own keyboard is outdated
            await _drop_keyboard(query)
        return
    await _act(sv, person, query, job, button, started)


def _closed_text(sv: Services, job: VideoJob, button: GateButton) -> str:
    """Why a closed gate takes no decision: one was taken, or the job ended without one
    (it expired, or was cancelled)."""
    ended = job.status in (JobStatus.EXPIRED, JobStatus.CANCELLED, JobStatus.FAILED)
    if ended and sv.store.decision(job.id, button.stage, button.attempt) is None:
        return f"stage_{job.status}"
    return "already_decided"


async def _act(
    sv: Services,
    person: Person,
    query: CallbackQuery,
    job: VideoJob,
    button: GateButton,
    started: float,
) -> None:
    lang, stage, attempt = person.lang, button.stage, button.attempt
    if button.action in ("approve", "cancel", "confirm"):
        decision = (
            Decision.make("redo", person.key, scenes=button.scenes)
            if button.action == "confirm"
            else Decision.make(button.action, person.key)
        )
        # Answered as soon as the decision is claimed (Telegram drops late answers); the run
        # is resumed after, and a resume that fails is told in a message of its own.
        claimed = await claim(sv, person, job, stage, attempt, decision)
        await query.answer(claimed.text, show_alert=not claimed.done)
        if not claimed.done:
            return
        outcome = await pass_on(sv, person, job, stage, attempt, decision)
        log.info(
            "Decision %s at %s-%s for job %s: done=%s in %.1f ms",
            decision.action,
            stage,
            attempt,
            short_id(job.id),
            outcome.done,
            (time.perf_counter() - started) * 1000,
        )
        if outcome.done:
            await _show_outcome(query, outcome.text)
        else:
            await query.get_bot().send_message(chat_id=person.chat_id, text=outcome.text)
        return
    if button.action in ("regenerate", "part", "scene"):
        await _ask(sv, person, query, job, button)
        return
    keyboard = {
        "edit": lambda: edit_keyboard(lang, job.id, stage, attempt),
        "redo": lambda: redo_keyboard(lang, job.id, stage, attempt, int(button.arg or "0", 16)),
        "back": lambda: gate_keyboard(lang, job.id, stage, attempt),
    }[button.action]()
    await query.answer()
    try:
        await query.edit_message_reply_markup(reply_markup=markup(keyboard))
    except BadRequest as exc:  # "message is not modified": the same selection twice
        log.debug("Keyboard unchanged: %s", exc)


async def _ask(
    sv: Services, person: Person, query: CallbackQuery, job: VideoJob, button: GateButton
) -> None:
    """Ask for the feedback or the new text; the next message from the person answers it."""
    awaiting: dict[str, object] = {
        "job": job.id.hex[:8],
        "stage": button.stage,
        "attempt": button.attempt,
        "message": query.message.message_id if query.message else None,
    }
    if button.action == "regenerate":
        awaiting["kind"], question = "feedback", tr(person.lang, "ask_feedback")
    elif button.action == "part" and button.part == "style":
        awaiting.update(kind="part", part="style")
        script = sv.store.script_of(await blocking(sv.store.job, job.id))
        current = style_text(person.lang, script.style) if script and script.style else "-"
        question = clip(tr(person.lang, "ask_style_text", current=current))
    elif button.action == "part":
        awaiting.update(kind="part", part=button.part)
        question = tr(person.lang, "ask_part_text", part=tr(person.lang, f"part_{button.part}"))
    else:
        segments = await blocking(sv.store.segments, job.id)
        current = next((s.image_prompt for s in segments if s.index == button.scene - 1), "")
        awaiting.update(kind="scene", scene=button.scene)
        question = clip(tr(person.lang, "ask_scene_text", scene=button.scene, current=current))
    await blocking(sv.records.set_awaiting, person.key, awaiting)
    await query.answer()
    if query.message is not None:
        await query.get_bot().send_message(chat_id=person.chat_id, text=question)


async def _show_outcome(query: CallbackQuery, outcome: str) -> None:
    """Replace the gate's keyboard with what was decided."""
    text = getattr(query.message, "text", None)
    try:
        if text:
            await query.edit_message_text(clip(f"{text}\n\n{outcome}"), reply_markup=None)
        else:
            await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as exc:
        log.debug("Could not show the outcome: %s", exc)


def _carries(query: CallbackQuery, data: str | None) -> bool:
    """Whether the pressed data is on the message's keyboard (and not forged)."""
    message = query.message
    keyboard = getattr(message, "reply_markup", None)
    rows = keyboard.inline_keyboard if keyboard else ()
    return any(button.callback_data == data for row in rows for button in row)


async def _drop_keyboard(query: CallbackQuery) -> None:
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as exc:
        log.debug("Keyboard already gone: %s", exc)
