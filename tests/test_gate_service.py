"""The gate service: a closed gate or a refused decision changes nothing, a failed resume
reopens the gate, and an answer given before the run pauses is still taken."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from orchestration import runs
from orchestration.gate_inputs import gate_input_class, run_input_of
from orchestration.gate_service import decide
from tasks.runtime import runtime
from tests.helpers import job_slots_held, jobs_limit, new_job, paused_at, start_flow, wait_for
from videobot.channels import TerminalChannel, register_channel
from videobot.db.bot_records import BotRecords
from videobot.db.engine import Database
from videobot.db.models import VideoJob
from videobot.db.store import JobStore
from videobot.decisions import Decision
from videobot.providers.base import ScriptRequest
from videobot.providers.offline.script_writer import OfflineScriptWriter
from videobot.script import Script

GATE_DECISIONS = [
    ("script", Decision.make("approve", "t")),
    ("script", Decision.make("regenerate", "t", feedback="shorter")),
    ("script", Decision.make("edit", "t", part="outro", text="Thanks for watching.")),
    ("script", Decision.make("cancel", "t")),
    ("images", Decision.make("redo", "t", scenes=[2, 7])),
    ("images", Decision.make("edit", "t", scene=4, text="A lighthouse at night")),
    ("clips", Decision.make("approve", "t")),
    ("clips", Decision.make("edit", "t", scene=3, text="slow push in")),
]


def test_the_clips_form_speaks_of_motion() -> None:
    """At the clips gate an edit replaces a scene's motion prompt, and the UI form says so."""
    schema = gate_input_class("clips").model_json_schema()["properties"]
    assert "motion" in schema["action"]["description"]
    assert "motion" in schema["text"]["description"]
    assert "prompt" in gate_input_class("images").model_json_schema()["properties"]["text"][
        "description"]


@pytest.mark.parametrize(("stage", "decision"), GATE_DECISIONS)
def test_resume_payloads_fit_their_gate_form(stage: str, decision: Decision) -> None:
    """What a resume sends validates against that gate's form and reads back as the same
    decision; the form's JSON schema (what the server checks) accepts it too."""
    form = gate_input_class(stage)
    payload = run_input_of(stage, decision)
    assert form.model_validate(payload).to_decision() == decision
    jsonschema.validate(payload, form.model_json_schema())
    assert set(payload) <= set(form.model_fields)


@pytest.fixture
def gates(database_url: str) -> Iterator[tuple[JobStore, BotRecords]]:
    db = Database(database_url)
    db.migrate()
    yield JobStore(db), BotRecords(db)
    db.dispose()


def _waiting(store: JobStore, stage: str, attempt: int = 1, *, run: bool = True) -> uuid.UUID:
    """A planned job (ten scenes, no media yet) waiting at gate `stage-attempt`."""
    job = store.create_job(user_id="t", prompt="How tides work", language="en", fmt="16:9")
    writer = OfflineScriptWriter()
    script, _ = writer.write_script(ScriptRequest("How tides work", "en"))
    store.save_script(job.id, script, 1)
    store.save_plan(job.id, writer.plan_segments(script, "en")[0])
    if run:
        store.update_job(job.id, flow_run_id=uuid.uuid4())
    store.open_gate(job.id, stage, attempt)
    return job.id


def _state(store: JobStore, job_id: uuid.UUID) -> tuple[Any, ...]:
    job = store.job(job_id)
    gates = [(a.stage, a.attempt, a.decision, a.decided_by) for a in store.approvals(job_id)]
    return job.status, job.stage, gates


