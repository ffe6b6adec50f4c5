"""Trigger, resume and cancel `make-video` runs on the Prefect API this process is set to.

Each function is one blocking exchange with Prefect (the bot calls them off its event loop).
Runs are named `video-<job>` from the moment they are created, so the bot, the CLI and the
Prefect UI show the same name throughout.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.responses import SetStateStatus
from prefect.exceptions import NotPausedError
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings
from prefect.states import Cancelled, Cancelling, Running, Scheduled, State
from prefect.utilities.urls import url_for

from orchestration.gate_inputs import run_input_of
from orchestration.local_api import client_settings
from videobot.db.models import FINISHED_STATUSES, JobStatus
from videobot.db.store import JobStore
from videobot.decisions import Decision
from videobot.naming import job_tags, short_id
from videobot.settings import Settings

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun

DEPLOYMENT = "make-video/make-video"
# Prefect's refusal of a resume whose input form is not saved (yet).
FORM_MISSING = "schema not found"
# How long a run whose job has ended may take to end too (see `live_run`).
ENDING_RUN_SECONDS = 30.0

log = logging.getLogger(__name__)


def run_name(job_id: UUID) -> str:
    """The name of a job's `make-video` run."""
    return f"video-{short_id(job_id)}"


def run_ui_url(api_url: str, flow_run_id: UUID) -> str | None:
    """The run's page in the Prefect UI: under PREFECT_UI_URL when set, else beside the API
    (its URL without /api), as Prefect itself links runs."""
    with temporary_settings({PREFECT_API_URL: api_url}):
        return url_for("flow-run", obj_id=flow_run_id)


def trigger(
    store: JobStore,
    settings: Settings,
    job_id: UUID,
    *,
    channel: str,
    auto_approve: bool = False,
) -> FlowRun:
    """Queue a run of the served `make-video` deployment for the job and record it on the job;
    returns once the run exists (a worker slot may take longer). `RunStillLive` when another
    run works on the job (scheduled, pending, running, paused, suspended or cancelling): two
    live runs on one job would both make, and pay for, what it lacks."""
    job = store.job(job_id)
    live = live_run(store, job_id)
    if live is not None:
        raise RunStillLive(job_id, live)
    # Prefect's client, not `run_deployment`, which takes no client in sync code: the run's
    # creation meets the writes of runs working on the same server, and is sent again at once
    # when a SQLite-backed one refuses it.
    with api_client() as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        run = client.create_flow_run_from_deployment(
            deployment.id,
            parameters={"job_id": str(job_id), "channel": channel,
                        "auto_approve": auto_approve},
            state=Scheduled(),
            # The flow's own name template would apply only once a process starts the run.
            name=run_name(job_id),
            tags=job_tags(job.user_id, job.format, settings),
            # Two callers triggering the job at once (bot replicas, a double submit) get the
            # one run Prefect creates for this key; a later trigger, once that run ended, a
            # new one.
            idempotency_key=f"make-video:{job_id}:after:{job.flow_run_id or 'none'}",
        )
    store.update_job(
        job_id,
        flow_run_id=run.id,
        flow_run_name=run.name,
        prefect_api_url=get_current_settings().api.url,
    )
    return run


class RunStillLive(RuntimeError):
    """The job has a live run; a second one is refused."""

    def __init__(self, job_id: UUID, run: str) -> None:
        super().__init__(f"job {short_id(job_id)} is still worked on by the run {run}: cancel "
                         "it, or wait for it to end")
        self.run = run


def waits_at(store: JobStore, job_id: UUID, stage: str, attempt: int) -> bool:
    """The job still waits at gate `stage-attempt`: no stage went on, no later gate opened."""
    job = store.job(job_id)
    if job.status != JobStatus.WAITING or job.stage != f"{stage}-gate":
        return False
    gates = store.approvals(job_id)
    return bool(gates) and (gates[-1].stage, gates[-1].attempt) == (stage, attempt)


