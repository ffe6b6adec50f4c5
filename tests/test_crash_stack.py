"""kill -9 of the whole `videobot up` tree (Prefect server, serving process, flow-run process)
while ten Runway clips run, then `videobot up` again: no process of ours saw the run die."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import pytest
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from orchestration.crash_recovery import RETRY_STATE_NAME
from orchestration.runs import api_client
from tasks.limits import JOB_LEASE_SECONDS
from tasks.slot_reconciliation import LEASE_SWEEP_SECONDS
from tests.fakes.runway_server import FakeRunway
from tests.helpers import wait_for, written_ahead_or_fetched
from tests.processes import kill_marked
from tests.serving import REPO, free_port
from videobot.db.engine import Database
from videobot.db.models import utcnow
from videobot.db.store import JobStore
from videobot.settings import LOST_RUN_SECONDS


class Stack:
    """`videobot up` on its own port, Prefect home and data directory; restartable."""

    def __init__(self, tmp_path: Path, runway: FakeRunway) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")},
            "DATA_DIR": str(tmp_path / "data"), "PREFECT_HOME": str(tmp_path / "prefect"),
            "PREFECT_UI_ENABLED": "false", "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "VIDEO_PROVIDER": "runway", "RUNWAY_API_KEY": FakeRunway.API_KEY,
            "RUNWAYML_BASE_URL": runway.url, "RUNWAY_POLL_SECONDS": "0.2",
            "RUNWAY_CONCURRENCY": "20", "MAX_CONCURRENT_JOBS": "1",
        }
        self.env.pop("TELEGRAM_BOT_TOKEN", None)
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []

    def start(self) -> None:
        since = len(self.lines)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "up", "--port", str(self.port)], cwd=REPO,
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        out = self.proc.stdout
        assert out is not None
        threading.Thread(target=lambda: self.lines.extend(iter(out.readline, "")),
                         daemon=True).start()
        wait_for(lambda: self._said("videobot is up", since), timeout=240, what="videobot up")

    def _said(self, text: str, since: int) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError("videobot up exited:\n" + "".join(self.lines[-60:]))
        return any(text in line for line in self.lines[since:])

    def kill_everything(self) -> None:
        """SIGKILL to every process of the tree at once (all carry its data folder in their
        environment): no process is left to mark a run."""
        assert self.proc is not None
        kill_marked("DATA_DIR", self.env["DATA_DIR"])
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill_everything()


@pytest.fixture
def stack(
    tmp_path: Path, migrated_prefect_db: Callable[[Path], str]
) -> Iterator[tuple[Stack, FakeRunway, JobStore]]:
    migrated_prefect_db(tmp_path / "prefect" / "prefect.db")  # PREFECT_HOME's database
    with FakeRunway() as runway:
        up = Stack(tmp_path, runway)
        db = Database(f"sqlite:///{tmp_path / 'data' / 'videobot.db'}")
        try:
            up.start()
            yield up, runway, JobStore(db)
        finally:
            up.stop()
            db.dispose()


def _submit(store: JobStore, prompt: str) -> UUID:
    job_id = store.create_job(user_id="test", prompt=prompt, language="en", fmt="16:9").id
    run = run_deployment("make-video/make-video",
                         parameters={"job_id": str(job_id), "auto_approve": True}, timeout=0)
    store.update_job(job_id, flow_run_id=run.id)
    return job_id


def test_a_run_left_running_by_a_killed_stack_is_retried_and_finishes(
    stack: tuple[Stack, FakeRunway, JobStore],
) -> None:
    """With ten 8-second clip tasks running, every process of the stack is killed with
    SIGKILL; after `videobot up` again, the run (still RUNNING on the server) is marked
    scheduled again once its heartbeats are missed; it takes up its ten tasks and the
    job is delivered with exactly ten clip tasks created on Runway, the person told. The dead
    run's only job slot is taken again within two lease periods, and a job submitted after the
    restart is delivered too."""
    up, runway, store = stack
    runway.task_seconds = {"video": 8.0}
    with temporary_settings({PREFECT_API_URL: up.url}):
        first = _submit(store, "How glaciers carve valleys")
        wait_for(lambda: len(runway.created("video")) == 10, timeout=240,
                 what="ten clip tasks on Runway")
        # Journal keys are media store keys, `<job>/clips/...`.
        wait_for(lambda: written_ahead_or_fetched(store.open_tasks(str(first)), runway,
                                                  runway.created("video")), timeout=60,
                 what="the ten tasks written ahead")
        up.kill_everything()
        killed, killed_at = time.monotonic(), utcnow().replace(tzinfo=None)

        up.start()
        second = _submit(store, "How rivers meander")
        submitted = time.monotonic()

        def slot_taker() -> str | None:
            """The job that took the slot the dead run held: the new one, or the dead run's
            own job once its retried run queued it again (`queued_at` after the kill)."""
            if store.job(second).status == "running":
                return "the new job"
            job = store.job(first)
            # SQLite gives the stored UTC times back without their zone.
            queued_at = job.queued_at.replace(tzinfo=None) if job.queued_at else None
            requeued = queued_at is not None and queued_at > killed_at
            return "the retried run" if requeued and job.status == "running" else None

        # The slot is freed once the dead run's lease expires, about a lease period after the
        # kill (58 s, run alone). Both the new job (waiting since the restart) and the retried
        # run (scheduled again once its heartbeats are missed) wait for it, and Prefect gives
        # a freed slot to whichever waiter asks next, with no order across processes: either
        # may take it, but one must. Within two lease periods: on a loaded machine, a job was
        # once marked working 63 s after the server had created its lease.
        taker = wait_for(slot_taker, timeout=2 * JOB_LEASE_SECONDS + LEASE_SWEEP_SECONDS,
                         what="the freed slot taken")
        taken = time.monotonic()
        print(f"{taker} took the slot {taken - submitted:.0f} s after the new job was submitted, "
              f"{taken - killed:.0f} s after the kill (lease {JOB_LEASE_SECONDS} s)")

        wait_for(lambda: store.job(first).status == "delivered", timeout=420,
                 what="the first job delivered after the crash")
        delivered = time.monotonic()
        wait_for(lambda: store.job(second).status == "delivered", timeout=240,
                 what="the second job delivered")
        # The server restarted while the run worked, so its state events are held back for
        # 15 minutes (its beats are not): one more lost-run window closes after the run's
        # end with no state counted. The run must stay Completed past it.
        time.sleep(max(0.0, delivered + LOST_RUN_SECONDS + 15 - time.monotonic()))
        run_id = store.job(first).flow_run_id
        with api_client() as client:
            states = client.read_flow_run_states(run_id)
    for state in sorted(states, key=lambda s: s.timestamp):
        print(f"{state.timestamp:%H:%M:%S} {state.name}: {state.message or ''}")
    assert len(runway.created("video")) == 20  # ten for each job: none paid twice
    [retried] = [s for s in states if s.name == RETRY_STATE_NAME]
    assert max(states, key=lambda s: s.timestamp).is_completed()
    assert "No heartbeat" in (retried.message or "")
    assert any("carries on where it was" in line for line in up.lines)
    clips = [c for c in store.calls(first) if c.stage == "clips"]
    assert sorted(c.outcome for c in clips) == ["ok"] * 10
