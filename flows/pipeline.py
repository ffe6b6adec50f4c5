"""The pipeline body shared by `make-video` and `rerun-stage`: every step replays recorded work."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from prefect import get_run_logger, unmapped
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.settings import get_current_settings
from prefect.states import Cancelled, State

from flows.stages import StageFailed, media_stage, script_stage
from tasks.limits import JobEnded, release_job_slot, working
from tasks.media import assemble, narrate
from tasks.messages import deliver, notify
from tasks.runtime import runtime
from tasks.script import intake, plan_segments, write_motion
from videobot.db.models import JobStatus
from videobot.formats import SECTION_NAMES
from videobot.ledger import short_reason


def attach_run(job_id: UUID) -> None:
    """Record which Prefect run works on the job, and where its API is."""
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None
    runtime().store.update_job(
        job_id,
        flow_run_id=context.flow_run.id,
        flow_run_name=context.flow_run.name,
        prefect_api_url=get_current_settings().api.url,
        error=None,
    )


def run_pipeline(job_id: UUID, channel: str, auto_approve: bool) -> str | State:
    """Run (or resume) the job to its end; returns the final video's path ("" if none), or a
    Cancelled state when the job ended before this run could work on it."""
    store = runtime().store
    job = store.job(job_id)
    if job.status == JobStatus.DELIVERED and job.final_path and Path(job.final_path).is_file():
        return job.final_path
    if job.status in (JobStatus.CANCELLED, JobStatus.EXPIRED):
        return ""
    try:
        with working(job_id):
            store.set_stage(job_id, "intake")
            intake(job_id)
            store.set_stage(job_id, "script")
        if script_stage(job_id, channel, auto_approve) is None:
            return _cancelled(job_id, channel)
        with working(job_id):
            store.set_stage(job_id, "segments")
            plan_segments(job_id)
        if not media_stage(job_id, "images", channel, auto_approve):
            return _cancelled(job_id, channel)
        with working(job_id):
            store.set_stage(job_id, "motion")
            write_motion(job_id)
        if not media_stage(job_id, "clips", channel, auto_approve):
            return _cancelled(job_id, channel)
        with working(job_id):
            store.set_stage(job_id, "narration")
            notify(job_id, channel, "Recording the narration…")
            narrate.map(unmapped(job_id), list(SECTION_NAMES)).result()
            store.set_stage(job_id, "assembly")
            notify(job_id, channel, "Assembling the video…")
            final = assemble(job_id)
            deliver(job_id, channel)
        return final
    except JobEnded as ended:
        # Cancelled while this run started or waited for a slot: nothing to undo. The run ends
        # Cancelled, a state a run its runner was asked to cancel accepts (Completed it refuses).
        return Cancelled(message=str(ended))
    except FlowPauseTimeout:
        if store.job(job_id).status != JobStatus.EXPIRED:  # the cleanup may have expired it
            store.update_job(
                job_id, status=JobStatus.EXPIRED, error="no decision before the timeout"
            )
            notify(job_id, channel, "No decision arrived in time; the job has expired.")
        return ""
    except Exception as exc:
        # The traceback goes to the run's log (Prefect records the failed run); the person
        # gets one line naming the stage, with the provider's own reason.
        reason = short_reason(exc)
        stage = store.job(job_id).stage
        error = reason if isinstance(exc, StageFailed) else f"the {stage} stage failed: {reason}"
        store.update_job(job_id, status=JobStatus.FAILED, error=error)
        get_run_logger().error("Job failed at stage %s: %s", stage, reason)
        runtime().channel(channel).fail(store.job(job_id), reason)
        raise
    finally:
        release_job_slot(job_id)


def _cancelled(job_id: UUID, channel: str) -> str:
    runtime().store.update_job(job_id, status=JobStatus.CANCELLED, stage="cancelled")
    notify(job_id, channel, "Cancelled.")
    return ""
