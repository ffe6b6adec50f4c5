"""The `make-video` flow: one prompt in, one narrated 50-second MP4 out, with three gates."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import WithJsonSchema

from flows.pipeline import attach_run, run_pipeline
from flows.run_hooks import carry_on_after_crash, stop_provider_tasks
from flows.run_logging import quiet_cancelled_runs
from orchestration.runs import live_run, run_name
from tasks.runtime import runtime
from videobot.naming import short_id

# terminal: the CLI prints and asks; telegram: the flow messages the job's chat.
ChannelKind = Literal["terminal", "telegram"]
# A job id as the parameter schema shows it. The Prefect API checks parameters against the
# schema before it creates a run, but does not check JSON-schema formats, so `format: uuid`
# alone lets "not-a-uuid" through; the pattern makes it refuse one.
JobId = Annotated[UUID, WithJsonSchema({
    "type": "string", "format": "uuid", "title": "Job id",
    "pattern": "^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$",
})]

quiet_cancelled_runs()  # a job cancelled at a gate is no error in its run's log


def _run_name() -> str:
    # Also given at creation by `orchestration.runs.trigger`; this names runs made otherwise
    # (a local `videobot make`, a test calling the flow).
    return run_name(UUID(str(flow_run.parameters["job_id"])))


@flow(
    name="make-video",
    flow_run_name=_run_name,
    task_runner=ThreadPoolTaskRunner(max_workers=10),
    # Suspension needs persisted results (Prefect: suspend_flow_run); no task is cached
    # (tasks.runtime.ONCE): the job's replay record decides what is skipped.
    persist_result=True,
    log_prints=True,
    on_cancellation=[stop_provider_tasks],
)
def make_video(
    job_id: JobId, channel: ChannelKind = "terminal", auto_approve: bool = False
) -> str | State:
    """Run (or resume) the whole pipeline for one job; returns the final video's path."""
    live = live_run(runtime().store, job_id, other_than=UUID(str(flow_run.id)))
    if live is not None:  # refused before anything is paid
        return Failed(message=f"job {short_id(job_id)} is still worked on by the run {live}")
    if (ended := carry_on_after_crash(job_id, channel)) is not None:
        return ended
    attach_run(job_id)
    return run_pipeline(job_id, channel, auto_approve)
