"""Slots that cannot leak: a holder killed with the server down still frees its job slot, and
a slot counted with no lease behind it is given back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from orchestration.runs import api_client, cancel_run
from tasks.limits import JOB_LEASE_SECONDS, JOBS_LIMIT
from tasks.slot_reconciliation import CHECK_EVERY_SECONDS, leaked_slots
from tests.fakes.runway_server import FakeRunway
from tests.helpers import new_job, wait_for
from tests.serving import PrefectServer, Server

HOLD = f"""
import time
from prefect.concurrency.sync import concurrency
from prefect.deployments import run_deployment
with concurrency({JOBS_LIMIT!r}, occupy=1, strict=True, lease_duration={JOB_LEASE_SECONDS}):
    print("held", flush=True)
    time.sleep(600)
"""


def _active_slots() -> int:
    with api_client() as client:
        return client.read_global_concurrency_limit_by_name(JOBS_LIMIT).active_slots


def test_a_slot_held_by_a_killed_process_is_freed_after_a_server_restart(
    tmp_path: Path, migrated_prefect_db: Callable[[Path], str]
) -> None:
    """kill -9 of a job-slot holder and a restart of the Prefect server: the slot comes back
    within one lease period (plus the server's 5 s sweep), and a new job can take it."""
    server = PrefectServer(migrated_prefect_db(tmp_path / "prefect.db"), tmp_path / "home",
                           tmp_path / "server.log")
    url = server.start()
    holder: subprocess.Popen[str] | None = None
    try:
        with temporary_settings({PREFECT_API_URL: url}):
            with api_client() as client:
                client.upsert_global_concurrency_limit_by_name(JOBS_LIMIT, 1)
            holder = subprocess.Popen(
                [sys.executable, "-c", HOLD], env={**os.environ, "PREFECT_API_URL": url},
                stdout=subprocess.PIPE, text=True, start_new_session=True,
            )
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            assert _active_slots() == 1
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait(10)
            server.stop()
            killed = time.monotonic()
            server.start()
            wait_for(lambda: _active_slots() == 0, timeout=JOB_LEASE_SECONDS + 60,
                     what="the dead holder's slot to be freed")
            freed = time.monotonic() - killed
            # A new job gets the slot at once (the limit is 1; the server answers 423 when
            # it is taken). Asked through the client, not `concurrency()`: Prefect's slot
            # service is one per limit name and process, bound to the API it first talked
            # to (the session's server, in this test process).
            with api_client() as client:
                lease = client.increment_concurrency_slots_with_lease(
                    names=[JOBS_LIMIT], slots=1, mode="concurrency", lease_duration=60,
                ).json()["lease_id"]
                client.release_concurrency_slots_with_lease(lease)
        print(f"slot freed {freed:.0f} s after the kill (lease {JOB_LEASE_SECONDS} s)")
    finally:
        if holder is not None and holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
        server.stop()


def test_a_slot_counted_without_a_lease_is_given_back_while_a_working_run_keeps_its_own(
    tmp_path: Path, migrated_prefect_db: Callable[[Path], str]
) -> None:
    """A job slot counted with no lease behind it (a lease store lost with a restart) is
    given back by the serving process's check, a lease period after it starts; the slot of
    a run working meanwhile (ten long Runway clips) stays taken."""
    with FakeRunway() as runway:
        server = PrefectServer(migrated_prefect_db(tmp_path / "prefect.db"), tmp_path / "home",
                               tmp_path / "server.log")
        url = server.start()
        served: Server | None = None
        try:
            with temporary_settings({PREFECT_API_URL: url}):
                with api_client() as client:
                    client.upsert_global_concurrency_limit_by_name(JOBS_LIMIT, 2)
                    client.increment_concurrency_slots(names=[JOBS_LIMIT], slots=1,
                                                       mode="concurrency")
                assert _active_slots() == 1
                runway.task_seconds = {"video": 600.0}
                served = Server(url, env={
                    "MAX_CONCURRENT_JOBS": "2", "VIDEO_PROVIDER": "runway",
                    "RUNWAY_API_KEY": FakeRunway.API_KEY, "RUNWAYML_BASE_URL": runway.url,
                    "RUNWAY_CONCURRENCY": "20",
                }, args=["--reconcile-slots"])
                served.start()
                started = time.monotonic()
                job_id = new_job("How salmon find home")
                run = run_deployment("make-video/make-video", timeout=0,
                                     parameters={"job_id": str(job_id), "auto_approve": True})
                wait_for(lambda: len(runway.created("video")) == 10, timeout=180,
                         what="the run working on its clips")
                assert _active_slots() == 2
                wait_for(lambda: _active_slots() == 1,
                         timeout=CHECK_EVERY_SECONDS + 60, what="the leaked slot given back")
                print(f"leaked slot given back {time.monotonic() - started:.0f} s after the "
                      f"serving process started (check every {CHECK_EVERY_SECONDS} s)")
                with api_client() as client:
                    assert client.read_flow_run(run.id).state.is_running()
                cancel_run(run.id, reason="test over")
        finally:
            if served is not None:
                served.kill()
            server.stop()


def test_leaked_slots_are_those_no_run_could_hold() -> None:
    """Slots beyond the runs that may hold one are leaked; a run counted in either look at
    the runs (before or after reading the slots) keeps its slot."""
    assert leaked_slots(active=3, runs_before=1, runs_after=1) == 2
    assert leaked_slots(active=2, runs_before=1, runs_after=2) == 0
    assert leaked_slots(active=1, runs_before=2, runs_after=0) == 0
