"""A person's choice at a gate, through the gate service, told back in their language."""

from __future__ import annotations

from dataclasses import dataclass

from bot.guards import Person
from bot.services import Services, blocking
from orchestration import gate_service
from videobot.db.models import VideoJob
from videobot.decisions import Decision, Refusal
from videobot.i18n import tr

# The chat's text for each refusal code of `videobot.decisions.refusal`.
REFUSAL_TEXTS = {
    "invalid": "bad_button",
    "edit_too_long": "edit_too_long",
    "approve_blocked": "approve_blocked",
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
    return tr(lang, REFUSAL_TEXTS[refusal.code], **values)


def outcome_text(lang: str, decision: Decision) -> str:
    if decision.action == "redo":
        return tr(lang, "outcome_redo", scenes=", ".join(map(str, decision.scenes or [])))
    return tr(lang, f"outcome_{decision.action}")


async def decide(
    sv: Services, person: Person, job: VideoJob, stage: str, attempt: int, decision: Decision
) -> Outcome:
    """Decide through the gate service; the text says what happened."""
    outcome = await blocking(
        gate_service.decide, sv.store, sv.records, job.id, stage, attempt, decision
    )
    if outcome.done:
        return Outcome(True, outcome_text(person.lang, decision))
    if outcome.refusal is not None:
        return Outcome(False, refusal_text(person.lang, outcome.refusal))
    if outcome.kind == "resume_failed":
        return Outcome(False, tr(person.lang, "resume_failed"))
    return Outcome(False, tr(person.lang, "already_decided"))
