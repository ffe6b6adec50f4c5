"""Workers on a process work pool, as on several machines: two `videobot worker` processes
(each with its own scratch folder), the Prefect server and the app database on PostgreSQL,
media in an S3-compatible bucket (moto), clips from a fake Runway on 127.0.0.1.

One scenario, run once and shared by the tests: four auto-approved jobs with
MAX_CONCURRENT_JOBS=2; while one job makes its clips, the worker running it is killed with its
flow-run processes (kill -9: its machine is gone). The pool starts three runs at once, so the
fourth starts after the kill, on the other worker: at least one run never lost its worker.
Each test asserts one thing about it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from prefect import get_client
from prefect.deployments import run_deployment
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.server.events.schemas.automations import EventTrigger as ServerEventTrigger
from prefect.server.events.schemas.events import ReceivedEvent as ServerReceivedEvent
from prefect.settings import PREFECT_API_URL, temporary_settings

from orchestration.crash_recovery import RETRY_STATE_NAME, ZOMBIE_AUTOMATION
from orchestration.liveness import ALIVE_EVENT, BEAT_SECONDS
from orchestration.local_api import CERT_FILE_VARIABLE
from orchestration.runs import api_client, cancel_run
from tests.fakes.runway_tasks import FakeTask
from tests.helpers import wait_for
from tests.pool import (
    Pool,
    Worker,
    alive,
    making_clips,
    pool_services,
    process_ids,
    running_on,
    started,
)
from tests.processes import has_variable
from tests.serving import REPO
from tests.test_flow import ONE_VIDEO_CALLS
from tests.test_media_store import S3_ENV
from videobot.db.models import utcnow

JOBS, CAP = 4, 2
# Prefect's process worker, given no run command, starts a run through its workspace
# supervisor (prefect.runner._workspace_supervisor), which sets this variable for the engine
# it then execs in the same process.
SUPERVISOR_MARK = "PREFECT__FLOW_ENTRYPOINT"


class WorkingJobs(threading.Thread):
    """Samples, twice a second, how many jobs work at once: running in the app database with
    their flow-run process alive. A job whose process died with its machine is not working,
    nor is it when its run starts again on the other worker, until that run has queued it for
    a slot (its status still reads "running" from before the crash, and the slot it held has
    been freed and taken by a job that waited)."""

    def __init__(self, pool: Pool, jobs: Mapping[UUID, UUID]) -> None:
        super().__init__(daemon=True)
        self.pool, self.jobs = pool, dict(jobs)
        self.most = 0
        self.most_processes = 0  # runs started at once (`tests.pool.started`), working or waiting
        self.samples = 0
        self._done = threading.Event()
        self.lost: dict[UUID, datetime] = {}  # job -> when its worker died

    def worker_died(self, job: UUID) -> None:
        self.lost[job] = utcnow()

    def _stale(self, job: UUID) -> bool:
        died = self.lost.get(job)
        if died is None:
            return False
        queued = self.pool.store.job(job).queued_at
        if queued is not None and queued.tzinfo is None:  # SQLite gives it back naive
            queued = queued.replace(tzinfo=died.tzinfo)
        return queued is None or queued < died

    def run(self) -> None:
        while not self._done.wait(0.5):
            runs = self.pool.runs(list(self.jobs.values()))  # one read per sample
            pids = process_ids(runs)
            working = [
                job for job, run in self.jobs.items()
                if self.pool.store.job(job).status == "running"
                and run in pids and alive(pids[run]) and not self._stale(job)
            ]
            self.most, self.samples = max(self.most, len(working)), self.samples + 1
            self.most_processes = max(self.most_processes, started(runs))

    def stop(self) -> None:
        self._done.set()
        self.join(10)


@dataclass
class Scenario:
    pool: Pool
    jobs: dict[UUID, UUID]  # job id -> its flow run
    killed: Worker
    survivor: Worker
    lost_job: UUID
    most_working: int
    most_processes: int
    back_after: float  # seconds from the kill to the lost run running on the survivor
    killed_at: datetime
    supervised: bool  # the lost run's process went through Prefect's workspace supervisor
    untrusting: bool  # it had the certificate file of a local plain-HTTP API
    died_with_worker: set[UUID]  # the jobs whose run was on the killed worker


def written_ahead(pool: Pool) -> bool:
    """Every clip task Runway made and no one has polled yet is in the write-ahead journal."""
    journaled = {task_id for _, _, task_id in pool.store.open_tasks("")}
    return all(t.id in journaled for t in pool.runway.created("video") if t.polls == 0)


PROMPTS = ("How volcanoes work", "Why cats purr", "How tides work", "How bees dance")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    folder = tmp_path_factory.mktemp("pool")
    with pool_services(folder, MAX_CONCURRENT_JOBS=str(CAP)) as pool:
        pool.runway.task_seconds = {"video": 6.0}
        first = pool.add_worker("worker-a")  # creates the pool, the limits, the automations
        pool.deploy()
        second = pool.add_worker("worker-b")
        jobs = dict(pool.submit(prompt) for prompt in PROMPTS)
        sampler = WorkingJobs(pool, jobs)
        sampler.start()
        # Two jobs work at once before the kill: a job that reaches its clips before a second
        # one has taken a slot would leave the cap never reached (the dead run's slot stays
        # taken until its lease expires, while the rest run one at a time).
        wait_for(lambda: sampler.most == CAP, timeout=600, what="two jobs working at once")
        lost_job, pid = wait_for(lambda: making_clips(pool, jobs), timeout=600,
                                 what="a job making its clips")
        killed, survivor = (first, second) if first.owns(pid) else (second, first)
        supervised = has_variable(pid, SUPERVISOR_MARK)
        untrusting = has_variable(pid, CERT_FILE_VARIABLE)
        # The kill falls outside every create's window between Runway's answer and its record
        # (the journal's known limit): new creates wait, and those already answered are
        # written ahead first.
        with pool.runway.creates_held():
            wait_for(lambda: written_ahead(pool), timeout=60, what="every clip task journaled")
            killed_at, killed_when = time.monotonic(), utcnow()
            # Every job working on that worker dies with it, not only the one making clips:
            # with both slots there, the other one's run also starts again with a stale
            # "running".
            pids = pool.pids(list(jobs.values()))
            for job, run in jobs.items():
                if run in pids and killed.owns(pids[run]):
                    sampler.worker_died(job)
            print(f"killed {len(killed.kill_machine())} processes of {killed.name}")
        wait_for(lambda: running_on(pool, jobs[lost_job], survivor), timeout=300,
                 what="the lost run running on the other worker")
        back_after = time.monotonic() - killed_at
        wait_for(lambda: all(pool.store.job(j).status in ("delivered", "failed") for j in jobs),
                 timeout=900, what="every job to end")
        sampler.stop()
        print(f"lost run running again after {back_after:.1f} s; {sampler.samples} samples")
        yield Scenario(pool, jobs, killed, survivor, lost_job, sampler.most,
                       sampler.most_processes, back_after, killed_when, supervised, untrusting,
                       set(sampler.lost))


def test_every_job_spread_over_both_workers_is_delivered(scenario: Scenario) -> None:
    """All four jobs are delivered, and each worker ran some of them."""
    pool = scenario.pool
    assert [pool.store.job(j).status for j in scenario.jobs] == ["delivered"] * JOBS
    for worker in (scenario.killed, scenario.survivor):
        assert any(worker.ran(run) for run in scenario.jobs.values()), worker.name


def test_a_run_on_the_pool_is_one_interpreter(scenario: Scenario) -> None:
    """prefect.yaml gives the pool's runs their command: each run (and each resume) starts
    the engine directly, not a supervisor interpreter that imports Prefect first and then
    execs the engine to import it again."""
    assert not scenario.supervised


def test_a_run_on_the_pool_of_a_local_api_loads_no_certificate_bundle(
    scenario: Scenario,
) -> None:
    """The Prefect API is plain HTTP on this machine: the worker hands its flow-run
    processes a certificate file that loads at once (`orchestration.local_api`)."""
    assert scenario.untrusting


def test_never_more_jobs_work_at_once_than_the_cap(scenario: Scenario) -> None:
    """With MAX_CONCURRENT_JOBS=2 over two workers, at most two jobs worked at any sample,
    and two did: the cap is held by the Prefect server across workers."""
    assert scenario.most_working == CAP


def test_the_pool_starts_one_run_more_than_the_job_cap(scenario: Scenario) -> None:
    """The workers set the pool's concurrency limit to one run more than the job cap: runs
    beyond it wait Scheduled, holding no process on any worker.

    How many runs were started at once is printed, not asserted: Prefect applies the pool's
    limit as it hands runs out, not when a run turns Pending, so two workers asking at the
    same instant can each be given the last place (the job slots, not the pool, cap the jobs
    that work). test_limits holds the serving process, one runner, to the exact number."""
    with temporary_settings({PREFECT_API_URL: scenario.pool.api_url}), get_client(
        sync_client=True
    ) as client:
        assert client.read_work_pool("videobot").concurrency_limit == CAP + 1
    print(f"most runs started at once: {scenario.most_processes} (pool limit {CAP + 1})")


def test_a_run_lost_with_its_worker_is_scheduled_again_and_finished_on_the_other(
    scenario: Scenario,
) -> None:
    """The run whose worker was killed mid-clips is scheduled again by the crash automation
    once its heartbeats stop, and finished by the other worker."""
    run = scenario.jobs[scenario.lost_job]
    states = scenario.pool.states(run)
    names = [name for name, _ in states]
    again = names.index(RETRY_STATE_NAME)
    assert "No heartbeat" in (states[again][1] or "")
    assert names[-1] == "Completed"
    assert scenario.survivor.ran(run)
    assert scenario.pool.store.job(scenario.lost_job).status == "delivered"


def test_no_run_that_kept_its_worker_was_taken_for_lost(scenario: Scenario) -> None:
    """Only the runs on the killed worker were scheduled again: no other run, working for
    minutes beside them on two busy workers, went silent for the lost-run window (45 s)."""
    for job, run in scenario.jobs.items():
        names = [name for name, _ in scenario.pool.states(run)]
        if job not in scenario.died_with_worker:
            assert RETRY_STATE_NAME not in names, (job, names)


def test_a_working_run_beats_every_ten_seconds_and_each_beat_counts(scenario: Scenario) -> None:
    """A run that kept its worker said it was alive every 10 s while it worked, and each
    beat is an event the lost-run automation's trigger both expects and opens a window on."""
    pool = scenario.pool
    with temporary_settings({PREFECT_API_URL: pool.api_url}), api_client() as c:
        [automation] = c.read_automations_by_name(ZOMBIE_AUTOMATION)
        trigger = ServerEventTrigger.model_validate(automation.trigger.model_dump())
        kept = {job: run for job, run in scenario.jobs.items()
                if job not in scenario.died_with_worker}
        assert kept, "some run kept its worker"
        for job, run in kept.items():
            page = c.read_events(EventFilter(
                event=EventNameFilter(name=[ALIVE_EVENT]),
                resource=EventResourceFilter(id=[f"prefect.flow-run.{run}"]),
            ), limit=50)  # the API's most
            found = list(page.events)
            while page.next_page is not None:
                page = c.read_events_page(str(page.next_page))
                found += page.events
            beats = sorted(found, key=lambda event: event.occurred)
            assert len(beats) >= 2, (job, len(beats))
            gaps = [(b.occurred - a.occurred).total_seconds()
                    for a, b in zip(beats, beats[1:], strict=False)]
            assert max(gaps) <= BEAT_SECONDS * 1.5, (job, gaps)
            for beat in beats:
                event = ServerReceivedEvent.model_validate(beat.model_dump())
                assert trigger.covers(event), beat
                assert trigger.starts_after(beat.event) and trigger.expects(beat.event)