def resume(
    store: JobStore,
    job_id: UUID,
    stage: str,
    attempt: int,
    decision: Decision,
    *,
    within: float = 15.0,
    form_within: float = 10.0,
) -> bool:
    """Resume the job's run at gate `stage-attempt` with `decision`; True once resumed.

    A gate is shown just before its run pauses, so an answer can come first. Then this waits
    for the pause. False: the job left the gate meanwhile, having taken the decision already
    recorded on the gate row (a run reaching a decided gate replays it without pausing), or
    the run waits at another gate (a later round): that gate is not answered with this.
    NotPausedError when the run has not paused within `within` seconds.

    Prefect records the paused state before it saves the input form (the run-input schema),
    so a resume in that instant is refused ("Run input schema not found"): tried again for
    `form_within` seconds, then the decision goes on the gate row (see below).
    """
    run_input = run_input_of(stage, decision)
    deadline = time.monotonic() + within
    form_deadline: float | None = None
    while True:
        flow_run_id = store.job(job_id).flow_run_id
        if flow_run_id is None:
            raise LookupError(f"job {short_id(job_id)} has no run to resume")
        outcome = _resume_at(flow_run_id, f"{stage}-{attempt}", run_input)
        if outcome == "resumed":
            return True
        if outcome == "ended":
            if not waits_at(store, job_id, stage, attempt):
                return False  # it took the decision from the gate row, and went on to its end
            # Cancelled or failed in Prefect while the job waited: it will never pause here.
            raise NotPausedError(f"run {flow_run_id} has ended")
        if outcome == "elsewhere":
            # Prefect resumes whatever pause the run is in; a decision for a gate the run has
            # left (an older round) would be taken as the current gate's answer.
            log.warning("Run %s waits at another gate than %s-%s: the decision is not passed "
                        "on", flow_run_id, stage, attempt)
            return False
        if outcome == "not_paused":
            if not waits_at(store, job_id, stage, attempt):
                return False
            if time.monotonic() > deadline:
                raise NotPausedError(f"run {flow_run_id} has not paused at {stage}-{attempt}")
        else:  # no input form yet
            form_deadline = form_deadline or time.monotonic() + form_within
            if time.monotonic() > form_deadline:
                # The run's process ended between its two writes (or is still far behind):
                # the decision goes on the gate row, where the run takes it when it reaches
                # the gate again, and the run is resumed without input. Writing the form here
                # instead would make a late save by the run's own process fail (409) and end
                # the run.
                log.warning("Run %s waits for a decision without its input form; resuming "
                            "it with the decision on the gate row", flow_run_id)
                store.record_decision(job_id, stage, attempt, decision)
                _resume_without_form(flow_run_id)
                return True
        time.sleep(0.1)


ResumeOutcome = Literal["resumed", "elsewhere", "not_paused", "no_form", "ended"]


def _resume_at(flow_run_id: UUID, gate: str, run_input: dict[str, Any]) -> ResumeOutcome:
    """One try: resume the run if it is paused at `gate` (`{stage}-{attempt}`; a pause after
    a refused decision is keyed `…-again-{n}`). Prefect's `resume_flow_run` without its own
    read of the run: the read that finds the pause's key is the one that finds it paused,
    and the server refuses a run that stopped waiting in between."""
    with api_client() as client:
        state = client.read_flow_run(flow_run_id).state
        if state is not None and state.is_final():
            return "ended"
        if state is None or not state.is_paused():
            return "not_paused"
        key = state.state_details.pause_key
        if key is not None and key.split("-")[:2] != gate.split("-"):
            return "elsewhere"
        response = client.resume_flow_run(flow_run_id, run_input=run_input)
    if response.status == SetStateStatus.ABORT:  # it stopped waiting since the read
        return "not_paused"
    if response.status != SetStateStatus.REJECT:
        return "resumed"
    reason = str(getattr(response.details, "reason", "") or "")
    if FORM_MISSING in reason.lower():
        return "no_form"
    raise RuntimeError(f"run {flow_run_id} could not be resumed: {reason}")


