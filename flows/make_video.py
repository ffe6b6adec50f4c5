"""The `make-video` flow: one prompt in, one narrated 50-second MP4 out, with three gates."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import State
from prefect.task_runners import ThreadPoolTaskRunner

from flows.pipeline import attach_run, run_pipeline
from orchestration.runs import run_name

# terminal: the CLI prints and asks; telegram: the flow messages the job's chat.
ChannelKind = Literal["terminal", "telegram"]


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
)
def make_video(
    job_id: UUID, channel: ChannelKind = "terminal", auto_approve: bool = False
) -> str | State:
    """Run (or resume) the whole pipeline for one job; returns the final video's path."""
    attach_run(job_id)
    return run_pipeline(job_id, channel, auto_approve)
