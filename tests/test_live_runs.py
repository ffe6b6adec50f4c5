"""Whether another run still works on a job (`orchestration.runs.live_run`), on a real server."""

from __future__ import annotations

import contextvars
import threading
import time
from uuid import UUID

from prefect.states import Completed, Running

from flows.make_video import make_video
from orchestration.runs import api_client, live_run, run_name
from tasks.runtime import runtime
from tests.helpers import new_job
from videobot.db.models import JobStatus


def _running_run(job_id: UUID) -> UUID:
    """A `make-video` run of the job, Running, recorded on the job."""
    with api_client() as client:
        run = client.create_flow_run(
            make_video, parameters={"job_id": str(job_id)}, name=run_name(job_id)
        )
        client.set_flow_run_state(run.id, Running(), force=True)
    runtime().store.update_job(job_id, flow_run_id=run.id)
    return run.id


def _complete_later(run_id: UUID, seconds: float) -> threading.Thread:
    def complete() -> None:
        time.sleep(seconds)
        with api_client() as client:
            client.set_flow_run_state(run_id, Completed(), force=True)

    # The thread runs in this context: the tests' Prefect API is a context setting.
    thread = threading.Thread(target=contextvars.copy_context().run, args=(complete,))
    thread.start()
    return thread


def test_a_run_still_working_on_its_job_is_live_at_once(prefect_server: str) -> None:
    """A job still being made: its Running run is named without any wait; another run of the
    same job, or a job with no run, has none."""
    job_id = new_job("How tides work")
    assert live_run(runtime().store, job_id) is None
    run_id = _running_run(job_id)
    started = time.monotonic()
    assert live_run(runtime().store, job_id) == run_name(job_id)
    assert time.monotonic() - started < 5
    assert live_run(runtime().store, job_id, other_than=run_id) is None


def test_the_run_of_a_delivered_job_is_waited_for_while_it_ends(prefect_server: str) -> None:
    """A run records the delivery a moment before its own state is Completed: asked in
    between (a rerun right after delivery), the answer waits for the run to end instead of
    refusing the rerun."""
    job_id = new_job("How kites fly")
    run_id = _running_run(job_id)
    runtime().store.update_job(job_id, status=JobStatus.DELIVERED)
    ending = _complete_later(run_id, 2.0)
    started = time.monotonic()
    try:
        assert live_run(runtime().store, job_id) is None
        assert time.monotonic() - started >= 1.5, "the answer came before the run ended"
    finally:
        ending.join()
