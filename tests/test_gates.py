"""Approval gates: a paused run, decisions from outside, redo of single scenes, replay."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.exceptions import CancelledRun, FailedRun
from prefect.flow_runs import resume_flow_run

from flows.make_video import make_video
from orchestration.gate_inputs import run_input_of
from orchestration.runs import api_client
from tasks.runtime import runtime
from tests.helpers import new_job, paused_at, start_flow, wait_for
from videobot.decisions import Decision


def _resume(job_id: Any, decision: Decision | dict[str, Any]) -> None:
    stage = runtime().store.waiting_gate(job_id).stage
    run_input = run_input_of(stage, decision) if isinstance(decision, Decision) else decision
    resume_flow_run(runtime().store.job(job_id).flow_run_id, run_input=run_input)


def test_redo_two_scenes_costs_two_calls_and_empty_resume_is_refused(
    prefect_server: str,
) -> None:
    """At the images gate an empty resume is refused; a redo of {2, 7} makes two images."""
    store = runtime().store
    job_id = new_job("How bees make honey")
    thread, outcome = start_flow(job_id)

    wait_for(paused_at(job_id, "script", 1), what="the script gate")
    _resume(job_id, Decision.make("approve", "test"))
    wait_for(paused_at(job_id, "images", 1), what="the images gate")
    assert store.call_counts(job_id)["images"] == 10
    first_paths = [s.image_path for s in store.segments(job_id)]

    with pytest.raises(RuntimeError, match="Cannot resume"):
        _resume(job_id, {})
    with pytest.raises(RuntimeError, match="Cannot resume"):
        _resume(job_id, {"action": "regenerate", "feedback": "brighter"})
    with api_client() as client:
        assert client.read_flow_run(store.job(job_id).flow_run_id).state.is_paused()
    assert store.waiting_gate(job_id).stage == "images"

    _resume(job_id, Decision.make("redo", "test", scenes=[2, 7]))
    wait_for(paused_at(job_id, "images", 2), what="the images gate, round 2")
    assert store.call_counts(job_id)["images"] == 12
    redone = [s.index for s in store.segments(job_id) if s.image_round == 2]
    assert redone == [1, 6]
    new_paths = [s.image_path for s in store.segments(job_id)]
    assert [i for i in range(10) if new_paths[i] != first_paths[i]] == [1, 6]

    _resume(job_id, Decision.make("cancel", "test"))
    thread.join(60)
    assert isinstance(outcome.get("error"), CancelledRun), "a cancel ends the run Cancelled"
    assert store.job(job_id).status == "cancelled"
    decisions = [(a.stage, a.attempt, a.decision) for a in store.approvals(job_id)]
    assert decisions == [("script", 1, "approve"), ("images", 1, "redo"), ("images", 2, "cancel")]

    calls = len(store.calls(job_id))
    with pytest.raises(CancelledRun):
        make_video(job_id, "terminal", False)
    assert len(store.calls(job_id)) == calls, "a half-finished job replays with no new calls"


def test_edit_a_scene_prompt_remakes_that_scene(prefect_server: str) -> None:
    """Editing scene 4's prompt stores the prompt and makes only scene 4 again."""
    store = runtime().store
    job_id = new_job("How tides work")
    thread, outcome = start_flow(job_id)
    wait_for(paused_at(job_id, "script", 1), what="the script gate")
    _resume(job_id, Decision.make("edit", "test", part="outro", text="Thanks for watching."))
    wait_for(paused_at(job_id, "script", 2), what="the edited script")
    assert store.job(job_id).script_outro == "Thanks for watching."
    assert store.call_counts(job_id)["script"] == 1
    _resume(job_id, Decision.make("approve", "test"))
    wait_for(paused_at(job_id, "images", 1), what="the images gate")
    _resume(job_id, Decision.make("edit", "test", scene=4, text="A lighthouse at night"))
    wait_for(paused_at(job_id, "images", 2), what="the images gate, round 2")
    segment = store.segments(job_id)[3]
    assert (segment.image_prompt, segment.image_round) == ("A lighthouse at night", 2)
    assert store.call_counts(job_id)["images"] == 11
    _resume(job_id, Decision.make("cancel", "test"))
    thread.join(60)
    assert isinstance(outcome.get("error"), CancelledRun), "a cancel ends the run Cancelled"


