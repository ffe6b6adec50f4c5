"""The server-held job limit with served deployments: three jobs, MAX_CONCURRENT_JOBS=2.

"Working" is measured from the Prefect API: every step of a job is a task run while the job
holds its slot (`tasks.limits.working`), so the union of a job's task-run intervals
(start_time..end_time, replayed "Cached" runs included) is when that job was doing work. The
largest number of jobs whose unions overlap at one instant is the most that worked at once. It
can only under-count the time a slot is held, never over-count.
For a while the test process itself holds both slots, as another worker would: that span
counts as two working jobs, so a job that worked without a slot then would exceed the cap.
(The cap's value is not what is tested: two shows every case five would, with fewer videos.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import TaskRunSort
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from orchestration.runs import api_client
from tasks.runtime import runtime
from tests.helpers import job_slots_held, jobs_limit, new_job, paused_at, wait_for
from tests.serving import PrefectServer, Server, resume
from tests.test_flow import ONE_VIDEO_CALLS
from videobot.decisions import Decision

MAX_JOBS = 2
Interval = tuple[datetime, datetime]


@pytest.fixture(scope="module")
def limits_api(
    tmp_path_factory: pytest.TempPathFactory, migrated_prefect_db: Callable[[Path], str]
) -> Iterator[str]:
    """A Prefect server for this module alone, the test process's client pointed at it.

    Other modules kill serve processes at their end; a slot held by a run killed that way
    stays taken until its lease expires (10 minutes), which would skew the slot counts here.
    """
    home = tmp_path_factory.mktemp("prefect-limits")
    prefect = PrefectServer(
        migrated_prefect_db(home / "prefect.db"), home / "home", home / "server.log"
    )
    try:
        url = prefect.start()
        with temporary_settings({PREFECT_API_URL: url}):
            yield url
    finally:
        prefect.stop()


@pytest.fixture(scope="module")
def served(limits_api: str) -> Iterator[Server]:
    """The deployments served with MAX_CONCURRENT_JOBS=2, which the serve process sets."""
    server = Server(limits_api, env={"MAX_CONCURRENT_JOBS": str(MAX_JOBS)})
    try:
        server.start()  # returns once the serve process has run ensure_limits
        yield server
    finally:
        server.kill()
        # Shown by pytest only when a test here failed: what the serve process saw.
        print(server.log.read_text(errors="replace")[-6000:])


def _start(job_id: UUID, auto_approve: bool = False) -> None:
    run_deployment(
        "make-video/make-video",
        parameters={"job_id": str(job_id), "auto_approve": auto_approve},
        timeout=0,
    )


def _status(job_id: UUID) -> str:
    job = runtime().store.job(job_id)
    if job.status == "failed":
        raise AssertionError(f"job {job_id} failed: {job.error}")
    return job.status


def _queued_in_flow(job_id: UUID) -> bool:
    """The job's run has started (it recorded its flow run) and waits for a job slot."""
    job = runtime().store.job(job_id)
    return job.flow_run_id is not None and _status(job_id) == "queued"


def _all_delivered(jobs: Iterable[UUID]) -> bool:
    return all(_status(job) == "delivered" for job in jobs)


def _seen(jobs: Iterable[UUID]) -> str:
    """Each job's status and stage, its run's state, and the job slots taken: what a timeout
    reports."""
    store = runtime().store
    seen = []
    with api_client() as client:
        for job_id in jobs:
            job = store.job(job_id)
            state = client.read_flow_run(job.flow_run_id).state if job.flow_run_id else None
            run = f"{state.name}: {state.message or ''}" if state is not None else "no run"
            seen.append(f"{str(job_id)[:8]} {job.status}/{job.stage} ({run})")
    return "; ".join(seen) + f"; job slots taken: {jobs_limit().active_slots}"


def _approve_through(jobs: list[UUID], stages: list[str], timeout: float) -> None:
    """Approve every job at each gate in turn, whichever job reaches its next gate first."""
    left = {job: list(stages) for job in jobs}

    def step() -> bool:
        for job, todo in left.items():
            _status(job)  # a failed job fails the test now, not at the timeout
            if todo and paused_at(job, todo[0], 1)():
                resume(runtime().store.job(job).flow_run_id, Decision.make("approve", "test"))
                todo.pop(0)
        return not any(left.values())

    wait_for(step, timeout=timeout, what=f"{len(jobs)} jobs to pass the {stages} gates",
             explain=lambda: _seen(jobs))


