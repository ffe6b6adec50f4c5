"""The `rerun-stage` flow: make one stage again (for some scenes), keep what came before."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.cache_policies import INPUTS, RUN_ID
from prefect.runtime import flow_run
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import Field

from flows.make_video import ChannelKind
from flows.pipeline import attach_run, run_pipeline
from tasks.runtime import runtime
from videobot.db.models import JobStatus
from videobot.rerun import discard_from

RerunStage = Literal["script", "segments", "images", "motion", "clips", "narration", "assembly"]
SceneNumber = Annotated[int, Field(ge=1, le=10)]


def _run_name() -> str:
    params = flow_run.parameters
    return f"rerun-{params['stage']}-{str(params['job_id'])[:8]}"


@task(name="discard-stage", cache_policy=INPUTS + RUN_ID)
def discard_stage(job_id: UUID, stage: str, segments: list[int] | None) -> str:
    """Discard the stage's output once per flow run: a run resumed after a gate starts again
    from the top, and the cached result keeps it from discarding what it made since."""
    summary = discard_from(runtime().store, runtime().media, job_id, stage, segments)
    runtime().store.update_job(job_id, status=JobStatus.RUNNING, finished_at=None)
    get_run_logger().info("Rerun of job %s: %s", job_id, summary)
    return summary


@flow(
    name="rerun-stage",
    flow_run_name=_run_name,
    task_runner=ThreadPoolTaskRunner(max_workers=10),
    persist_result=True,
    log_prints=True,
)
def rerun_stage(
    job_id: UUID,
    stage: RerunStage,
    segments: list[SceneNumber] | None = None,
    channel: ChannelKind = "terminal",
    auto_approve: bool = False,
) -> str | State:
    """Discard `stage` (only for the scene numbers in `segments` when given) and everything that
    depends on it, then carry the job through its gates to a new final video."""
    discard_stage(job_id, stage, segments)
    attach_run(job_id)
    return run_pipeline(job_id, channel, auto_approve)
