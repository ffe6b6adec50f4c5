"""The `rerun-stage` flow: make one stage again (for some scenes), keep what came before."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import Field

from flows.make_video import ChannelKind, JobId
from flows.pipeline import attach_run, run_pipeline
from flows.run_hooks import carry_on_after_crash, stop_provider_tasks
from orchestration.runs import live_run
from tasks.runtime import runtime
from videobot.channels import channel_for
from videobot.db.models import JobStatus
from videobot.naming import short_id
from videobot.rerun import discard_from

RerunStage = Literal["script", "segments", "images", "motion", "clips", "narration", "assembly"]
SceneNumber = Annotated[int, Field(ge=1, le=10)]


def _run_name() -> str:
    params = flow_run.parameters
    return f"rerun-{params['stage']}-{str(params['job_id'])[:8]}"


@task(name="discard-stage", cache_policy=NO_CACHE)
def discard_stage(job_id: UUID, stage: str, segments: list[int] | None, run_id: UUID) -> str:
    """Discard the stage's output once per rerun: the run starts again from the top when it is
    resumed after a gate, and the job records which rerun already discarded."""
    store = runtime().store
    summary = discard_from(store, runtime().files, job_id, stage, segments)
    store.update_job(job_id, status=JobStatus.RUNNING, finished_at=None, rerun_run_id=run_id)
    get_run_logger().info("Rerun of job %s: %s", job_id, summary)
    return summary


@flow(
    name="rerun-stage",
    flow_run_name=_run_name,
    task_runner=ThreadPoolTaskRunner(max_workers=10),
    # Suspension needs persisted results (Prefect: suspend_flow_run); no task is cached
    # (tasks.runtime.ONCE): the job's replay record decides what is skipped.
    persist_result=True,
    log_prints=True,
    on_cancellation=[stop_provider_tasks],
)
def rerun_stage(
    job_id: JobId,
    stage: RerunStage,
    segments: list[SceneNumber] | None = None,
    channel: ChannelKind | None = None,
    auto_approve: bool = False,
) -> str | State:
    """Discard `stage` (only for the scene numbers in `segments` when given) and everything that
    depends on it, then carry the job through its gates to a new final video, shown where the
    job was made (its chat, else the terminal) unless `channel` says otherwise."""
    run_id = UUID(str(flow_run.id))
    store = runtime().store
    channel = channel or channel_for(store.job(job_id))
    if store.job(job_id).rerun_run_id != run_id:
        live = live_run(store, job_id, other_than=run_id)
        if live is not None:  # refused before anything is discarded or paid
            return Failed(message=f"job {short_id(job_id)} is still worked on by the run "
                          f"{live}: cancel it, or wait for it to end, before a rerun")
        discard_stage(job_id, stage, segments, run_id)
    elif (ended := carry_on_after_crash(job_id, channel)) is not None:
        return ended
    attach_run(job_id)
    return run_pipeline(job_id, channel, auto_approve)