@pytest.mark.parametrize(
    ("stage", "decision", "code", "values"),
    [
        ("script", Decision.make("redo", "t", scenes=[1]), "invalid", {}),
        ("clips", Decision.make("edit", "t", text="slower"), "invalid", {}),
        ("script", Decision.make("edit", "t", part="intro", text="word " * 200),
         "edit_too_long", {"part": "intro", "words": 200}),
        ("images", Decision.make("approve", "t"), "approve_blocked",
         {"scenes": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10"}),
        ("clips", Decision.make("approve", "t"), "approve_blocked", {"stage": "clips"}),
        ("script", Decision.make("edit", "t", part="style", text="---\n;"), "style_empty", {}),
    ],
)
def test_a_refused_decision_changes_nothing(
    gates: tuple[JobStore, BotRecords],
    stage: str,
    decision: Decision,
    code: str,
    values: dict[str, Any],
) -> None:
    """A decision the rules refuse comes back with the refusal; the gate stays open."""
    store, records = gates
    job_id = _waiting(store, stage)
    before = _state(store, job_id)
    outcome = decide(store, records, job_id, stage, 1, decision)
    assert (outcome.kind, outcome.done) == ("refused", False)
    assert outcome.refusal is not None and outcome.refusal.code == code
    assert values.items() <= outcome.refusal.values.items()
    assert _state(store, job_id) == before


def test_a_closed_gate_changes_nothing(gates: tuple[JobStore, BotRecords]) -> None:
    """Another gate, a later round, a decided gate and a job without a run are all closed."""
    store, records = gates
    approve = Decision.make("approve", "t")
    waiting = _waiting(store, "script")
    before = _state(store, waiting)
    assert decide(store, records, waiting, "images", 1, approve).kind == "closed"
    assert decide(store, records, waiting, "script", 2, approve).kind == "closed"
    assert _state(store, waiting) == before

    decided = _waiting(store, "script")
    cancel = Decision.make("cancel", "someone else")
    assert records.claim_decision(decided, "script", 1, cancel) is not None
    before = _state(store, decided)
    assert decide(store, records, decided, "script", 1, approve).kind == "closed"
    assert _state(store, decided) == before and store.decision(decided, "script", 1) == cancel

    runless = _waiting(store, "script", run=False)
    before = _state(store, runless)
    assert decide(store, records, runless, "script", 1, approve).kind == "closed"
    assert _state(store, runless) == before


def test_a_failed_resume_reopens_the_gate(
    prefect_server: str, gates: tuple[JobStore, BotRecords]
) -> None:
    """When Prefect cannot resume the run (here: no such run), the claim is given back."""
    store, records = gates
    job_id = _waiting(store, "script")
    before = _state(store, job_id)
    outcome = decide(store, records, job_id, "script", 1, Decision.make("approve", "t"))
    assert (outcome.kind, outcome.done) == ("resume_failed", False)
    assert outcome.error is not None
    assert _state(store, job_id) == before


SHOWING_SECONDS = 1.5


@pytest.fixture
def slow_to_show() -> Iterator[threading.Event]:
    """The terminal channel, taking its time to show the script: set while it does, so the
    gate is open and its run not paused yet."""
    showing = threading.Event()

    class SlowToShow(TerminalChannel):
        def show_script(self, job: VideoJob, script: Script, attempt: int) -> None:
            showing.set()
            time.sleep(SHOWING_SECONDS)
            super().show_script(job, script, attempt)

    register_channel("terminal", SlowToShow)
    yield showing
    register_channel("terminal", TerminalChannel)


def _ended_cancelled(outcome: dict[str, Any]) -> bool:
    """The flow ended as a cancelled run does (a Cancelled state, or an empty result)."""
    from prefect.exceptions import CancelledRun

    error = outcome.get("error")
    return isinstance(error, CancelledRun) if error is not None else outcome == {"result": ""}


def test_a_resume_before_the_pause_waits_for_it(
    prefect_server: str, slow_to_show: threading.Event
) -> None:
    """Resuming a run that is still showing its gate waits until it pauses, then resumes it."""
    store = runtime().store
    job_id = new_job("How kites fly")
    thread, outcome = start_flow(job_id)
    assert slow_to_show.wait(120), "the script gate was never shown"
    run_id = store.job(job_id).flow_run_id
    assert run_id is not None and not runs.run_waits(run_id)

    assert runs.resume(store, job_id, "script", 1, Decision.make("cancel", "early")) is True
    thread.join(60)
    assert _ended_cancelled(outcome)
    assert store.job(job_id).status == "cancelled"
    assert store.decision(job_id, "script", 1) == Decision.make("cancel", "early")


def test_an_answer_while_the_gate_is_shown_is_taken(
    prefect_server: str, slow_to_show: threading.Event
) -> None:
    """A terminal answer given before the run pauses is claimed, and the run takes it."""
    store = runtime().store
    job_id = new_job("How sails work")
    thread, outcome = start_flow(job_id)
    assert slow_to_show.wait(120), "the script gate was never shown"
    wait_for(lambda: store.waiting_gate(job_id), timeout=10, what="the open script gate")

    cancel = Decision.make("cancel", "terminal")
    result = decide(store, BotRecords(store.db), job_id, "script", 1, cancel)
    assert result.done and result.kind in ("resumed", "recorded")
    thread.join(60)
    assert _ended_cancelled(outcome)
    assert store.job(job_id).status == "cancelled"
    assert store.decision(job_id, "script", 1) == cancel


def test_an_approved_run_shows_its_place_in_the_queue_until_it_works_again(
    prefect_server: str,
) -> None:
    """Once resumed, the job is queued for a working slot (where a run without a process on a
    full pool waits), not shown waiting for the person who just answered; with a slot it
    works on to the next gate."""
    store = runtime().store
    job_id = new_job("How gears turn")
    thread, outcome = start_flow(job_id)
    wait_for(paused_at(job_id, "script", 1), timeout=120, what="the script gate")
    with job_slots_held(jobs_limit().limit):
        approve = Decision.make("approve", "terminal")
        assert decide(store, BotRecords(store.db), job_id, "script", 1, approve).kind == "resumed"
        assert store.job(job_id).status == "queued"
        assert store.queue_position(job_id) is not None
    wait_for(paused_at(job_id, "images", 1), timeout=300, what="the images gate")
    assert store.job(job_id).status == "waiting"
    cancel = Decision.make("cancel", "terminal")
    assert decide(store, BotRecords(store.db), job_id, "images", 1, cancel).done
    thread.join(60)
    assert _ended_cancelled(outcome)


@pytest.mark.parametrize(("end", "job_after"), [
    ("failed", "waiting"),  # its pause timed out: the cleanup expires the job and says so
    ("expired", "waiting"),  # cancelled by the cleanup's expiry, which ends the job itself
    ("cancelled", "cancelled"),  # cancelled by someone in Prefect: the job ends with it
])
def test_an_answer_to_a_run_that_ended_while_its_job_waited_is_not_taken(
    prefect_server: str, end: str, job_after: str
) -> None:
    """The gate keeps no decision no run will act on, and the answer is not reported taken."""
    from datetime import timedelta

    from prefect.states import Cancelled, Failed

    from flows.make_video import make_video
    from orchestration.runs import api_client
    from videobot.db.maintenance import expiry_reason

    store = runtime().store
    job_id = _waiting(store, "script", run=False)
    state = {"failed": Failed(message="The flow was paused and never resumed."),
             "expired": Cancelled(message=expiry_reason(timedelta(hours=48))),
             "cancelled": Cancelled(message="Flow run was cancelled.")}[end]
    with api_client() as client:
        run = client.create_flow_run(make_video, parameters={"job_id": str(job_id)})
        client.set_flow_run_state(run.id, state, force=True)
    store.update_job(job_id, flow_run_id=run.id)
    outcome = decide(store, BotRecords(store.db), job_id, "script", 1,
                     Decision.make("approve", "t"))
    assert (outcome.kind, outcome.done) == ("ended", False)
    assert store.decision(job_id, "script", 1) is None
    assert store.job(job_id).status == job_after
