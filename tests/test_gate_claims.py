"""Claiming a decision is separate from passing it on: a button is answered once the claim
wins, before the run is resumed, and a resume that fails gives the claim back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from orchestration.gate_service import claim, pass_on
from videobot.db.bot_records import BotRecords
from videobot.db.engine import Database
from videobot.db.store import JobStore
from videobot.decisions import Decision


@pytest.fixture
def gates(database_url: str) -> Iterator[tuple[JobStore, BotRecords]]:
    db = Database(database_url)
    db.migrate()
    yield JobStore(db), BotRecords(db)
    db.dispose()


def _waiting_at_script(store: JobStore) -> uuid.UUID:
    job = store.create_job(user_id="t", prompt="How tides work", language="en", fmt="16:9")
    store.update_job(job.id, flow_run_id=uuid.uuid4())  # a run Prefect does not know
    store.open_gate(job.id, "script", 1)
    return job.id


def test_a_claim_records_the_decision_once_without_touching_the_run(
    gates: tuple[JobStore, BotRecords],
) -> None:
    """The first claim stands on the gate row (no Prefect call is made: its run does not
    even exist); a second claim, a double click, finds the gate decided."""
    store, records = gates
    job_id = _waiting_at_script(store)
    approve = Decision.make("approve", "tg:1")
    first = claim(store, records, job_id, "script", 1, approve)
    assert (first.kind, first.done) == ("claimed", True)
    assert store.decision(job_id, "script", 1) == approve
    second = claim(store, records, job_id, "script", 1, Decision.make("cancel", "tg:1"))
    assert (second.kind, second.done) == ("closed", False)
    assert store.decision(job_id, "script", 1) == approve


def test_stranded_decisions_are_old_claims_whose_job_still_waits(
    gates: tuple[JobStore, BotRecords],
) -> None:
    """Only a gate decided before the cutoff whose job still waits at it is stranded: not an
    open gate, not a fresh claim, not a job that went on, not a round the run answered and
    left for the next round of the same gate (a regenerate)."""
    from datetime import timedelta

    from videobot.db.models import utcnow

    store, records = gates
    stranded, open_, went_on, next_round = (_waiting_at_script(store) for _ in range(4))
    for job_id in (stranded, went_on, next_round):
        records.claim_decision(job_id, "script", 1, Decision.make("approve", "tg:1"))
    store.set_stage(went_on, "segments")
    store.open_gate(next_round, "script", 2)
    later = utcnow() + timedelta(seconds=1)
    found = {job_id for job_id, _, _ in store.stranded_decisions(later)}
    assert stranded in found
    assert open_ not in found and went_on not in found and next_round not in found
    earlier = utcnow() - timedelta(seconds=30)
    assert stranded not in {job_id for job_id, _, _ in store.stranded_decisions(earlier)}


def test_a_claim_that_cannot_be_passed_on_is_given_back(
    prefect_server: str, gates: tuple[JobStore, BotRecords]
) -> None:
    """Passing on a claim for a run Prefect cannot resume fails, and the gate is open again
    for the person's next press."""
    store, records = gates
    job_id = _waiting_at_script(store)
    approve = Decision.make("approve", "tg:1")
    assert claim(store, records, job_id, "script", 1, approve).kind == "claimed"
    outcome = pass_on(store, records, job_id, "script", 1, approve)
    assert (outcome.kind, outcome.done) == ("resume_failed", False)
    assert store.decision(job_id, "script", 1) is None
    assert claim(store, records, job_id, "script", 1, approve).kind == "claimed"


def _age_claims(store: JobStore, job_id: uuid.UUID) -> None:
    """The job's claims are older than the grace period, as a stopped claimer leaves them."""
    from datetime import timedelta

    from sqlalchemy import update

    from orchestration.gate_service import STRANDED_AFTER_SECONDS
    from videobot.db.models import Approval, utcnow

    with store.db.session() as s:
        s.execute(
            update(Approval)
            .where(Approval.job_id == job_id)
            .values(decided_at=utcnow() - timedelta(seconds=STRANDED_AFTER_SECONDS + 1))
        )


def test_a_decision_claimed_but_never_passed_on_is_passed_on_later(prefect_server: str) -> None:
    """A claimer that stopped before resuming (a bot restarted mid-click) leaves the run
    waiting; once the claim is older than the grace period, the watch resumes the run with
    it. A fresh claim is left to its claimer."""
    from prefect.exceptions import CancelledRun

    from orchestration.gate_service import pass_on_stranded
    from tasks.runtime import runtime
    from tests.helpers import new_job, paused_at, start_flow, wait_for

    store = runtime().store
    records = BotRecords(store.db)
    job_id = new_job("How owls see at night")
    thread, outcome = start_flow(job_id)
    wait_for(paused_at(job_id, "script", 1), what="the script gate")
    cancel = Decision.make("cancel", "tg:7")
    assert records.claim_decision(job_id, "script", 1, cancel) is not None
    assert pass_on_stranded(store, records) == 0, "a fresh claim is its claimer's to pass on"

    _age_claims(store, job_id)
    assert pass_on_stranded(store, records) == 1
    thread.join(60)
    assert isinstance(outcome.get("error"), CancelledRun)
    assert store.job(job_id).status == "cancelled"
    assert pass_on_stranded(store, records) == 0


def test_a_passed_on_decision_is_not_passed_on_again_to_the_next_round(
    prefect_server: str,
) -> None:
    """Regenerate at the script gate, passed on: the run writes version 2 and waits at round
    2. Once round 1's claim is older than the grace period, the watch leaves it alone: the
    run still waits at round 2, and no third script is written (with the old feedback, and
    paid for). Nor does the resumer, asked directly with round 1's decision."""
    from orchestration.gate_service import decide, pass_on_stranded
    from orchestration.runs import resume
    from tasks.runtime import runtime
    from tests.helpers import new_job, paused_at, start_flow, wait_for

    store = runtime().store
    records = BotRecords(store.db)
    job_id = new_job("How owls see at night")
    thread, _ = start_flow(job_id)
    wait_for(paused_at(job_id, "script", 1), what="the script gate")
    regenerate = Decision.make("regenerate", "tg:7", feedback="More about their ears")
    assert decide(store, records, job_id, "script", 1, regenerate).kind == "resumed"
    wait_for(paused_at(job_id, "script", 2), what="the script gate, round 2")
    scripts = store.call_counts(job_id)

    _age_claims(store, job_id)
    assert pass_on_stranded(store, records) == 0
    # The resumer itself does not answer round 2 with round 1's decision either.
    assert not resume(store, job_id, "script", 1, regenerate)
    assert paused_at(job_id, "script", 2)()
    assert store.decision(job_id, "script", 2) is None
    assert store.call_counts(job_id) == scripts
    cancel = Decision.make("cancel", "tg:7")
    assert decide(store, records, job_id, "script", 2, cancel).kind == "resumed"
    thread.join(60)
    assert store.job(job_id).status == "cancelled"
