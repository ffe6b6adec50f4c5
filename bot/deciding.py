"""A person's choice at a gate, through the gate service, told back in their language."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from bot.guards import Person
from bot.services import Services, blocking
from orchestration import gate_service
from orchestration.gate_service import GateOutcome
from videobot.db.bot_records import BotRecords
from videobot.db.models import JobStatus, VideoJob
from videobot.db.store import JobStore
from videobot.decisions import Decision, Refusal
from videobot.i18n import tr
from videobot.naming import short_id

log = logging.getLogger(__name__)

# The chat's text for each refusal code of `videobot.decisions.refusal`.
REFUSAL_TEXTS = {
    "invalid": "bad_button",
    "edit_too_long": "edit_too_long",
    "style_empty": "style_empty",
    "approve_blocked": "approve_blocked",
    "over_budget": "over_budget",
}


@dataclass(frozen=True)
class Outcome:
    done: bool
    text: str


def gate_open(sv: Services, job: VideoJob, stage: str, attempt: int) -> bool:
    """The job waits at exactly this gate, and nobody has decided it yet."""
    return gate_service.gate_open(sv.store, job, stage, attempt)


def refusal_text(lang: str, refusal: Refusal) -> str:
    values = dict(refusal.values)
    if refusal.code == "edit_too_long":
        values["part"] = tr(lang, f"part_{values['part']}")
    if refusal.code == "approve_blocked" and values.get("stage") == "clips":
        return tr(lang, "approve_blocked_clips", **values)
    if refusal.code == "over_budget":
        values["of"] = tr(lang, f"budget_of_{values['scope']}", limit=values["limit"])
    return tr(lang, REFUSAL_TEXTS[refusal.code], **values)


def outcome_text(lang: str, decision: Decision) -> str:
    if decision.action == "redo":
        return tr(lang, "outcome_redo", scenes=", ".join(map(str, decision.scenes or [])))
    return tr(lang, f"outcome_{decision.action}")


def _told(lang: str, outcome: gate_service.GateOutcome, decision: Decision) -> Outcome:
    if outcome.done:
        return Outcome(True, outcome_text(lang, decision))
    if outcome.refusal is not None:
        return Outcome(False, refusal_text(lang, outcome.refusal))
    if outcome.kind == "resume_failed":
        return Outcome(False, tr(lang, "resume_failed"))
    return Outcome(False, tr(lang, "already_decided"))


async def decide(
    sv: Services, person: Person, job: VideoJob, stage: str, attempt: int, decision: Decision
) -> Outcome:
    """Decide through the gate service; the text says what happened."""
    return await _through(gate_service.decide, sv, person, job, stage, attempt, decision)


async def claim(
    sv: Services, person: Person, job: VideoJob, stage: str, attempt: int, decision: Decision
) -> Outcome:
    """Check and claim only (quick): a button is answered with this, then `pass_on`."""
    return await _through(gate_service.claim, sv, person, job, stage, attempt, decision)


async def pass_on(
    sv: Services, person: Person, job: VideoJob, stage: str, attempt: int, decision: Decision
) -> Outcome:
    """Resume the run with a claimed decision; not done when the person must answer again."""
    return await _through(gate_service.pass_on, sv, person, job, stage, attempt, decision)


async def _through(
    step: Callable[[JobStore, BotRecords, UUID, str, int, Decision], GateOutcome],
    sv: Services, person: Person, job: VideoJob, stage: str, attempt: int, decision: Decision,
) -> Outcome:
    """One gate-service step, off the event loop; the text says what happened."""
    outcome = await blocking(step, sv.store, sv.records, job.id, stage, attempt, decision)
    if outcome.kind == "ended":
        # Its run ended while the job waited (cancelled in Prefect, or its pause timed out):
        # the job's status message is brought up to date.
        now = await blocking(sv.store.job, job.id)
        try:
            await blocking(sv.board.refresh, job.id)
        except Exception as exc:  # the answer below matters more than the status message
            log.warning("Status of job %s not shown: %s", short_id(job.id), exc)
        if now.status == JobStatus.CANCELLED:
            return Outcome(False, tr(person.lang, "cancelled", job=short_id(job.id)))
        return Outcome(False, tr(person.lang, "stage_expired"))
    return _told(person.lang, outcome, decision)
