"""Hooks the serving process (Prefect's runner) runs when a run's process is gone.

- Crashed (kill -9, out of memory, a lost machine): the runner sees its flow-run process exit
  abnormally, marks the run Crashed and runs `on_crashed`. `retry_after_crash` puts the run
  back on the schedule, as `prefect flow-run retry` would, a bounded number of times: the
  job's replay record makes the retry carry on where the dead process stopped, paying for
  nothing already made. The person is told either way.
- Cancelled (/cancel, the UI): the runner kills the process, then runs `on_cancellation`.
  `stop_provider_tasks` deletes the provider tasks the process had started and not finished,
  so work nobody will see stops being paid for where the provider allows it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.objects import StateType
from prefect.states import Scheduled

from tasks.runtime import runtime
from videobot.db.models import FINISHED_STATUSES, JobStatus
from videobot.providers.base import TaskCanceller

# Crashes of one run retried automatically; the next one fails the job.
MAX_CRASH_RETRIES = 3


def retry_after_crash(flow: Any, flow_run: Any, state: Any) -> None:
    """`on_crashed` hook: retry the crashed run of a deployment, or fail its job for good."""
    if flow_run.deployment_id is None:  # a local run: its process, and this hook, are gone
        return
    job_id = UUID(str(flow_run.parameters["job_id"]))
    rt = runtime()
    job = rt.store.job(job_id)
    if job.status in FINISHED_STATUSES:
        return
    channel = rt.channel(str(flow_run.parameters.get("channel", "terminal")))
    with get_client(sync_client=True) as client:
        history = client.read_flow_run_states(flow_run.id)
        crashes = sum(1 for s in history if s.type == StateType.CRASHED)
        if crashes <= MAX_CRASH_RETRIES:
            client.set_flow_run_state(
                flow_run.id, Scheduled(message=f"retried after crash {crashes}"), force=True
            )
            channel.resumed(job)
            return
    reason = f"the run's process died {crashes} times"
    rt.store.update_job(job_id, status=JobStatus.FAILED, error=f"the {job.stage} stage failed: "
                        f"{reason}")
    channel.fail(rt.store.job(job_id), reason)


def stop_provider_tasks(flow: Any, flow_run: Any, state: Any) -> None:
    """`on_cancellation` hook: cancel the job's provider tasks still open in the journal."""
    rt = runtime()
    job_id = UUID(str(flow_run.parameters["job_id"]))
    cancellers: dict[str, TaskCanceller] = {}
    for provider in (rt.providers.images, rt.providers.animator, rt.providers.narrator):
        if isinstance(provider, TaskCanceller):
            cancellers.setdefault(provider.name, provider)
    for key, provider_name, task_id in rt.store.open_tasks(str(rt.media.job_dir(job_id))):
        canceller = cancellers.get(provider_name)
        if canceller is not None:
            canceller.cancel_task(task_id)
        rt.store.close_task(key)
