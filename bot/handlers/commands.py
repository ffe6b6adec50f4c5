"""Commands: /start /help /new /status /cancel /history /stats, and unknown ones."""

from __future__ import annotations

import logging
from datetime import datetime, time

from telegram import Update
from telegram.ext import ContextTypes

from bot.deciding import decide, gate_open
from bot.guards import admit, is_admin
from bot.handlers.prompts import invitation
from bot.services import blocking, services
from videobot.chat_texts import clip, stage_label, status_message
from videobot.db.failure_records import recent_failures
from videobot.db.models import JobStatus, utcnow
from videobot.decisions import Decision
from videobot.i18n import tr
from videobot.naming import short_id

log = logging.getLogger(__name__)
RECENT_FAILURES = 5


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What the bot does and how, in the person's language."""
    if (person := await admit(update, context, counted=False)) and update.effective_message:
        settings = services(context).settings
        await update.effective_message.reply_text(invitation(person.lang, "start", settings))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The list of commands."""
    if (person := await admit(update, context, counted=False)) and update.effective_message:
        settings = services(context).settings
        await update.effective_message.reply_text(invitation(person.lang, "help", settings))


async def new(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Invite a prompt; forget any question the bot was waiting to have answered."""
    if (person := await admit(update, context)) and update.effective_message:
        await blocking(services(context).records.set_awaiting, person.key, None)
        settings = services(context).settings
        await update.effective_message.reply_text(invitation(person.lang, "new", settings))


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stage, progress, cost so far and queue position of the person's current (or last) job."""
    if not ((person := await admit(update, context, counted=False)) and update.effective_message):
        return
    sv = services(context)
    job = await blocking(sv.records.active_job, person.key)
    if job is None:
        recent = await blocking(sv.records.jobs_of, person.key, 1)
        job = recent[0] if recent else None
    if job is None:
        await update.effective_message.reply_text(tr(person.lang, "status_none"))
        return
    segments = await blocking(sv.store.segments, job.id)
    position = await blocking(sv.store.queue_position, job.id)
    await update.effective_message.reply_text(status_message(person.lang, job, segments, position))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop the person's current job: through its gate when it waits at one, else its run."""
    if not ((person := await admit(update, context, counted=False)) and update.effective_message):
        return
    sv = services(context)
    await blocking(sv.records.set_awaiting, person.key, None)
    job = await blocking(sv.records.active_job, person.key)
    if job is None:
        await update.effective_message.reply_text(tr(person.lang, "cancel_none"))
        return
    gate = await blocking(sv.store.waiting_gate, job.id)
    if gate is not None and await blocking(gate_open, sv, job, gate.stage, gate.attempt):
        outcome = await decide(
            sv, person, job, gate.stage, gate.attempt, Decision.make("cancel", person.key)
        )
        key = "cancelled" if outcome.done else "cancel_failed"
        await update.effective_message.reply_text(tr(person.lang, key, job=short_id(job.id)))
        return
    # Stopping a working run takes seconds (its process ends its calls first): the person is
    # told at once, and the same message then says how it ended.
    said = await update.effective_message.reply_text(
        tr(person.lang, "cancelling", job=short_id(job.id))
    )
    if job.flow_run_id is not None:
        try:
            await sv.cancel_run(job.flow_run_id)
        except Exception as exc:
            log.warning("Run of job %s not cancelled: %s", short_id(job.id), exc, exc_info=True)
            await said.edit_text(tr(person.lang, "cancel_failed", job=short_id(job.id)))
            return
    await blocking(sv.store.update_job, job.id, status=JobStatus.CANCELLED, stage="cancelled")
    await said.edit_text(tr(person.lang, "cancelled", job=short_id(job.id)))
    try:  # the status message stops showing a stage or a queue place
        await blocking(sv.board.refresh, job.id)
    except Exception as exc:
        log.warning("Status of job %s not updated: %s", short_id(job.id), exc)


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The person's recent jobs and how each ended."""
    if not ((person := await admit(update, context, counted=False)) and update.effective_message):
        return
    jobs = await blocking(services(context).records.jobs_of, person.key, 10)
    if not jobs:
        await update.effective_message.reply_text(tr(person.lang, "history_empty"))
        return
    lines = [tr(person.lang, "history_header")]
    for job in jobs:
        lines.append(
            tr(
                person.lang,
                "history_line",
                date=f"{job.created_at:%Y-%m-%d}",
                prompt=clip(job.title or job.prompt or "…", 50),
                status=stage_label(person.lang, job),
            )
        )
    await update.effective_message.reply_text("\n".join(lines))


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """For admins: jobs by state, what was spent today and the last failures with their
    reasons. Others see an unknown command."""
    if not ((person := await admit(update, context, counted=False)) and update.effective_message):
        return
    if not is_admin(context, person):
        await update.effective_message.reply_text(tr(person.lang, "unknown_command"))
        return
    today = datetime.combine(utcnow().date(), time.min, tzinfo=utcnow().tzinfo)
    counts, spend = await blocking(services(context).records.stats, today)
    lines = [tr(person.lang, "stats_header")]
    lines += [
        tr(person.lang, "stats_line", status=name, count=n) for name, n in sorted(counts.items())
    ]
    lines.append(tr(person.lang, "stats_spend", cost=f"{spend:.2f}"))
    failures = await blocking(recent_failures, services(context).db, RECENT_FAILURES)
    if failures:
        lines += ["", tr(person.lang, "stats_failures_header")]
    lines += [
        tr(
            person.lang,
            "stats_failure_line",
            date=f"{job.updated_at:%Y-%m-%d %H:%M}",
            job=short_id(job.id),
            stage=job.stage,
            reason=clip(job.error or "-", 300),
        )
        for job in failures
    ]
    await update.effective_message.reply_text(clip("\n".join(lines)))


async def unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command this bot does not have."""
    if (person := await admit(update, context)) and update.effective_message:
        await update.effective_message.reply_text(tr(person.lang, "unknown_command"))
