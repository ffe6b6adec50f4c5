"""Hand a job to the served `make-video` deployment and follow it from the terminal."""

from __future__ import annotations

import time
from uuid import UUID

from prefect import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from cli.local_run import answer_gates
from orchestration.runs import run_ui_url, trigger
from tasks.runtime import runtime
from videobot.db.models import FINISHED_STATUSES


def submit_and_follow(
    job_id: UUID, api_url: str, *, auto_approve: bool
) -> tuple[str | None, str | None]:
    """Trigger the deployment (queued on the server), then ask at its gates until it ends."""
    store = runtime().store
    with temporary_settings({PREFECT_API_URL: api_url}):
        run = trigger(
            store, runtime().settings, job_id, channel="terminal", auto_approve=auto_approve
        )
        page = run_ui_url(api_url, run.id)
        print(
            f"Submitted as flow run {run.name} ({page}); queued until a worker slot is free.",
            flush=True,
        )

        def running() -> bool:
            if store.job(job_id).status in FINISHED_STATUSES:
                return False
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(run.id).state
            return not (state and state.is_final() and not state.is_paused())

        if auto_approve:
            while running():
                time.sleep(1)
        else:
            answer_gates(job_id, running, show=True)
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(run.id).state
    job = store.job(job_id)
    if job.final_path and job.status == "delivered":
        return job.final_path, None
    if state is not None and (state.is_failed() or state.is_crashed()) or job.status == "failed":
        # The job's error is the person's one line; the state's message is Prefect's own
        # (with the exception's class), so only the state's name is told without it.
        return None, job.error or f"the run ended {state.name if state else 'without a state'}"
    return None, None
