"""Served deployments: suspended gates that survive a restart, and a stage rerun."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast
from uuid import UUID

import pytest
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.deployments import run_deployment
from prefect.flow_runs import resume_flow_run
from prefect.states import Scheduled

from orchestration.crash_recovery import RETRY_STATE_NAME, crash_recovery_automations
from orchestration.gate_inputs import gate_input_class, run_input_of
from orchestration.runs import api_client, cancel_run, resume, run_name, trigger
from tasks.runtime import runtime
from tests.helpers import new_job, paused_at, wait_for
from tests.serving import Server
from tests.test_flow import ONE_VIDEO_CALLS
from videobot.decisions import Decision
from videobot.settings import get_settings

if TYPE_CHECKING:
    from prefect.input.run_input import Keyset


def _stored(key: str | None) -> Path:
    """The file of a stored medium (the tests' store is the local folder)."""
    return Path(runtime().files.locate(key or ""))


def _decide(job_id: UUID, stage: str, decision: Decision) -> None:
    resume_flow_run(runtime().store.job(job_id).flow_run_id,
                    run_input=run_input_of(stage, decision))


def _approve_when_waiting(job_id: UUID, stage: str, attempt: int = 1) -> None:
    wait_for(paused_at(job_id, stage, attempt), timeout=120, what=f"the {stage} gate")
    _decide(job_id, stage, Decision.make("approve", "test"))


def _delivered(job_id: UUID) -> bool:
    return runtime().store.job(job_id).status == "delivered"


@pytest.fixture(scope="module")
def delivered_job(server: Server) -> UUID:
    """A deployed job taken through a restart of the serving process while suspended."""
    store = runtime().store
    job_id = new_job("How lighthouses work")
    run_deployment("make-video/make-video", parameters={"job_id": str(job_id)}, timeout=0)
    _approve_when_waiting(job_id, "script")
    wait_for(paused_at(job_id, "images", 1), timeout=120, what="the images gate")
    with api_client() as client:
        state = client.read_flow_run(store.job(job_id).flow_run_id).state
    assert state is not None and state.name == "Suspended"
    # The suspended run's process exits once its state is recorded: no process per waiting run.
    wait_for(lambda: server.children() == [], timeout=30, what="the run's process to exit")
    calls_at_gate = len(store.calls(job_id))

    server.kill()
    server.start()
    _decide(job_id, "images", Decision.make("approve", "test"))
    _approve_when_waiting(job_id, "clips")
    wait_for(lambda: _delivered(job_id), timeout=180, what="delivery")
    assert calls_at_gate == 1 + 1 + 10
    return job_id


def test_suspended_run_survives_a_restart_without_repeating_calls(delivered_job: UUID) -> None:
    """After a kill and restart of the serving process, the run finishes; no call repeats."""
    store = runtime().store
    assert store.call_counts(delivered_job) == ONE_VIDEO_CALLS
    assert len(store.calls(delivered_job)) == sum(ONE_VIDEO_CALLS.values())
    assert runtime().files.exists(store.job(delivered_job).final_path or "")


def test_a_delivered_jobs_run_is_not_put_back_on_the_schedule_as_lost(
    delivered_job: UUID,
) -> None:
    """The lost-run automation's change of state is not forced, and Prefect refuses Scheduled
    to a run Completed with its result persisted: a window that closes after the run's end
    (its Completed event held back by the server's event ordering after a restart) does not
    start the delivered job's run again."""
    [zombie, crashed] = crash_recovery_automations(45)
    assert [a.force for a in zombie.actions] == [False]
    assert [a.force for a in crashed.actions] == [True]
    run_id = runtime().store.job(delivered_job).flow_run_id
    assert run_id is not None
    with api_client() as client:
        wait_for(lambda: client.read_flow_run(run_id).state_type == StateType.COMPLETED,
                 timeout=60, what="the run to complete")
        answer = client.set_flow_run_state(run_id, Scheduled(name=RETRY_STATE_NAME))
        assert answer.status == SetStateStatus.REJECT, answer
        assert client.read_flow_run(run_id).state_type == StateType.COMPLETED


def test_rerun_clips_of_one_scene(delivered_job: UUID) -> None:
    """`rerun-stage` for the clip of scene 3 makes one clip and one new video, nothing else: in
    the gate's next round (a new file), with the delivered video kept until the new one
    exists."""
    store = runtime().store
    before = {s.index: s.video_path for s in store.segments(delivered_job)}
    final = _stored(store.job(delivered_job).final_path)
    calls_before = store.call_counts(delivered_job)

    run_deployment(
        "rerun-stage/rerun-stage",
        parameters={"job_id": str(delivered_job), "stage": "clips", "segments": [3]}, timeout=0,
    )
    wait_for(lambda: store.job(delivered_job).status != "delivered", timeout=60, what="rerun")
    wait_for(paused_at(delivered_job, "clips", 2), timeout=120, what="the clips gate, round 2")
    assert final.is_file(), "the delivered video stays while its replacement is being made"
    _decide(delivered_job, "clips", Decision.make("approve", "test"))
    wait_for(lambda: _delivered(delivered_job), timeout=180, what="the new video")

    after = {s.index: s.video_path for s in store.segments(delivered_job)}
    assert [i for i in range(10) if after[i] != before[i]] == [2]
    assert Path(after[2] or "").name == "scene-03-r2.mp4"
    assert store.call_counts(delivered_job) == {**calls_before, "clips": calls_before["clips"] + 1}
    new_final = _stored(store.job(delivered_job).final_path)
    assert new_final.is_file() and new_final != final and not final.exists()


def test_a_run_suspended_without_its_input_form_is_still_resumed(server: Server) -> None:
    """Prefect records the Suspended state first and the input form second; a process that
    ends (or lags) between the two leaves a run whose resume is refused ("Run input schema
    not found"). After waiting for the form, the resumer puts the decision on the gate row
    and resumes the run without input; the run takes the decision from the row. A form saved
    late by the run's own process is still accepted, so a lagging run does not fail."""
    store = runtime().store
    job_id = new_job("How glaciers move")
    run_deployment("make-video/make-video", parameters={"job_id": str(job_id)}, timeout=0)
    wait_for(paused_at(job_id, "script", 1), timeout=120, what="the script gate")
    run_id = store.job(job_id).flow_run_id
    assert run_id is not None
    with api_client() as client:
        state = client.read_flow_run(run_id).state
        assert state is not None and state.state_details.run_input_keyset is not None
        keyset = state.state_details.run_input_keyset
        client.delete_flow_run_input(run_id, keyset["schema"])
        with pytest.raises(RuntimeError, match="schema not found"):
            resume_flow_run(run_id, run_input=run_input_of("script", Decision.make("approve", "t")))
        with pytest.raises(RuntimeError, match="schema not found"):
            resume_flow_run(run_id)  # even with no input at all

    assert resume(store, job_id, "script", 1, Decision.make("cancel", "test"), within=1.0)
    gate_input_class("script").save(cast("Keyset", keyset), flow_run_id=run_id)  # a late save
    wait_for(lambda: store.job(job_id).status == "cancelled", timeout=120, what="the cancel")
    decision = store.decision(job_id, "script", 1)
    assert decision is not None and decision.action == "cancel"


def test_a_triggered_run_is_named_for_its_job_from_creation(server: Server) -> None:
    """A run created from the deployment is `video-<job>` before any process starts it, and
    the job records it."""
    store = runtime().store
    job_id = new_job("How kites fly")
    run = trigger(store, get_settings(), job_id, channel="terminal")
    assert run.name == run_name(job_id) == f"video-{str(job_id)[:8]}"
    job = store.job(job_id)
    assert (job.flow_run_id, job.flow_run_name) == (run.id, run.name)
    cancel_run(run.id, reason="test")
    with api_client() as client:
        ended = client.read_flow_run(run.id)
    assert ended.name == run.name and ended.state is not None and ended.state.is_final()