def test_no_paid_call_is_made_twice(scenario: Scenario) -> None:
    """Every job's ledger holds exactly one video's calls, and Runway made exactly ten clip
    tasks per job: the lost job's tasks were taken up, not started again."""
    for job in scenario.jobs:
        assert scenario.pool.store.call_counts(job) == ONE_VIDEO_CALLS
    tasks = scenario.pool.runway.created("video")
    assert len(tasks) == 10 * JOBS, _unaccounted(scenario, tasks)


def _unaccounted(scenario: Scenario, tasks: list[FakeTask]) -> str:
    """What a failure needs: the clip tasks no `ok` ledger row names, the ledger's other clip
    rows, and when the worker was killed."""
    store = scenario.pool.store
    rows = [row for job in scenario.jobs for row in store.calls(job, "clips")]
    named = {row.request_id for row in rows if row.outcome == "ok"}
    lines = [f"killed at {scenario.killed_at.isoformat()}"]
    lines += [f"task {t.id} made {t.created_at}: polls {t.polls}, {t.last_status}, "
              f"cancelled {t.cancelled}" for t in tasks if t.id not in named]
    lines += [f"ledger {row.job_id} scene {row.segment}: {row.outcome} {row.details} at "
              f"{row.created_at}" for row in rows if row.outcome != "ok"]
    return "\n".join(lines)