def _working_intervals(job_id: UUID) -> list[Interval]:
    """The union of the job's task-run intervals, merged into disjoint spans."""
    run_id = runtime().store.job(job_id).flow_run_id
    with api_client() as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )
    assert len(runs) < 200, "read every task run of the job"
    spans = sorted((r.start_time, r.end_time) for r in runs if r.start_time and r.end_time)
    merged: list[Interval] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _delivery_recorded(job_id: UUID) -> bool:
    """True once the job's last task (deliver) is visible in the API with its end time."""
    run_id = runtime().store.job(job_id).flow_run_id
    with api_client() as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )
    return any(r.name.startswith("deliver") and r.end_time for r in runs)


def max_overlap(per_job: Iterable[list[Interval]]) -> int:
    """The largest number of jobs with a span covering the same instant."""
    edges = sorted(
        (moment, delta)  # an end (-1) sorts before a start (+1) at the same instant
        for spans in per_job
        for start, end in spans
        for moment, delta in ((start, 1), (end, -1))
    )
    busy = peak = 0
    for _, delta in edges:
        busy += delta
        peak = max(peak, busy)
    return peak


def test_max_overlap_counts_jobs_working_at_the_same_instant() -> None:
    """The overlap count sees three jobs at once, and touching spans as consecutive."""
    t = [datetime.fromtimestamp(s) for s in range(10)]
    assert max_overlap([[(t[0], t[5])], [(t[1], t[3]), (t[6], t[8])], [(t[2], t[4])]]) == 3
    assert max_overlap([[(t[0], t[2])], [(t[2], t[4])], [(t[4], t[6])]]) == 1


def test_waiting_runs_hold_no_slot_and_at_most_the_cap_of_jobs_work(served: Server) -> None:
    """Two runs suspended at a gate hold no job slot (one more job finishes meanwhile); all
    three are delivered and never more than MAX_CONCURRENT_JOBS=2 jobs, counting two slots
    held for a while by another worker, worked at once."""
    store = runtime().store
    assert jobs_limit().limit == MAX_JOBS

    gated = [new_job(f"How tides work, part {i + 1}") for i in range(MAX_JOBS)]
    for job in gated:
        _start(job)
    for job in gated:
        wait_for(paused_at(job, "script", 1), timeout=300, what="the script gate")
    with api_client() as client:
        states = [client.read_flow_run(store.job(j).flow_run_id).state for j in gated]
    assert all(s is not None and s.name == "Suspended" for s in states)
    # Suspended runs hold no job slot (released before suspending; allow the server a moment).
    wait_for(lambda: jobs_limit().active_slots == 0, timeout=30, what="no job slot held")
    wait_for(lambda: served.children() == [], timeout=60, what="the suspended runs to exit")

    # Another worker (this process) holds every slot: the new job queues, doing nothing.
    auto = [new_job("Why leaves fall")]
    with job_slots_held(MAX_JOBS):
        held_from = datetime.now(UTC)
        for job in auto:
            _start(job, auto_approve=True)
        wait_for(
            lambda: all(_queued_in_flow(job) for job in auto),
            timeout=300,
            what="the new job to queue for a slot",
        )
        time.sleep(3)
        assert all(_queued_in_flow(job) for job in auto)
        held = [(held_from, datetime.now(UTC))]
    wait_for(lambda: _all_delivered(auto), timeout=600, what="the auto-approved job",
             explain=lambda: _seen(auto))
    assert all(paused_at(job, "script", 1)() for job in gated), "the gated jobs still wait"

    _approve_through(gated, ["script", "images", "clips"], timeout=900)
    wait_for(lambda: _all_delivered(gated), timeout=600, what="the approved jobs",
             explain=lambda: _seen(gated))

    jobs = gated + auto
    for job in jobs:
        wait_for(lambda job=job: _delivery_recorded(job), timeout=60, what="task runs")
        assert store.call_counts(job) == ONE_VIDEO_CALLS
    intervals = [_working_intervals(job) for job in jobs]
    assert all(intervals)
    peak = max_overlap(intervals + [held] * MAX_JOBS)
    print(f"most jobs working at once: {peak}")
    assert 1 <= peak <= MAX_JOBS
    wait_for(lambda: jobs_limit().active_slots == 0, timeout=60, what="every slot released")
    assert jobs_limit().limit == MAX_JOBS