def api_client() -> SyncPrefectClient:
    """A Prefect client that loads no certificates for a plain-HTTP API on this machine
    (`orchestration.local_api`): a person waits for a start, a resume or a cancel."""
    api_url = get_current_settings().api.url
    return get_client(sync_client=True, httpx_settings=client_settings(api_url))


def _resume_without_form(flow_run_id: UUID) -> None:
    """Move a paused run on as Prefect's resume would once its input is checked: a suspended
    run is scheduled again ("Resuming"), a run paused in place runs on. Prefect's resume
    refuses a run without its input form even when given no input ("Run input schema not
    found"), so the state is proposed here, through the same orchestration rules."""
    with api_client() as client:
        state = client.read_flow_run(flow_run_id).state
        if state is None or not state.is_paused():
            raise NotPausedError("the run no longer waits")
        again = state.state_details.pause_reschedule
        result = client.set_flow_run_state(
            flow_run_id, Scheduled(name="Resuming") if again else Running()
        )
    if result.status != SetStateStatus.ACCEPT:
        raise RuntimeError(f"run {flow_run_id} could not be resumed: {result.details}")


def live_run(store: JobStore, job_id: UUID, *, other_than: UUID | None = None) -> str | None:
    """The name of the job's run when it is live (scheduled, running, paused, suspended or
    cancelling) and is not `other_than`; None when no other run works on the job. Two live
    runs on one job would both make, and pay for, what it lacks.

    A run records its job's end (delivered, failed, cancelled) a moment before its own state
    turns final; a run of a job that has ended is given `ENDING_RUN_SECONDS` to get there, so a
    rerun asked for just after delivery is not refused."""
    job = store.job(job_id)
    if job.flow_run_id is None or job.flow_run_id == other_than:
        return None
    deadline = time.monotonic() + (ENDING_RUN_SECONDS if job.status in FINISHED_STATUSES else 0)
    with api_client() as client:
        while True:
            run = client.read_flow_run(job.flow_run_id)
            if run.state is None or run.state.is_final():
                return None
            if time.monotonic() >= deadline:
                return run.name
            time.sleep(0.5)


def run_waits(flow_run_id: UUID) -> bool:
    """Whether the run is paused or suspended (waiting for a decision)."""
    with api_client() as client:
        state = client.read_flow_run(flow_run_id).state
    return bool(state and state.is_paused())


def final_state(flow_run_id: UUID) -> State | None:
    """The run's state once it has ended, else None."""
    with api_client() as client:
        state = client.read_flow_run(flow_run_id).state
    return state if state is not None and state.is_final() else None


def cancel_run(flow_run_id: UUID, *, reason: str = "cancelled", within: float = 20.0) -> None:
    """Stop a run: a started or starting one through its runner (Cancelling, which ends its
    process), others at once. (A Cancelled state forced on a starting run is overwritten when
    its process starts running it.) A run still not ended after `within` is set Cancelled: a
    process that began just as it was asked to stop can leave it Cancelling for good. A run
    already Cancelling is only waited for."""
    with api_client() as client:
        state = client.read_flow_run(flow_run_id).state
        if state is not None and state.is_final():
            return
        # A run already being stopped (a second /cancel) is waited for like the first time:
        # forcing it Cancelled now would not wait for its process to end.
        if state is None or not state.is_cancelling():
            started = state is not None and (state.is_running() or state.is_pending())
            new = Cancelling if started else Cancelled
            client.set_flow_run_state(flow_run_id, new(message=reason), force=True)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            state = client.read_flow_run(flow_run_id).state
            if state is None or state.is_final():
                return
            time.sleep(0.5)
        client.set_flow_run_state(flow_run_id, Cancelled(message=reason), force=True)
