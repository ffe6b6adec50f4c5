"""The one way a decision reaches a gate, from the bot and the CLI alike: the gate must be
open, the decision must pass the rules, one claim wins, and the run is resumed with it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from orchestration import runs
from videobot.db.bot_records import BotRecords
from videobot.db.models import JobStatus, VideoJob
from videobot.db.store import JobStore, unready_scenes
from videobot.decisions import Decision, Refusal, refusal
from videobot.naming import short_id

log = logging.getLogger(__name__)

# resumed: the run took the decision now. recorded: the run takes it from the gate row (it
# had not paused, or no longer waits). closed: the job does not wait at that gate. taken:
# another answer claimed the gate first. refused: the rules refuse it (see `refusal`).
# resume_failed: the run still waits and the gate is open again for another try.
OutcomeKind = Literal["resumed", "recorded", "closed", "taken", "refused", "resume_failed"]


@dataclass(frozen=True)
class GateOutcome:
    kind: OutcomeKind
    refusal: Refusal | None = None
    error: Exception | None = None  # what failed, for resume_failed

    @property
    def done(self) -> bool:
        """The decision stands: the run goes on with it."""
        return self.kind in ("resumed", "recorded")


def gate_open(store: JobStore, job: VideoJob, stage: str, attempt: int) -> bool:
    """The job waits at exactly this gate, and nobody has decided it yet."""
    if job.status != JobStatus.WAITING or job.flow_run_id is None:
        return False
    gate = store.gate(job.id, stage, attempt)
    return gate is not None and gate.decision is None


def check(store: JobStore, job: VideoJob, stage: str, decision: Decision) -> Refusal | None:
    """Why the rules refuse `decision` at this job's `stage` gate, or None."""
    unready = [] if stage == "script" else unready_scenes(store.segments(job.id), stage)
    return refusal(stage, decision, language=job.language, unready=unready)


def decide(
    store: JobStore,
    records: BotRecords,
    job_id: UUID,
    stage: str,
    attempt: int,
    decision: Decision,
) -> GateOutcome:
    """Check, claim (one winner across clicks, shells and bot replicas), resume.

    Nothing changes unless the claim wins. A resume that fails while the run still waits
    gives the claim back, so the person can answer again; a run that no longer waits takes
    the claimed decision when it reaches the gate.
    """
    job = store.job(job_id)
    if not gate_open(store, job, stage, attempt):
        return GateOutcome("closed")
    refused = check(store, job, stage, decision)
    if refused is not None:
        return GateOutcome("refused", refusal=refused)
    checked = time.perf_counter()
    if records.claim_decision(job_id, stage, attempt, decision) is None:
        return GateOutcome("taken")
    resuming = time.perf_counter()
    try:
        resumed = runs.resume(store, job_id, stage, attempt, decision)
    except Exception as exc:
        log.warning(
            "Resuming job %s at %s-%s failed: %s", short_id(job_id), stage, attempt,
            type(exc).__name__,
        )
        if _still_waits(job):
            records.release_decision(job_id, stage, attempt, decision.decided_by)
            return GateOutcome("resume_failed", error=exc)
        return GateOutcome("recorded")
    log.info(
        "Claim %.1f ms, resume %.1f ms",
        (resuming - checked) * 1000,
        (time.perf_counter() - resuming) * 1000,
    )
    return GateOutcome("resumed" if resumed else "recorded")


def _still_waits(job: VideoJob) -> bool:
    """Whether the run may still wait; when Prefect cannot say, it may."""
    assert job.flow_run_id is not None
    try:
        return runs.run_waits(job.flow_run_id)
    except Exception:
        return True
