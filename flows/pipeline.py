"""The pipeline body shared by `make-video` and `rerun-stage`, driven by the job's replay record.

A run (first, resumed after a gate, retried after a failure, or a rerun) reads the stages the
job has finished and skips them without creating a task run, so carrying on costs the same at
any stage. Inside a gated stage, its gate rows replay the rounds already decided.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

from prefect import get_run_logger, unmapped
from prefect.context import FlowRunContext
from prefect.exceptions import Abort, FlowPauseTimeout, TerminationSignal
from prefect.settings import get_current_settings
from prefect.states import Cancelled, State

from flows.stages import StageFailed, media_stage, script_stage
from orchestration.liveness import beating
from tasks.assembly import assemble
from tasks.attempts import taken_up
from tasks.budget import NotAffordable, ensure_affordable
from tasks.limits import JobEnded, JobSlot
from tasks.media import narrate
from tasks.messages import deliver, notify
from tasks.runtime import Superseded, runtime
from tasks.script import intake, plan_segments, write_motion
from videobot.db.maintenance import expire_waiting, expiry_reason
from videobot.db.models import JobStatus
from videobot.formats import SECTION_NAMES
from videobot.ledger import short_reason
from videobot.naming import short_id
from videobot.stopping import stop_waiting


def attach_run(job_id: UUID) -> None:
    """Record which Prefect run works on the job, and where its API is. A retried job keeps
    its error until a stage finishes."""
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None
    runtime().store.update_job(
        job_id,
        flow_run_id=context.flow_run.id,
        flow_run_name=context.flow_run.name,
        prefect_api_url=get_current_settings().api.url,
    )


class _Cancel(Exception):
    """The person cancelled at a gate."""


def _stages(job_id: UUID, channel: str, auto_approve: bool, slot: JobSlot
            ) -> list[tuple[str, Callable[[], object]]]:
    """Each pipeline stage and the work it does, in order."""
    store = runtime().store

    def work(stage: str | None, *steps: Callable[[], object]) -> Callable[[], object]:
        def run() -> None:
            slot.take()
            if stage:
                store.set_stage(job_id, stage)
                ensure_affordable(job_id, stage)  # a stage the budgets cannot pay is not begun
            for step in steps:
                step()
        return run

    def gated(stage: str) -> Callable[[], object]:
        def run() -> None:
            made = (
                script_stage(job_id, channel, auto_approve, slot) is not None
                if stage == "script"
                else media_stage(job_id, stage, channel, auto_approve, slot)
            )
            if not made:
                raise _Cancel
        return run

    return [
        ("intake", work("intake", lambda: intake(job_id))),
        ("script", gated("script")),
        ("segments", work("segments", lambda: plan_segments(job_id))),
        ("images", gated("images")),
        ("motion", work("motion", lambda: write_motion(job_id))),
        ("clips", gated("clips")),
        ("narration", work(
            "narration",
            lambda: notify(job_id, channel, "Recording the narration…"),
            lambda: narrate.map(unmapped(job_id), list(SECTION_NAMES)).result(),
        )),
        ("assembly", work(
            "assembly",
            lambda: notify(job_id, channel, "Assembling the video…"),
            lambda: assemble(job_id),
        )),
        # Its own stage (no budget check: it pays for nothing), so a failed upload is told as
        # one, and a retry starts from it.
        ("delivery", work(None, lambda: store.set_stage(job_id, "delivery"),
                          lambda: deliver(job_id, channel))),
    ]


def run_pipeline(job_id: UUID, channel: str, auto_approve: bool) -> str | State:
    """Carry the job to its end; returns the final video's path, or a Cancelled state when
    the job is (or gets) cancelled: one outcome, whoever cancels."""
    store = runtime().store
    job = store.job(job_id)
    delivered = job.final_path and runtime().files.exists(job.final_path)
    if job.status == JobStatus.DELIVERED and delivered:
        return job.final_path
    if job.status == JobStatus.CANCELLED:
        return Cancelled(message=f"job {short_id(job_id)} was cancelled")
    if job.status == JobStatus.EXPIRED:
        return ""
    if store.reopen_failed_job(job_id):  # a retry of the failed run: carry on where it failed
        get_run_logger().info("Retrying job %s from the %s stage", short_id(job_id), job.stage)
        notify(job_id, channel, f"Trying again from the {job.stage} stage…")
    # This attempt works on the job from here (an older one still alive steps aside), and
    # says it is alive more often than Prefect's heartbeat, so that a lost run is found sooner.
    with beating(), taken_up(job_id):
        return _carry_on(job_id, channel, auto_approve)


def _carry_on(job_id: UUID, channel: str, auto_approve: bool) -> str | State:
    """Run the stages the job has not finished, in order, and end the job as they end."""
    store = runtime().store
    done = store.stages_done(job_id)
    slot = JobSlot(job_id)
    try:
        for stage, run in _stages(job_id, channel, auto_approve, slot):
            if stage in done:
                continue
            run()
            store.finish_stage(job_id, stage)
        return store.job(job_id).final_path or ""
    except _Cancel:
        store.update_job(job_id, status=JobStatus.CANCELLED, stage="cancelled")
        notify(job_id, channel, "Cancelled.")
        return Cancelled(message="cancelled at the gate")
    except TerminationSignal:
        # The run is cancelled or its process stopped: the task threads' provider waits end
        # now, so the process exits and its runner can stop the provider's work at once.
        stop_waiting()
        raise
    except Superseded as superseded:
        # A newer attempt of this run works on the job: this process ends without a state of
        # its own (Prefect's Abort leaves the run's state to that attempt) and changes nothing.
        raise Abort(str(superseded)) from None
    except JobEnded as ended:
        # Cancelled while this run started, waited for a slot or was about to pay a provider:
        # the run ends Cancelled, a state a run its runner was asked to cancel accepts.
        return Cancelled(message=str(ended))
    except FlowPauseTimeout:
        return _expire(job_id, channel)
    except Exception as exc:
        # The traceback goes to the run's log (Prefect records the failed run); the person
        # gets one line naming the stage, with the provider's own reason.
        reason = short_reason(exc)
        stage = store.job(job_id).stage
        told = isinstance(exc, StageFailed | NotAffordable)  # already the person's one line
        error = reason if told else f"the {stage} stage failed: {reason}"
        store.update_job(job_id, status=JobStatus.FAILED, error=error)
        get_run_logger().error("Job failed at stage %s: %s", stage, reason)
        runtime().channel(channel).fail(store.job(job_id), reason)
        raise
    finally:
        slot.release()


def _expire(job_id: UUID, channel: str) -> State:
    """No decision before the pause timed out: the job expires and the person hears it, once
    (the cleanup may have expired it first, and told them). The run is ended Cancelled, as the
    cleanup's expiry ends a suspended one; Prefect's server turns any end of a pause past its
    timeout into Failed ("The flow was cancelled and never resumed")."""
    rt = runtime()
    hours = rt.settings.approval_timeout_hours
    reason = expiry_reason(timedelta(hours=hours))
    if expire_waiting(rt.store, job_id, reason):
        try:
            rt.channel(channel).expired(rt.store.job(job_id), hours)
        except Exception as exc:  # the job has expired either way; a lost message is logged
            get_run_logger().warning("Could not tell the person the job expired: %s", exc)
    return Cancelled(message=reason)
