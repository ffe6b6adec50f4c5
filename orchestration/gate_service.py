"""The one way a decision reaches a gate, from the bot and the CLI alike: the gate must be
open, the decision must pass the rules, one claim wins, and the run is resumed with it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from uuid import UUID

from prefect.states import State

from orchestration import runs
from videobot.budget import decision_shortfall
from videobot.db.bot_records import BotRecords
from videobot.db.maintenance import cancel_unended, is_expiry
from videobot.db.models import JobStatus, VideoJob, utcnow
from videobot.db.store import JobStore, unready_scenes
from videobot.decisions import Decision, Refusal, refusal
from videobot.naming import short_id
from videobot.settings import get_settings

log = logging.getLogger(__name__)

# claimed: the decision stands on the gate row and is yet to be passed on to the run.
# resumed: the run took the decision now. recorded: the run takes it from the gate row (it
# had not paused, or no longer waits). closed: the job does not wait at that gate. taken:
# another answer claimed the gate first. refused: the rules refuse it (see `refusal`).
# resume_failed: the run still waits and the gate is open again for another try. ended: the
# run ended while the job waited there (cancelled in Prefect, or its pause timed out).
OutcomeKind = Literal[
    "claimed", "resumed", "recorded", "closed", "taken", "refused", "resume_failed", "ended"
]


@dataclass(frozen=True)
class GateOutcome:
    kind: OutcomeKind
    refusal: Refusal | None = None
    error: Exception | None = None  # what failed, for resume_failed

    @property
    def done(self) -> bool:
        """The decision stands: the run goes on with it (once passed on, when claimed)."""
        return self.kind in ("claimed", "resumed", "recorded")


def gate_open(store: JobStore, job: VideoJob, stage: str, attempt: int) -> bool:
    """The job waits at exactly this gate, and nobody has decided it yet."""
    if job.status != JobStatus.WAITING or job.flow_run_id is None:
        return False
    gate = store.gate(job.id, stage, attempt)
    return gate is not None and gate.decision is None


def check(store: JobStore, job: VideoJob, stage: str, decision: Decision) -> Refusal | None:
    """Why the rules refuse `decision` at this job's `stage` gate, or None."""
    unready = [] if stage == "script" else unready_scenes(store.segments(job.id), stage)
    over = decision_shortfall(get_settings(), store, job, stage, decision)
    return refusal(stage, decision, language=job.language, unready=unready, over_budget=over)


def claim(
    store: JobStore,
    records: BotRecords,
    job_id: UUID,
    stage: str,
    attempt: int,
    decision: Decision,
) -> GateOutcome:
    """Check and claim: one winner across clicks, shells and bot replicas. "claimed" means the
    decision now stands on the gate row and must be passed on (`pass_on`); nothing changes
    otherwise. Quick (database only), so a button can be answered right after it."""
    job = store.job(job_id)
    if not gate_open(store, job, stage, attempt):
        return GateOutcome("closed")
    refused = check(store, job, stage, decision)
    if refused is not None:
        return GateOutcome("refused", refusal=refused)
    if records.claim_decision(job_id, stage, attempt, decision) is None:
        return GateOutcome("taken")
    return GateOutcome("claimed")


def pass_on(
    store: JobStore,
    records: BotRecords,
    job_id: UUID,
    stage: str,
    attempt: int,
    decision: Decision,
) -> GateOutcome:
    """Resume the run with a claimed decision. A resume that fails while the run still waits
    gives the claim back, so the person can answer again; a run that no longer waits takes
    the claimed decision when it reaches the gate."""
    resuming = time.perf_counter()
    try:
        resumed = runs.resume(store, job_id, stage, attempt, decision)
    except Exception as exc:
        log.warning(
            "Resuming job %s at %s-%s failed: %s", short_id(job_id), stage, attempt,
            type(exc).__name__,
        )
        if _still_waits(store.job(job_id)):
            records.release_decision(job_id, stage, attempt, decision.decided_by)
            return GateOutcome("resume_failed", error=exc)
        ended = _run_end(store.job(job_id))
        if ended is not None and runs.waits_at(store, job_id, stage, attempt):
            # The run ended while the job waited here (cancelled in Prefect: suspended, so no
            # hook ran; or its pause timed out): no run will act on this decision, so the gate
            # keeps none. A cancel ends the job with it; an expiry is the cleanup's to tell.
            records.release_decision(job_id, stage, attempt, decision.decided_by)
            if ended.is_cancelled() and not is_expiry(ended.message):
                cancel_unended(store, job_id)
            return GateOutcome("ended")
        return GateOutcome("recorded")
    log.info("Resume %.1f ms", (time.perf_counter() - resuming) * 1000)
    if resumed and decision.action != "cancel":
        store.queue_resumed(job_id, stage)  # it shows its place while it waits to start again
    return GateOutcome("resumed" if resumed else "recorded")


def decide(
    store: JobStore,
    records: BotRecords,
    job_id: UUID,
    stage: str,
    attempt: int,
    decision: Decision,
) -> GateOutcome:
    """Check, claim and resume in one call (`claim`, then `pass_on`)."""
    claimed = claim(store, records, job_id, stage, attempt, decision)
    if claimed.kind != "claimed":
        return claimed
    return pass_on(store, records, job_id, stage, attempt, decision)


# A claimed decision is normally passed on within a second; one older than this whose run
# still waits was stranded by a claimer that stopped (a bot restarted mid-click).
STRANDED_AFTER_SECONDS = 30


def pass_on_stranded(store: JobStore, records: BotRecords) -> int:
    """Pass on the decisions claimed but never passed on, whose runs still wait; returns how
    many runs were resumed. A run that already took its decision is left alone."""
    cutoff = utcnow() - timedelta(seconds=STRANDED_AFTER_SECONDS)
    resumed = 0
    for job_id, stage, attempt in store.stranded_decisions(cutoff):
        job, decision = store.job(job_id), store.decision(job_id, stage, attempt)
        if decision is None or job.flow_run_id is None or not runs.run_waits(job.flow_run_id):
            continue
        log.warning("Passing on the %s-%s decision of job %s, claimed but never passed on",
                    stage, attempt, short_id(job_id))
        resumed += pass_on(store, records, job_id, stage, attempt, decision).kind == "resumed"
    return resumed


def _run_end(job: VideoJob) -> State | None:
    """The run's final state, or None while it lives (or Prefect cannot say)."""
    assert job.flow_run_id is not None
    try:
        return runs.final_state(job.flow_run_id)
    except Exception:
        return None


def _still_waits(job: VideoJob) -> bool:
    """Whether the run may still wait; when Prefect cannot say, it may."""
    assert job.flow_run_id is not None
    try:
        return runs.run_waits(job.flow_run_id)
    except Exception:
        return True
