"""What happens when a run's process dies (kill -9, out of memory, a lost machine).

The serving process (Prefect's runner) sees its flow-run process exit abnormally, marks the run
Crashed and runs the flow's `on_crashed` hooks. This hook puts the run back on the schedule, as
`prefect flow-run retry` would, a bounded number of times: the job's replay record makes the
retry carry on where the dead process stopped, paying for nothing already made. The person is
told either way.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.objects import StateType
from prefect.states import Scheduled

from tasks.runtime import runtime
from videobot.db.models import FINISHED_STATUSES, JobStatus

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