def test_a_job_cancelled_while_it_queues_stays_cancelled_and_pays_nothing(served: Server) -> None:
    """The job is cancelled while its run waits for a slot, and the run is not stopped (its
    cancellation may not reach the process in time): when a slot frees, the run ends Cancelled
    without working, and the job is not brought back to the queue or to work."""
    store = runtime().store
    wait_for(lambda: jobs_limit().active_slots == 0, timeout=60, what="no job slot held")
    job = new_job("Why the sky is blue")
    with job_slots_held(MAX_JOBS):
        _start(job, auto_approve=True)
        wait_for(lambda: _queued_in_flow(job), timeout=120, what="the run to queue for a slot")
        time.sleep(2)  # well inside the wait for a job slot by now
        store.update_job(job, status="cancelled", stage="cancelled")
    run_id = store.job(job).flow_run_id
    assert run_id is not None

    def run_end() -> str | None:
        with api_client() as client:
            state = client.read_flow_run(run_id).state
        return state.name if state is not None and state.is_final() else None

    assert wait_for(run_end, timeout=120, what="the run to end") == "Cancelled"
    assert (store.job(job).status, store.job(job).stage) == ("cancelled", "cancelled")
    assert store.call_counts(job) == {}
    wait_for(lambda: jobs_limit().active_slots == 0, timeout=60, what="its slot given back")


def test_runs_beyond_the_process_limit_wait_scheduled_with_no_process(served: Server) -> None:
    """Every job slot held elsewhere, four new jobs: three runs start a process (one per slot,
    and one to take the next), the fourth waits Scheduled with none, and each job shows its
    place in the queue. Once they are cancelled and the slots given back, every run, the
    fourth too, starts and ends Cancelled, paying nothing."""
    store = runtime().store
    wait_for(lambda: jobs_limit().active_slots == 0, timeout=60, what="no job slot held")
    jobs = [new_job(f"How rivers bend, part {i + 1}") for i in range(MAX_JOBS + 2)]
    with job_slots_held(MAX_JOBS):
        runs = [
            run_deployment("make-video/make-video", timeout=0,
                           parameters={"job_id": str(job), "auto_approve": True}).id
            for job in jobs
        ]
        wait_for(lambda: sum(map(_queued_in_flow, jobs)) == MAX_JOBS + 1, timeout=300,
                 what="three runs to queue for a slot", explain=lambda: _seen(jobs))
        # A negative: the fourth stays unstarted through twenty of the runner's polls.
        time.sleep(5)
        with api_client() as client:
            found = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=runs))
            )
        kinds = sorted(str(r.state_type.value) for r in found if r.state_type is not None)
        assert kinds == ["RUNNING"] * (MAX_JOBS + 1) + ["SCHEDULED"], kinds
        waiting = [job for job in jobs if store.job(job).flow_run_id is None]
        assert len(waiting) == 1, "the fourth run has not started"
        # Their places follow each other (jobs other tests left queued may come first).
        places = sorted(store.queue_position(job) or 0 for job in jobs)
        assert places[0] >= 1 and places == list(range(places[0], places[0] + len(jobs)))
        for job in jobs:
            store.update_job(job, status="cancelled", stage="cancelled")

    def ended() -> list[str] | None:
        with api_client() as client:
            states = [client.read_flow_run(run).state for run in runs]
        done = [s.name for s in states if s is not None and s.is_final()]
        return done if len(done) == len(runs) else None

    assert wait_for(ended, timeout=300, what="every run to end") == ["Cancelled"] * len(runs)
    assert all(store.call_counts(job) == {} for job in jobs)
    assert store.job(waiting[0]).flow_run_id is not None, "the fourth run did start"
    wait_for(lambda: jobs_limit().active_slots == 0, timeout=60, what="the slots given back")
