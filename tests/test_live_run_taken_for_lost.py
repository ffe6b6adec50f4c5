"""A live run taken for lost: Prefect's lost-run automation schedules a run again while its
process still works (a busy server dropped its heartbeat events). A runner does not start a
run whose process it still has, but another runner does: two processes work on one job. The
newer attempt carries the job on; the older one steps aside."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from prefect import flow, suspend_flow_run
from prefect.context import FlowRunContext
from prefect.deployments import run_deployment
from prefect.states import Scheduled

from flows.gates import suspend_at_gate
from orchestration.crash_recovery import RETRY_STATE_NAME
from orchestration.gate_inputs import gate_input_class
from orchestration.runs import api_client
from tasks.attempts import ensure_ours, taken_up
from tasks.runtime import Superseded, runtime
from tests.helpers import job_slots_held, jobs_limit, new_job, wait_for
from tests.serving import Server
from tests.test_flow import ONE_VIDEO_CALLS


@pytest.fixture(scope="module")
def second_runner(server: Server, prefect_server: str) -> Iterator[Server]:
    """Another serving process polling the same deployments, as a second worker would."""
    other = Server(prefect_server)
    other.start()
    yield other
    other.kill()


def test_only_the_attempt_that_took_the_job_up_last_works_on_it() -> None:
    """Inside an attempt, its job is checked against the token it wrote; another job, or code
    outside any attempt (after it ended too), is not this attempt's to judge."""
    job, other = new_job("How kites fly"), new_job("How boats float")
    ensure_ours(job)
    with taken_up(job):
        ensure_ours(job)
        runtime().store.update_job(job, run_token="a newer attempt's token")
        with pytest.raises(Superseded, match="newer attempt"):
            ensure_ours(job)
        ensure_ours(other)
    ensure_ours(job)


def _queued_with_token(job_id: UUID) -> str | None:
    """The run attempt's token once the job's run has taken it up and queues for a slot."""
    job = runtime().store.job(job_id)
    return job.run_token if job.status == "queued" and job.flow_run_id else None


def test_the_older_attempt_of_a_run_taken_for_lost_steps_aside(
    server: Server, second_runner: Server
) -> None:
    """The run waits for a job slot (another worker holds them all) when the automation's
    action is applied to it. The other runner starts a second attempt, which takes the job up.
    Once slots free, the first attempt stops before any work (Prefect's Abort: its process
    exits and leaves the run's state to the second). The job is delivered once, with one
    video's calls, and the run ends Completed, never Failed or Crashed."""
    store = runtime().store
    runners = (server, second_runner)
    wait_for(lambda: jobs_limit().active_slots == 0, timeout=120, what="no job slot held")
    job_id = new_job("How lighthouses work")
    with job_slots_held(jobs_limit().limit):
        run = run_deployment("make-video/make-video",
                             parameters={"job_id": str(job_id), "auto_approve": True},
                             timeout=0)

        def processes() -> int:
            """The runners' processes of this run (not, say, the hourly cleanup's)."""
            return sum(len(r.run_processes(run.id)) for r in runners)

        first = wait_for(lambda: _queued_with_token(job_id), timeout=120,
                         what="the run to queue for a slot")
        with api_client() as client:
            client.set_flow_run_state(run.id, Scheduled(name=RETRY_STATE_NAME), force=True)
        wait_for(lambda: (_queued_with_token(job_id) or first) != first, timeout=120,
                 what="a second attempt to take the job up")
        assert processes() == 2, "both attempts' processes live"
    wait_for(lambda: store.job(job_id).status == "delivered", timeout=300, what="delivery")
    wait_for(lambda: processes() == 0, timeout=60, what="both processes to end")
    assert store.call_counts(job_id) == ONE_VIDEO_CALLS
    with api_client() as client:
        names = [s.name for s in client.read_flow_run_states(run.id)]
    assert names[-1] == "Completed"
    # A process exiting with an error would have been marked Crashed by its runner; an older
    # attempt that found the job gone from the queue would have ended the run Cancelled.
    assert not {"Failed", "Crashed", "Cancelled"} & set(names)
    log = server.log.read_text(errors="replace")  # both runners write to it
    assert log.count("taken up by a newer attempt") == 1


def test_an_attempt_whose_run_was_scheduled_again_does_not_suspend_it(prefect_server: str) -> None:
    """Prefect refuses to suspend a run that is no longer Running (RuntimeError "Flow run
    cannot be suspended"): what an older attempt meets at a gate when the automation scheduled
    its run again and no newer attempt has taken the job up yet. The gate takes it as the sign
    to step aside rather than failing the job."""
    job_id = new_job("How tides turn")
    before = runtime().store.job(job_id).status

    @flow
    def attempt_at_a_gate() -> str:
        context = FlowRunContext.get()
        assert context is not None and context.flow_run is not None
        with api_client() as client:
            client.set_flow_run_state(context.flow_run.id, Scheduled(name=RETRY_STATE_NAME),
                                      force=True)
        with pytest.raises(RuntimeError, match="cannot be suspended"):
            suspend_flow_run(key="script-1", timeout=60)
        with pytest.raises(Superseded, match="scheduled again"):
            suspend_at_gate(job_id, gate_input_class("script"), "script-1", 60)
        return "stepped aside"

    assert attempt_at_a_gate() == "stepped aside"
    assert runtime().store.job(job_id).status == before