def test_every_medium_is_in_the_bucket_and_none_left_on_the_worker(scenario: Scenario) -> None:
    """Each job's pictures, clips, narrations, contact sheets, captions and video are objects
    in the bucket, the database names them by key, and the worker that lived has no media
    file left in its scratch folder."""
    pool = scenario.pool
    for job_id in scenario.jobs:
        job = pool.store.job(job_id)
        keys = {k.removeprefix(f"{job_id}/") for k in pool.bucket.keys(str(job_id))}
        assert keys == {
            *(f"images/scene-{n:02d}-r1.png" for n in range(1, 11)),
            *(f"clips/scene-{n:02d}-r1.mp4" for n in range(1, 11)),
            "audio/intro.wav", "audio/main.wav", "audio/outro.wav",
            "images-sheet-r1.jpg", "clips-sheet-r1.jpg", "captions.srt", "video.mp4",
        }
        assert job.final_path == f"{job_id}/video.mp4"
        assert all(s.video_path == f"{job_id}/clips/scene-{s.index + 1:02d}-r1.mp4"
                   for s in pool.store.segments(job_id))
    assert scenario.survivor.files_left() == []


def test_cleanup_on_the_pool_empties_the_jobs_prefix(scenario: Scenario) -> None:
    """`cleanup-media`, run by a worker, deletes an old job's objects from the bucket and
    leaves the other jobs' alone."""
    pool = scenario.pool
    old, *others = scenario.jobs
    kept = {job: pool.bucket.keys(str(job)) for job in others}
    pool.store.update_job(old, finished_at=utcnow() - timedelta(days=4))
    with temporary_settings({PREFECT_API_URL: pool.api_url}):
        run = run_deployment("cleanup-media/cleanup-media", timeout=300)
    assert run.state is not None and run.state.is_completed(), run.state
    assert pool.bucket.keys(str(old)) == []
    assert (pool.store.job(old).media_removed_bytes or 0) > 0
    assert {job: pool.bucket.keys(str(job)) for job in others} == kept


