"""Approval gates: wait for a person's decision without defaults, replaying decisions taken."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from prefect import get_client, get_run_logger, pause_flow_run, suspend_flow_run
from prefect.context import FlowRunContext
from pydantic import ValidationError

from orchestration.gate_inputs import form_description, gate_input_class
from tasks.attempts import ensure_ours
from tasks.limits import JobSlot
from tasks.runtime import Superseded, runtime
from videobot.budget import decision_shortfall
from videobot.costs import approving_starts
from videobot.decisions import Decision, refusal
from videobot.formats import VideoFormat
from videobot.motion import job_motion
from videobot.naming import short_id

# A gate refusing this many decisions in a row stops asking: something sends nonsense.
MAX_REFUSALS = 1000


def _has_deployment() -> bool:
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


def suspend_at_gate(job_id: UUID, form: Any, key: str, timeout: int) -> Any:
    """Suspend the run at the gate; the input it is resumed with. Prefect refuses to suspend a
    run that is no longer Running (RuntimeError "Flow run cannot be suspended"): the lost-run
    automation scheduled it again while this attempt still lived. A newer attempt carries the
    job on, so this one steps aside."""
    try:
        return suspend_flow_run(wait_for_input=form, key=key, timeout=timeout)
    except RuntimeError:
        context = FlowRunContext.get()
        assert context is not None and context.flow_run is not None
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(context.flow_run.id).state
        if state is None or state.is_running():
            raise
        raise Superseded(
            f"job {short_id(job_id)}: its run was scheduled again while this attempt lived "
            f"({state.name})"
        ) from None


def await_decision(
    job_id: UUID,
    stage: str,
    attempt: int,
    *,
    auto_approve: bool,
    slot: JobSlot,
    unready: Callable[[], list[int]] = list,
) -> Decision:
    """The decision for gate `{stage}-{attempt}`.

    A decision already recorded (by an earlier run of this job) is replayed. Otherwise the run
    suspends when it came from a deployment (no process is held while a person thinks) and
    pauses in place when it did not, on the gate's own form. A decision the rules refuse
    (`videobot.decisions.refusal`) is logged, and the gate waits again with the reason at the
    top of its form. `unready` gives the scenes still without media.
    """
    rt = runtime()
    recorded = rt.store.decision(job_id, stage, attempt)
    if recorded is not None:
        return recorded
    if auto_approve:
        decision = Decision.make("approve", "auto-approve")
        rt.store.record_decision(job_id, stage, attempt, decision)
        return decision

    ensure_ours(job_id)  # an older attempt neither shows a gate nor suspends the run
    slot.release()  # a run waiting for a person holds no job slot
    rt.store.open_gate(job_id, stage, attempt)
    job = rt.store.job(job_id)
    motion = job_motion(rt.settings, job.motion_model, job.motion_seconds)
    approving = approving_starts(rt.settings, stage, VideoFormat(job.format), motion)
    timeout = int(rt.settings.approval_timeout_hours * 3600)
    logger = get_run_logger()
    refused: str | None = None
    for retry in range(MAX_REFUSALS):
        # Prefect keys allow lowercase letters, digits and dashes only.
        key = f"{stage}-{attempt}" if retry == 0 else f"{stage}-{attempt}-again-{retry}"
        form = gate_input_class(stage).with_initial_data(
            description=form_description(stage, attempt, approving=approving, refused=refused)
        )
        try:
            if _has_deployment():
                received = suspend_at_gate(job_id, form, key, timeout)
            else:
                received = pause_flow_run(
                    wait_for_input=form,
                    key=key,
                    timeout=timeout,
                    poll_interval=rt.settings.gate_poll_seconds,
                )
        except ValidationError:
            taken = rt.store.decision(job_id, stage, attempt)
            if taken is not None:  # resumed without its form: the decision is on the gate row
                decision = taken
                break
            # Prefect's suspend_flow_run, in a run that left this very pause without an input
            # (its state forced to Scheduled: the lost-run automation acting on a heartbeat
            # the server read after the suspension, or a state changed in the UI), loads an
            # empty form, which our required `action` refuses (an input written through the
            # API that the form cannot read ends here too). No one decided: ask again.
            logger.warning("The %s gate was left without a decision; waiting again", stage)
            continue
        decision = received.to_decision()
        over = decision_shortfall(rt.settings, rt.store, rt.store.job(job_id), stage, decision)
        problem = refusal(stage, decision, language=job.language, unready=unready(),
                          over_budget=over)
        if problem is None:
            break
        refused = problem.text
        logger.warning("Decision refused at the %s gate: %s; waiting again", stage, refused)
    else:
        raise RuntimeError(f"the {stage} gate refused {MAX_REFUSALS} decisions in a row")
    rt.store.record_decision(job_id, stage, attempt, decision)
    rt.store.set_stage(job_id, stage)
    return decision

