"""Job slots counted on the server but held by no working run are given back.

A job slot is a lease the server frees when its holder stops renewing it (`JOB_LEASE_SECONDS`,
leases kept on disk by `videobot up`, so they outlive a server restart). What the leases
cannot free is a slot whose lease is gone while its count stayed: leases kept in memory (a
Prefect server started without the lease-storage setting) lost in a restart, or a lease store
wiped. `videobot-jobs` would then stay full for good, and jobs would queue forever.

So the serving process of `videobot up`, where every holder of a job slot is a run of its
deployments, compares the limit's `active_slots` with the runs that could hold a slot (runs
of the job flows that are pending, running or cancelling, on any worker) once a lease period
after it starts and every lease period after that, and gives back the excess. It waits a
lease period first so that the leases of holders that died before it started have expired
and been freed by the server; counting the runs before and after reading the slots keeps a
run that starts or ends meanwhile from being taken for a leak.
"""

from __future__ import annotations

import logging
import threading

from prefect import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType

from tasks.limits import JOB_LEASE_SECONDS, JOBS_LIMIT

log = logging.getLogger(__name__)

# The server looks for expired leases this often (`videobot up` sets it; Prefect's default
# is longer): a dead holder's slot is free at most one lease and one sweep after it died.
LEASE_SWEEP_SECONDS = 5
CHECK_EVERY_SECONDS = JOB_LEASE_SECONDS + LEASE_SWEEP_SECONDS
_MAY_HOLD_A_SLOT = [StateType.PENDING, StateType.RUNNING, StateType.CANCELLING]


def leaked_slots(active: int, runs_before: int, runs_after: int) -> int:
    """Slots counted but held by no run that could hold one (each run holds at most one)."""
    return max(0, active - max(runs_before, runs_after))


def runs_that_may_hold_a_slot(job_flows: list[str]) -> int:
    """Runs of the flows that take job slots, pending, running or cancelling."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=job_flows)),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=_MAY_HOLD_A_SLOT))
            ),
        )
    return len(runs)


def give_back_leaked_slots(job_flows: list[str]) -> int:
    """Release the job slots no run of `job_flows` holds; returns how many."""
    before = runs_that_may_hold_a_slot(job_flows)
    with get_client(sync_client=True) as client:
        active = client.read_global_concurrency_limit_by_name(JOBS_LIMIT).active_slots
    leaked = leaked_slots(active, before, runs_that_may_hold_a_slot(job_flows))
    if leaked:
        log.warning("%s counts %d slots no working run holds; giving them back", JOBS_LIMIT,
                    leaked)
        with get_client(sync_client=True) as client:
            # Held at least since the check before (the server takes only a positive time).
            client.release_concurrency_slots(names=[JOBS_LIMIT], slots=leaked,
                                             occupancy_seconds=CHECK_EVERY_SECONDS)
    return leaked


def keep_slots_reconciled(
    job_flows: list[str], every: float = CHECK_EVERY_SECONDS
) -> threading.Thread:
    """Check every `every` seconds, the first time `every` seconds from now, in a daemon
    thread of this process; a failed check (the server briefly down) waits for the next."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                give_back_leaked_slots(job_flows)
            except Exception as exc:
                log.warning("Could not check %s: %s", JOBS_LIMIT, exc)

    thread = threading.Thread(target=loop, name="slot-reconciliation", daemon=True)
    thread.start()
    return thread
