"""Slots that cannot leak: a holder killed with the server down still frees its job slot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from prefect import get_client
from prefect.concurrency.sync import concurrency
from prefect.settings import PREFECT_API_URL, temporary_settings

from tasks.limits import JOB_LEASE_SECONDS, JOBS_LIMIT
from tests.helpers import wait_for
from tests.serving import PrefectServer, prefect_database

HOLD = f"""
import time
from prefect.concurrency.sync import concurrency
with concurrency({JOBS_LIMIT!r}, occupy=1, strict=True, lease_duration={JOB_LEASE_SECONDS}):
    print("held", flush=True)
    time.sleep(600)
"""


def _active_slots() -> int:
    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(JOBS_LIMIT).active_slots


def test_a_slot_held_by_a_killed_process_is_freed_after_a_server_restart(tmp_path: Path) -> None:
    """kill -9 of a job-slot holder and a restart of the Prefect server: the slot comes back
    within one lease period (plus the server's 5 s sweep), and a new job can take it."""
    with prefect_database("sqlite", tmp_path) as database:
        server = PrefectServer(database, tmp_path / "home", tmp_path / "server.log")
        url = server.start()
        holder: subprocess.Popen[str] | None = None
        try:
            with temporary_settings({PREFECT_API_URL: url}):
                with get_client(sync_client=True) as client:
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
                # A new job gets the slot at once (the limit is 1).
                with concurrency(JOBS_LIMIT, occupy=1, strict=True, timeout_seconds=10,
                                 raise_on_lease_renewal_failure=False):
                    pass
            print(f"slot freed {freed:.0f} s after the kill (lease {JOB_LEASE_SECONDS} s)")
        finally:
            if holder is not None and holder.poll() is None:
                os.killpg(holder.pid, signal.SIGKILL)
            server.stop()
