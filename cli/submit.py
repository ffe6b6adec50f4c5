"""Hand a job to the served `make-video` deployment and follow it from the terminal."""

from __future__ import annotations

import time
from uuid import UUID

from prefect import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from cli.local_run import answer_gates
from orchestration.crash_recovery import crash_history
from orchestration.runs import run_ui_url, trigger
from tasks.runtime import runtime
from videobot import messages
from videobot.db.models import FINISHED_STATUSES

# A crashed run is scheduled again by an automation within seconds; one still Crashed after
# this long has no automation to take it up (a server set up without them), and has ended.
CRASHED_ENDS_AFTER_SECONDS = 90.0


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

        running = RunFollower(job_id, run.id)
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


class RunFollower:
    """Whether the job's run is still going, asked once a second by the follower. A crash
    is not the end: the run is scheduled again and carries on, and the terminal says so
    (the run's own message goes to the worker's output, not to this terminal)."""

    def __init__(self, job_id: UUID, run_id: UUID) -> None:
        self.job_id, self.run_id = job_id, run_id
        self.crashes = 0
        self.crashed_at: float | None = None
        self._seen_state: UUID | None = None

    def __call__(self) -> bool:
        if runtime().store.job(self.job_id).status in FINISHED_STATUSES:
            return False
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(self.run_id).state
            if state is not None and state.id != self._seen_state:
                self._seen_state = state.id
                crashes, _ = crash_history(client.read_flow_run_states(self.run_id))
                if crashes > self.crashes:
                    self.crashes = crashes
                    print(f"[{str(self.job_id)[:8]}] {messages.RESUMED_AFTER_FAULT}", flush=True)
        if state is not None and state.is_crashed():
            self.crashed_at = self.crashed_at or time.monotonic()
            return time.monotonic() - self.crashed_at < CRASHED_ENDS_AFTER_SECONDS
        self.crashed_at = None
        return not (state and state.is_final() and not state.is_paused())