def _saved_form(job_id: Any) -> tuple[dict[str, Any], str] | None:
    """The waiting run's resume form as the Prefect UI reads it: its schema and description.
    None while the pause has no form yet: Prefect records a paused state before it saves the
    form (as `orchestration.runs.resume` says)."""
    import json

    from prefect.exceptions import PrefectHTTPStatusError

    run_id = runtime().store.job(job_id).flow_run_id
    with api_client() as client:
        state = client.read_flow_run(run_id).state
        keyset = state.state_details.run_input_keyset
        try:
            schema = json.loads(client.read_flow_run_input(run_id, keyset["schema"]))
            description = json.loads(client.read_flow_run_input(run_id, keyset["description"]))
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code == 404:
                return None
            raise
    return schema, description


def _form(job_id: Any) -> tuple[dict[str, Any], str]:
    return wait_for(lambda: _saved_form(job_id), what="the gate's form saved")


def test_each_gate_has_its_own_form_and_a_refusal_is_told_on_it(prefect_server: str) -> None:
    """The script form has only script fields and names its gate, round and what approving
    starts; the images form only scene fields. A redo without scenes passes the form but not
    the rules: the gate waits again, and its form says why."""
    job_id = new_job("How glow-worms glow")
    thread, outcome = start_flow(job_id)
    wait_for(paused_at(job_id, "script", 1), what="the script gate")
    schema, description = _form(job_id)
    assert set(schema["properties"]) == {"action", "feedback", "part", "text", "decided_by"}
    assert schema["required"] == ["action"]
    assert "Script gate, round 1" in description and "draws their images" in description

    _resume(job_id, Decision.make("approve", "test"))
    wait_for(paused_at(job_id, "images", 1), what="the images gate")
    schema, description = _form(job_id)
    assert set(schema["properties"]) == {"action", "scenes", "scene", "text", "decided_by"}
    assert "refused" not in description

    run_id = runtime().store.job(job_id).flow_run_id
    resume_flow_run(run_id, run_input={"action": "redo"})

    def refused_form() -> str | None:
        if not paused_at(job_id, "images", 1)():
            return None
        form = _saved_form(job_id)
        return form[1] if form is not None and "refused" in form[1] else None

    description = wait_for(refused_form, what="the gate to wait again")
    assert "redo needs at least one scene number" in description
    assert runtime().store.decision(job_id, "images", 1) is None

    _resume(job_id, Decision.make("cancel", "test"))
    thread.join(60)
    assert isinstance(outcome.get("error"), CancelledRun)


def test_a_gate_unanswered_past_the_timeout_expires_the_job_and_says_so(
    prefect_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run paused in place (it has no deployment to be suspended by) past
    APPROVAL_TIMEOUT_HOURS: the job expires, the run ends, and the person is told as the
    cleanup's expiry tells them."""
    monkeypatch.setattr(runtime().settings, "approval_timeout_hours", 2 / 3600)
    job_id = new_job("How tides work")
    thread, outcome = start_flow(job_id)
    thread.join(120)
    # Prefect's orchestration rules let a pause past its timeout end only Failed, "never
    # resumed", whatever the flow returns (here Cancelled).
    failed = outcome.get("error")
    assert not thread.is_alive() and isinstance(failed, FailedRun)
    assert "cancelled and never resumed" in str(failed)
    job = runtime().store.job(job_id)
    assert (job.status, job.error) == ("expired", "no decision arrived within 0.000555556 hours")
    told = capsys.readouterr().out
    assert f"[{str(job_id)[:8]}] No decision arrived within 0.000555556 hours" in told
