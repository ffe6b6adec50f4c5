"""Approval gates: wait for a person's decision without defaults, replaying decisions taken."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from prefect import get_run_logger, pause_flow_run, suspend_flow_run
from prefect.context import FlowRunContext
from prefect.input import RunInput

from tasks.limits import release_job_slot
from tasks.runtime import runtime
from videobot.decisions import Decision


class DecisionInput(RunInput, Decision):
    """The resume form: the Prefect UI shows these fields with their descriptions."""


def _has_deployment() -> bool:
    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


def await_decision(
    job_id: UUID,
    stage: str,
    attempt: int,
    *,
    auto_approve: bool,
    extra_check: Callable[[Decision], str | None] | None = None,
) -> Decision:
    """The decision for gate `{stage}-{attempt}`.

    A decision already recorded (by an earlier run of this job) is replayed. Otherwise the run
    suspends when it came from a deployment (no process is held while a person thinks) and
    pauses in place when it did not. An invalid decision is logged and the gate waits again.
    """
    rt = runtime()
    recorded = rt.store.decision(job_id, stage, attempt)
    if recorded is not None:
        return recorded
    if auto_approve:
        decision = Decision.make("approve", "auto-approve")
        rt.store.record_decision(job_id, stage, attempt, decision)
        return decision

    release_job_slot(job_id)  # a run waiting for a person holds no job slot
    rt.store.open_gate(job_id, stage, attempt)
    timeout = int(rt.settings.approval_timeout_hours * 3600)
    logger = get_run_logger()
    for retry in range(1000):
        # Prefect keys allow lowercase letters, digits and dashes only.
        key = f"{stage}-{attempt}" if retry == 0 else f"{stage}-{attempt}-again-{retry}"
        if _has_deployment():
            received = suspend_flow_run(wait_for_input=DecisionInput, key=key, timeout=timeout)
        else:
            received = pause_flow_run(
                wait_for_input=DecisionInput,
                key=key,
                timeout=timeout,
                poll_interval=rt.settings.gate_poll_seconds,
            )
        decision = Decision.model_validate(received.model_dump())
        problem = decision.problem(stage) or (extra_check(decision) if extra_check else None)
        if problem is None:
            break
        logger.warning("Decision refused at the %s gate: %s; waiting again", stage, problem)
    rt.store.record_decision(job_id, stage, attempt, decision)
    rt.store.set_stage(job_id, stage)
    return decision


def resume_with(flow_run_id: UUID, decision: Decision, *, within: float = 10.0) -> None:
    """Resume a waiting run with `decision`.

    Prefect records the paused state before it saves the input form (the run-input schema),
    so a resume in that instant is refused ("Run input schema not found"): tried again
    briefly. Past `within`, the form is taken as lost (the run's process ended between the two
    writes, leaving a run no one could resume) and written here, once. A busy server is tried
    again at once (`tasks.prefect_calls`).
    """
    import time

    from tasks.prefect_calls import resume_run

    deadline = time.monotonic() + within
    restored = False
    while True:
        try:
            resume_run(flow_run_id, decision.model_dump(mode="json"))
            return
        except RuntimeError as exc:
            if "schema not found" not in str(exc).lower():
                raise
            if time.monotonic() > deadline:
                if restored:
                    raise
                restore_input_form(flow_run_id)
                restored = True
                continue
        time.sleep(0.1)


def restore_input_form(flow_run_id: UUID) -> None:
    """Write the decision form a suspended run should have saved, as its process would have;
    a form saved meanwhile is kept."""
    import logging
    from typing import cast

    from prefect import get_client
    from prefect.exceptions import PrefectHTTPStatusError
    from prefect.input.run_input import Keyset

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state
    keyset = state.state_details.run_input_keyset if state is not None else None
    if keyset is None:
        return
    logging.getLogger(__name__).warning(
        "Run %s waits for a decision without its input form; writing the form", flow_run_id
    )
    try:
        DecisionInput.save(cast("Keyset", keyset), flow_run_id=flow_run_id)
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code != 409:  # 409: the run saved it after all
            raise
