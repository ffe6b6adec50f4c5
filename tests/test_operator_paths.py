"""Operator paths on a served deployment: retry of a failed run, cancel at a gate, one live
run per job, and runs whose process dies."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run
from prefect.states import Scheduled

from flows.run_hooks import MAX_CRASH_RETRIES
from orchestration.crash_recovery import RETRY_STATE_NAME
from orchestration.gate_inputs import run_input_of
from orchestration.local_api import CERT_FILE_VARIABLE
from orchestration.runs import RunStillLive, api_client, trigger
from tasks.runtime import runtime
from tests.helpers import job_slots_held, jobs_limit, new_job, paused_at, wait_for
from tests.processes import has_variable
from tests.serving import Server
from tests.test_flow import ONE_VIDEO_CALLS
from videobot.decisions import Decision
from videobot.settings import get_settings

PREFECT = Path(sys.executable).with_name("prefect")


def _final_state(run_id: UUID, timeout: float = 180) -> str:
    def ended() -> str | None:
        with api_client() as client:
            state = client.read_flow_run(run_id).state
        return state.type.value if state and state.is_final() else None

    return wait_for(ended, timeout=timeout, what="the run to end")


def _state_type(run_id: UUID) -> str | None:
    with api_client() as client:
        state = client.read_flow_run(run_id).state
    return state.type.value if state else None


def _retry_from_the_cli(name: str, api_url: str) -> None:
    """`prefect flow-run retry <name>`, as an operator types it (the UI's Retry does the same)."""
    env = {**os.environ, "PREFECT_API_URL": api_url}
    done = subprocess.run(
        [str(PREFECT), "flow-run", "retry", name], env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _started_again(run_id: UUID, runs_before: int) -> bool:
    with api_client() as client:
        return client.read_flow_run(run_id).run_count > runs_before


def _narration_fault(job_id: UUID) -> Path:
    """A disk fault where the job's narrations go: a file in place of their folder."""
    audio_key = runtime().media.narration(job_id, "intro").parent.as_posix()
    audio = Path(runtime().files.locate(audio_key))
    audio.parent.mkdir(parents=True, exist_ok=True)
    audio.write_text("a file where the narration's folder should be")
    return audio


def test_a_failed_run_retried_carries_on_from_the_failed_stage(
    server: Server, prefect_server: str
) -> None:
    """A run that failed at the narration is retried by name; while the fault lasts the retry
    fails again and the job keeps its error; once it is gone the retry finishes the video
    without paying again for anything made before, and no task run is skipped as cached."""
    store = runtime().store
    job_id = new_job("How rainbows form")
    audio = _narration_fault(job_id)
    run = run_deployment(
        "make-video/make-video",
        parameters={"job_id": str(job_id), "auto_approve": True}, timeout=0,
    )
    assert _final_state(run.id) == "FAILED"
    failed = store.job(job_id)
    assert (failed.status, failed.stage) == ("failed", "narration")
    assert failed.error and "narration" in failed.error
    made_before = store.call_counts(job_id)
    name = failed.flow_run_name
    assert name == f"video-{str(job_id)[:8]}"

    with api_client() as client:
        runs = client.read_flow_run(run.id).run_count
    _retry_from_the_cli(name, prefect_server)
    wait_for(lambda: _started_again(run.id, runs), timeout=120, what="the retry to start")
    assert _final_state(run.id) == "FAILED", "the fault is still there"
    again = store.job(job_id)
    assert (again.status, again.error) == ("failed", failed.error)
    assert store.call_counts(job_id) == made_before

    audio.unlink()
    with api_client() as client:
        runs = client.read_flow_run(run.id).run_count
    _retry_from_the_cli(name, prefect_server)
    wait_for(lambda: _started_again(run.id, runs), timeout=120, what="the second retry")
    assert _final_state(run.id) == "COMPLETED"
    done = store.job(job_id)
    assert (done.status, done.error) == ("delivered", None)
    assert store.call_counts(job_id) == ONE_VIDEO_CALLS, "nothing made before was paid again"
    with api_client() as client:
        this_run = FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        tasks = client.read_task_runs(flow_run_filter=this_run)
    assert tasks and not [t.name for t in tasks if t.state and t.state.name == "Cached"]


def test_cancel_at_a_gate_ends_the_run_cancelled(server: Server) -> None:
    """The gate's cancel ends the job cancelled and its run Cancelled, as /cancel does."""
    store = runtime().store
    job_id = new_job("How owls see at night")
    run = run_deployment("make-video/make-video", parameters={"job_id": str(job_id)}, timeout=0)
    wait_for(paused_at(job_id, "script", 1), timeout=120, what="the script gate")
    resume_flow_run(run.id, run_input=run_input_of("script", Decision.make("cancel", "test")))
    assert _final_state(run.id) == "CANCELLED"
    assert store.job(job_id).status == "cancelled"
    assert store.call_counts(job_id) == {"script": 1}
    # Its process has sent its log by the time it exits: no "unexpected exception" in it.
    wait_for(lambda: server.children() == [], timeout=60, what="the run's process to exit")
    with api_client() as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
    assert [log.message for log in logs if log.level >= logging.ERROR] == []


def _cancel_from_the_cli(run_id: UUID, api_url: str) -> None:
    """`prefect flow-run cancel <id>`, as an operator types it (the UI's Cancel does the same)."""
    env = {**os.environ, "PREFECT_API_URL": api_url}
    done = subprocess.run(
        [str(PREFECT), "flow-run", "cancel", str(run_id)], env=env, capture_output=True,
        text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_working_run_cancelled_in_prefect_cancels_its_job(
    server: Server, prefect_server: str
) -> None:
    """Cancelled with the prefect CLI while its process runs (held, every job slot taken, as
    it waits for one): the run ends Cancelled and the job with it (the flow's cancellation
    hook), and it never pays for anything."""
    store = runtime().store
    wait_for(lambda: jobs_limit().active_slots == 0, timeout=60, what="no job slot held")
    with job_slots_held(jobs_limit().limit):
        job_id = new_job("How glaciers carve valleys")
        run = run_deployment(
            "make-video/make-video",
            parameters={"job_id": str(job_id), "auto_approve": True}, timeout=0,
        )
        wait_for(lambda: _state_type(run.id) == "RUNNING" and server.children() != [],
                 timeout=120, what="the run's process to wait for a job slot")
        _cancel_from_the_cli(run.id, prefect_server)
        assert _final_state(run.id) == "CANCELLED"
        wait_for(lambda: store.job(job_id).status == "cancelled", timeout=60,
                 what="the job to end with its run")
    wait_for(lambda: server.children() == [], timeout=60, what="the run's process to exit")
    assert store.call_counts(job_id) == {}


def test_the_cancellation_hook_ends_the_job_only_when_someone_cancelled_the_run() -> None:
    """Prefect's runner runs `on_cancellation` both for a run an operator cancelled (the run
    is Cancelling) and for its own runs as it shuts down (the run still Running): only the
    first ends the job, and only when the run is the job's own."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.states import Cancelling, Running

    from flows.run_hooks import stop_provider_tasks

    store = runtime().store
    for state, own, ends in ((Running(), True, False), (Cancelling(), False, False),
                             (Cancelling(), True, True)):
        job_id = new_job("How glaciers carve valleys")
        run = FlowRun(flow_id=uuid4(), state=state,
                      parameters={"job_id": str(job_id), "channel": "terminal"})
        # A run that is not the job's own (a refused duplicate) ends nothing either.
        store.update_job(job_id, status="running", stage="images",
                         flow_run_id=run.id if own else uuid4())
        stop_provider_tasks(None, run, Cancelling(message="Runner is shutting down."))
        job = store.job(job_id)
        assert (job.status, job.stage) == (("cancelled", "cancelled") if ends
                                           else ("running", "images"))


def test_a_waiting_run_cancelled_in_prefect_cancels_its_job_at_the_next_answer(
    server: Server, prefect_server: str
) -> None:
    """Cancelled with the prefect CLI while it waits at a gate (suspended: no process, so no
    hook runs): the next answer at that gate finds the run cancelled, ends the job cancelled
    and leaves the gate undecided, instead of reporting the answer taken."""
    from orchestration.gate_service import decide
    from videobot.db.bot_records import BotRecords

    store = runtime().store
    job_id = new_job("How owls turn their heads")
    run = run_deployment("make-video/make-video", parameters={"job_id": str(job_id)}, timeout=0)
    wait_for(paused_at(job_id, "script", 1), timeout=120, what="the script gate")
    _cancel_from_the_cli(run.id, prefect_server)
    assert _final_state(run.id) == "CANCELLED"
    outcome = decide(store, BotRecords(store.db), job_id, "script", 1,
                     Decision.make("approve", "test"))
    assert (outcome.kind, outcome.done) == ("ended", False)
    assert (store.job(job_id).status, store.decision(job_id, "script", 1)) == ("cancelled", None)


def test_a_rerun_of_a_job_with_a_live_run_is_refused(server: Server) -> None:
    """`rerun-stage` on a job whose run waits at a gate fails at once, naming that run, and
    changes nothing: no second live run pays for the same scenes."""
    store = runtime().store
    job_id = new_job("How geckos climb walls")
    run = run_deployment("make-video/make-video", parameters={"job_id": str(job_id)}, timeout=0)
    wait_for(paused_at(job_id, "script", 1), timeout=120, what="the script gate")
    before = (store.job(job_id).script_main, store.call_counts(job_id), store.stages_done(job_id))

    rerun = run_deployment(
        "rerun-stage/rerun-stage", parameters={"job_id": str(job_id), "stage": "script"},
        timeout=0,
    )
    assert _final_state(rerun.id) == "FAILED"
    with api_client() as client:
        message = client.read_flow_run(rerun.id).state.message
    assert f"video-{str(job_id)[:8]}" in message
    after = (store.job(job_id).script_main, store.call_counts(job_id), store.stages_done(job_id))
    assert after == before
    assert paused_at(job_id, "script", 1)()
    resume_flow_run(run.id, run_input=run_input_of("script", Decision.make("cancel", "test")))
    assert _final_state(run.id) == "CANCELLED"


def test_a_run_for_a_malformed_job_id_is_refused_before_it_exists(server: Server) -> None:
    """`make-video` with job_id=not-a-uuid is refused by the Prefect API: no run is created."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    def runs() -> int:
        with api_client() as client:
            named = DeploymentFilter(name=DeploymentFilterName(any_=["make-video"]))
            return len(client.read_flow_runs(deployment_filter=named))

    before = runs()
    with pytest.raises(Exception, match="not-a-uuid"):
        run_deployment("make-video/make-video", parameters={"job_id": "not-a-uuid"}, timeout=0)
    assert runs() == before


def test_a_run_whose_process_is_killed_is_retried_and_finishes(server: Server) -> None:
    """kill -9 of the flow-run process while the clips are made: the serving process marks
    the run Crashed, an automation schedules it again, and the job is delivered with exactly the
    calls of one video in the ledger; the person is told it carried on."""
    store = runtime().store
    job_id = new_job("How volcanoes form islands")
    run = run_deployment(
        "make-video/make-video",
        parameters={"job_id": str(job_id), "auto_approve": True}, timeout=0,
    )
    children = wait_for(lambda: store.job(job_id).stage == "clips"
                        and server.run_processes(run.id),
                        timeout=180, what="the clips to be in progress")
    # The API is plain HTTP on this machine: the process loads no certificate bundle
    # (orchestration.local_api).
    assert any(has_variable(int(pid), CERT_FILE_VARIABLE) for pid in children)
    for pid in server.run_processes(run.id):
        os.kill(int(pid), signal.SIGKILL)
    wait_for(lambda: store.job(job_id).status == "delivered", timeout=300, what="delivery")
    assert _final_state(run.id) == "COMPLETED"
    assert store.call_counts(job_id) == ONE_VIDEO_CALLS
    with api_client() as client:
        states = client.read_flow_run_states(run.id)
    assert [s.name for s in states if s.type.value in ("CRASHED", "SCHEDULED")][-2:] == [
        "Crashed", RETRY_STATE_NAME]  # marked Crashed, then scheduled again by the automation
    assert "carries on where it was" in server.log.read_text(errors="replace")


def test_make_video_for_a_job_with_a_live_run_is_refused(server: Server) -> None:
    """Starting `make-video` again (as the bot and the CLI do) for a job whose run waits at a
    gate is refused with that run's name: no second run is created and the job is unchanged."""
    store = runtime().store
    job_id = new_job("How bees find flowers")
    first = trigger(store, get_settings(), job_id, channel="terminal")
    wait_for(paused_at(job_id, "script", 1), timeout=120, what="the script gate")
    before = (store.job(job_id).flow_run_id, store.call_counts(job_id), _runs_of(job_id))

    with pytest.raises(RunStillLive) as refused:
        trigger(store, get_settings(), job_id, channel="terminal")
    assert refused.value.run == first.name == f"video-{str(job_id)[:8]}"
    assert (store.job(job_id).flow_run_id, store.call_counts(job_id), _runs_of(job_id)) == before
    resume_flow_run(first.id, run_input=run_input_of("script", Decision.make("cancel", "test")))
    assert _final_state(first.id) == "CANCELLED"


def _runs_of(job_id: UUID) -> int:
    """How many `make-video` runs were created for the job."""
    from prefect.client.schemas.filters import FlowRunFilterName

    with api_client() as client:
        named = FlowRunFilter(name=FlowRunFilterName(any_=[f"video-{str(job_id)[:8]}"]))
        return len(client.read_flow_runs(flow_run_filter=named))


def test_a_run_whose_process_keeps_dying_fails_its_job(server: Server) -> None:
    """kill -9 of the flow-run process each time the run starts: it is scheduled again three
    times; after the fourth crash the run ends Failed, the job failed with the reason, and
    the person is told."""
    store = runtime().store
    job_id = new_job("How comets get their tails")
    run = run_deployment("make-video/make-video",
                         parameters={"job_id": str(job_id), "auto_approve": True}, timeout=0)

    killed: set[str] = set()

    def new_process() -> list[str]:
        """The run's flow-run process, once it runs again in a process not killed yet."""
        with api_client() as client:
            state = client.read_flow_run(run.id).state
        if state is None or not state.is_running():
            return []
        return [pid for pid in server.run_processes(run.id) if pid not in killed]

    for _ in range(MAX_CRASH_RETRIES + 1):
        for pid in wait_for(new_process, timeout=120, what="the run's process"):
            os.kill(int(pid), signal.SIGKILL)
            killed.add(pid)
    # Crashed is final too, but only until the automation schedules the run again.
    wait_for(lambda: _state_type(run.id) == "FAILED", timeout=180, what="the run to fail")
    job = store.job(job_id)
    assert job.status == "failed" and "died 4 times" in (job.error or "")
    assert "died 4 times" in server.log.read_text(errors="replace")


def test_a_gate_left_without_a_decision_waits_again(server: Server) -> None:
    """A run suspended at the script gate whose state is forced to Scheduled with no input (as
    the lost-run automation does when the server reads a heartbeat only after the suspension,
    or an operator changing the state in the UI): Prefect's suspend_flow_run then loads an
    empty form, which the gate's form refuses. The gate waits again on its next form instead
    of failing the run, and a decision on that form is taken."""
    store = runtime().store
    job_id = new_job("How whales sing")
    run = trigger(store, get_settings(), job_id, channel="terminal")
    wait_for(paused_at(job_id, "script", 1), timeout=120, what="the script gate")
    made = store.call_counts(job_id)
    with api_client() as client:
        client.set_flow_run_state(run.id, Scheduled(name=RETRY_STATE_NAME), force=True)

    def waiting_again() -> bool:
        with api_client() as client:
            state = client.read_flow_run(run.id).state
        return bool(state and state.is_paused()
                    and state.state_details.pause_key == "script-1-again-1")

    wait_for(waiting_again, timeout=120, what="the gate to wait again")
    assert paused_at(job_id, "script", 1)() and store.job(job_id).status == "waiting"
    assert "left without a decision" in server.log.read_text(errors="replace")
    assert store.call_counts(job_id) == made  # the script is not written again
    resume_flow_run(run.id, run_input=run_input_of("script", Decision.make("cancel", "test")))
    assert _final_state(run.id) == "CANCELLED"


def test_an_ended_run_scheduled_again_as_lost_ends_as_its_job_did(server: Server) -> None:
    """A failed run put back on the schedule as a lost one (the lost-run automation does so
    when the server reads the run's last heartbeat only after its end) ends Failed again at
    once: the job keeps its error and is not retried, although the fault is gone; nothing is
    paid."""
    store = runtime().store
    job_id = new_job("How glaciers move")
    fault = _narration_fault(job_id)
    run = run_deployment("make-video/make-video",
                         parameters={"job_id": str(job_id), "auto_approve": True}, timeout=0)
    assert _final_state(run.id) == "FAILED"
    failed, made = store.job(job_id), store.call_counts(job_id)
    fault.unlink()
    with api_client() as client:
        runs = client.read_flow_run(run.id).run_count
        client.set_flow_run_state(run.id, Scheduled(name=RETRY_STATE_NAME), force=True)
    wait_for(lambda: _started_again(run.id, runs), timeout=120, what="the run to start again")
    assert _final_state(run.id) == "FAILED"
    again = store.job(job_id)
    assert (again.status, again.stage, again.error) == ("failed", "narration", failed.error)
    assert store.call_counts(job_id) == made
    assert "had already ended (failed)" in server.log.read_text(errors="replace")
