"""Turn a person's choice at a gate into a resumed run: checked, claimed once, then resumed."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bot.guards import Person
from bot.services import Services, blocking
from videobot.db.models import JobStatus, VideoJob
from videobot.db.store import unready_scenes
from videobot.decisions import Decision
from videobot.formats import SECTIONS
from videobot.i18n import tr
from videobot.script import count_words, word_budget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    done: bool
    text: str


def gate_open(sv: Services, job: VideoJob, stage: str, attempt: int) -> bool:
    """The job waits at exactly this gate, and nobody has decided it yet."""
    if job.status != JobStatus.WAITING or job.flow_run_id is None:
        return False
    gate = sv.store.gate(job.id, stage, attempt)
    return gate is not None and gate.decision is None


def refusal(sv: Services, lang: str, job: VideoJob, stage: str, decision: Decision) -> str | None:
    """Why the flow would refuse this decision, in the person's words; None when it is fine.
    (The flow checks the same again; refusing here keeps the gate's row and run untouched.)"""
    if decision.problem(stage) is not None:
        return tr(lang, "bad_button")
    if stage == "script" and decision.action == "edit" and decision.part and decision.text:
        section = next(s for s in SECTIONS if s.name == decision.part)
        limit = int(word_budget(job.language, section.seconds) * 1.3)
        words = count_words(decision.text)
        if words > limit:
            return tr(
                lang,
                "edit_too_long",
                part=tr(lang, f"part_{decision.part}"),
                words=words,
                limit=limit,
            )
    if stage != "script" and decision.action == "approve":
        missing = unready_scenes(sv.store.segments(job.id), stage)
        if missing:
            return tr(lang, "approve_blocked", scenes=", ".join(str(i + 1) for i in missing))
    return None


def outcome_text(lang: str, decision: Decision) -> str:
    if decision.action == "redo":
        return tr(lang, "outcome_redo", scenes=", ".join(map(str, decision.scenes or [])))
    return tr(lang, f"outcome_{decision.action}")


async def decide(
    sv: Services, person: Person, job: VideoJob, stage: str, attempt: int, decision: Decision
) -> Outcome:
    """Check, claim (one winner across clicks and replicas), resume; the text says what
    happened."""
    if not await blocking(gate_open, sv, job, stage, attempt):
        return Outcome(False, tr(person.lang, "already_decided"))
    problem = await blocking(refusal, sv, person.lang, job, stage, decision)
    if problem:
        return Outcome(False, problem)
    checked = time.perf_counter()
    claimed = await blocking(sv.records.claim_decision, job.id, stage, attempt, decision)
    if claimed is None:
        return Outcome(False, tr(person.lang, "already_decided"))
    try:
        resuming = time.perf_counter()
        await sv.resume(job.id, stage, decision)
        log.info(
            "Claim %.1f ms, resume %.1f ms",
            (resuming - checked) * 1000,
            (time.perf_counter() - resuming) * 1000,
        )
    except Exception as exc:
        log.warning(
            "Resuming job %s at %s-%s failed: %s",
            str(job.id)[:8],
            stage,
            attempt,
            type(exc).__name__,
        )
        # A run that no longer waits will replay the recorded decision when it reaches the
        # gate; only a run still waiting gets its gate reopened for another press.
        if await _still_waits(sv, job):
            await blocking(sv.records.release_decision, job.id, stage, attempt, decision.decided_by)
            return Outcome(False, tr(person.lang, "resume_failed"))
    return Outcome(True, outcome_text(person.lang, decision))


async def _still_waits(sv: Services, job: VideoJob) -> bool:
    assert job.flow_run_id is not None
    try:
        return await sv.run_waits(job.flow_run_id)
    except Exception:
        return True