def test_a_job_cancelled_on_the_pool_stops_its_runway_tasks(scenario: Scenario) -> None:
    """Cancelling a run on the pool (as /cancel does) while ten long clips run: the run's
    process stops at once, the run ends Cancelled and the worker's cancellation hook cancels
    every task Runway made for the job; no clip is in the ledger."""
    pool = scenario.pool
    pool.runway.task_seconds = {"video": 120.0}
    made = len(pool.runway.created("video"))
    job, run = pool.submit("How glaciers move")
    wait_for(lambda: len(pool.store.open_tasks(f"{job}/clips")) == 10, timeout=300,
             what="ten clip tasks in flight")
    with temporary_settings({PREFECT_API_URL: pool.api_url}):
        cancel_run(run, reason="cancelled in the chat")
    pool.store.update_job(job, status="cancelled", stage="cancelled")
    name, message = pool.states(run)[-1]
    assert name == "Cancelled"
    # Ended by the process and the worker, not set by cancel_run's fallback after 20 s.
    assert message != "cancelled in the chat", "the run had to be set Cancelled"
    assert len(pool.runway.created("video")[made:]) == 10
    wait_for(lambda: all(t.cancelled for t in pool.runway.created("video")[made:]),
             timeout=60, what="the tasks cancelled")
    assert "clips" not in pool.store.call_counts(job)


def test_a_worker_says_which_shared_service_it_cannot_reach(
    prefect_server: str, tmp_path: Path
) -> None:
    """`videobot worker` stops with one line naming the Prefect API, the app database or the
    media store it cannot use, and exit code 2."""
    from tests.serving import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    base = {**{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")},
            "DATA_DIR": str(tmp_path), "PREFECT_API_URL": prefect_server}

    def first_line(**env: str) -> str:
        done = subprocess.run([sys.executable, "-m", "cli", "worker"], cwd=REPO,
                              env={**base, **env}, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stdout + done.stderr
        return done.stderr.strip().splitlines()[-1]

    assert first_line(PREFECT_API_URL=f"{dead}/api") == \
        f"videobot: cannot reach the Prefect API at {dead}/api (ConnectError)"
    assert first_line(DATABASE_URL="postgresql://videobot:secret@127.0.0.1:1/app").startswith(
        "videobot: cannot reach the app database at postgresql+psycopg://videobot:***@127.0.0.1:1/app"
    )
    assert first_line(MEDIA_STORE="s3://nowhere/media", MEDIA_STORE_ENDPOINT_URL=dead,
                      **S3_ENV).startswith("videobot: cannot use the media store s3://nowhere/media")
