"""Concurrent writes to a Prefect server: how many it refuses with 503, on SQLite and PostgreSQL.

Run: .venv/bin/python benchmarks/prefect_writes.py [--writes 100] [--threads 20]

Starts `prefect server start` on a new SQLite database and on a new PostgreSQL database at
TEST_POSTGRES_URL's server (dropped after), registers one deployment, and creates --writes
flow runs of it from --threads threads at once through the REST API with plain HTTP (no
client retries), as a burst of bot triggers or gate resumes would. Prints, for each database,
the answers by status and the burst's wall time.

Why: Prefect's server on SQLite begins most write transactions as reads; when another
connection writes in between, SQLite refuses the upgrade at once ("database is locked",
SQLITE_BUSY, not waited out by the busy timeout) and the server answers 503 for the client
to try again (`prefect.server.api.server.is_client_retryable_exception`). Prefect's client
waits 2 s before its first retry (then 4, 8: 2**n, no setting). A refused resume, slot
increment or run creation therefore costs 2 s on a SQLite-backed server; this is where the
2 s outliers of `benchmarks/bot.py` (callback -> resume) and the slow slot hand-overs of
`benchmarks/providers.py` on SQLite come from.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

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
    for kind in ("sqlite", "postgresql"):
        with tempfile.TemporaryDirectory(prefix="prefect-writes-") as folder, \
                prefect_database(kind, Path(folder)) as database:
            server = PrefectServer(database, Path(folder) / "home", Path(folder) / "server.log")
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
        print(f"  {kind:<10} {shown}; refused with 503: {100 * refused / args.writes:.0f}%; "
              f"{seconds:.1f} s", flush=True)
    print("(each 503 costs a Prefect client 2 s before it tries again)")


if __name__ == "__main__":
    main()
