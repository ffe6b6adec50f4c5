"""Concurrent writes to a Prefect server: how many it refuses with 503, on SQLite and PostgreSQL.

Run: .venv/bin/python benchmarks/prefect_writes.py [--writes 100] [--threads 20]

Starts `prefect server start` on a new SQLite database, videobot's server
(`orchestration.prefect_server`, which carries a refused write out again itself) on another,
and `prefect server start` on a new PostgreSQL database at TEST_POSTGRES_URL's server
(dropped after), registers one deployment, and creates --writes
flow runs of it from --threads threads at once through the REST API with plain HTTP (no
client retries), as a burst of bot triggers or gate resumes would. Prints, for each database,
the answers by status and the burst's wall time. Then, on SQLite, the same burst through
Prefect's own client (which retries a 503 after 2 s, 4, 8...) against `prefect server start`
and against videobot's server: how long each creation took, p50, p95 and the slowest.

Why: Prefect's server on SQLite begins most write transactions as reads; when another
connection writes in between, SQLite refuses the upgrade at once ("database is locked",
SQLITE_BUSY, not waited out by the busy timeout) and the server answers 503 for the client
to try again (`prefect.server.api.server.is_client_retryable_exception`). Prefect's client
waits 2 s before its first retry (then 4, 8: 2**n, no setting). A refused resume, slot
increment or run creation therefore costs 2 s on `prefect server start` with SQLite; videobot's
server tries it again itself within milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prefect.settings import PREFECT_API_URL, temporary_settings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.serving import PrefectServer, prefect_database, runs_created_at_once  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--threads", type=int, default=20)
    args = parser.parse_args()
    print(f"{args.writes} flow runs created from {args.threads} threads at once, "
          "plain HTTP, no retries", flush=True)
    for kind, upstream in (("sqlite", True), ("sqlite", False), ("postgresql", True)):
        with tempfile.TemporaryDirectory(prefix="prefect-writes-") as folder, \
                prefect_database(kind, Path(folder)) as database:
            server = PrefectServer(database, Path(folder) / "home", Path(folder) / "server.log",
                                   upstream=upstream)
            try:
                url = server.start()
                started = time.perf_counter()
                answers = Counter(r.status_code for r in runs_created_at_once(
                    url, args.writes, args.threads))
                seconds = time.perf_counter() - started
            finally:
                server.stop()
        refused = answers.get(503, 0)
        shown = ", ".join(f"{code}: {n}" for code, n in sorted(answers.items()))
        print(f"  {kind:<10} {SERVERS[upstream]:<22} {shown}; refused with 503: "
              f"{100 * refused / args.writes:.0f}%; {seconds:.1f} s", flush=True)
    print("(each 503 costs a Prefect client 2 s before it tries again)")
    for upstream in (True, False):
        with tempfile.TemporaryDirectory(prefix="prefect-writes-") as folder, \
                prefect_database("sqlite", Path(folder)) as database:
            server = PrefectServer(database, Path(folder) / "home", Path(folder) / "server.log",
                                   upstream=upstream)
            try:
                url = server.start()
                seconds = sorted(creations_through_client(url, args.writes, args.threads))
            finally:
                server.stop()
        print(f"  sqlite, {SERVERS[upstream]:<22} each creation p50 "
              f"{statistics.median(seconds):.2f} s, p95 "
              f"{seconds[int(0.95 * (len(seconds) - 1))]:.2f} s, slowest "
              f"{seconds[-1]:.2f} s", flush=True)


SERVERS = {True: "prefect server start", False: "videobot's server"}


def creations_through_client(api_url: str, runs: int, threads: int) -> list[float]:
    """Seconds each of `runs` flow runs took to create through Prefect's client, from
    `threads` threads at once."""
    from prefect import get_client

    with temporary_settings({PREFECT_API_URL: api_url}):
        with get_client(sync_client=True) as client:
            flow_id = client.create_flow_from_name("burst-through-client")
            deployment_id = client.create_deployment(flow_id=flow_id, name="burst")

        def create(_: int) -> float:
            # Settings are a context variable, which the pool's threads do not inherit.
            with temporary_settings({PREFECT_API_URL: api_url}), \
                    get_client(sync_client=True) as client:
                started = time.perf_counter()
                client.create_flow_run_from_deployment(deployment_id)
                return time.perf_counter() - started

        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(create, range(runs)))


if __name__ == "__main__":
    main()
