"""Processes run beside the tests (and benchmarks): the Prefect server, the serve process."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

import httpx
from prefect.settings import PREFECT_API_URL, temporary_settings

from cli.stack import (
    FILE_LEASES,
    LEASE_STORAGE_SETTING,
    REPOSSESSOR_SECONDS,
    REPOSSESSOR_SETTING,
    SLOT_WAIT_SECONDS,
    SLOT_WAIT_SETTING,
    WRITE_BATCHES,
)
from orchestration.prefect_server import (
    free_port,
    healthy,
    server_command,
    server_environment,
)
from orchestration.runs import api_client
from tests.helpers import wait_for
from tests.processes import carries
from videobot.decisions import Decision

REPO = Path(__file__).resolve().parents[1]


class Server:
    """`python -m deployments.serve` in its own process group, restartable.

    `env` adds to (or overrides) the test process's environment, e.g. MAX_CONCURRENT_JOBS;
    `args` are given to it, e.g. `--reconcile-slots`.
    """

    def __init__(self, api_url: str, env: Mapping[str, str] | None = None,
                 args: Sequence[str] = ()) -> None:
        self.api_url = api_url
        self.args = list(args)
        self.env = {
            **os.environ,
            "PREFECT_API_URL": api_url,
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            **(env or {}),
        }
        self.log = Path(self.env["DATA_DIR"]) / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start serving; returns once this process has set the limits and the deployments exist."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:  # kept for reading when a test fails
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "deployments.serve", *self.args],
                cwd=REPO,
                env=self.env,
                start_new_session=True,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        with (
            temporary_settings({PREFECT_API_URL: self.api_url}),
            api_client() as client,
        ):
            wait_for(
                lambda: self._alive() and self._limits_set(offset) and _deployment_ready(client),
                timeout=120,
                what="served deployments",
            )

    def _alive(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"the serve process exited ({self.proc.returncode}):\n{tail}")
        return True

    def _limits_set(self, offset: int) -> bool:
        """The serve process printed the limits it set on the Prefect server (`ensure_limits`)."""
        with self.log.open("rb") as log:
            log.seek(offset)
            return b"videobot: limits" in log.read()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def children(self) -> list[str]:
        assert self.proc is not None
        found = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return found.stdout.split()

    def run_processes(self, flow_run_id: UUID) -> list[str]:
        """The processes it started for one flow run (not, say, the hourly cleanup's)."""
        return [pid for pid in self.children()
                if carries(int(pid), "PREFECT__FLOW_RUN_ID", str(flow_run_id))]


def _deployment_ready(client: object) -> bool:
    try:
        client.read_deployment_by_name("make-video/make-video")  # type: ignore[attr-defined]
        client.read_deployment_by_name("rerun-stage/rerun-stage")  # type: ignore[attr-defined]
        return True
    except Exception:
        return False


def resume(flow_run_id: UUID, decision: Decision, timeout: float = 30) -> None:
    """Resume the run at the gate it waits at, as the product's resumer does
    (`orchestration.runs.resume`: it waits for the pause and its input form, and past
    `timeout` puts the decision on the gate row and resumes the run without its form)."""
    from orchestration.runs import resume as resume_job
    from tasks.runtime import runtime

    with api_client() as client:
        run = client.read_flow_run(flow_run_id)
    key = run.state.state_details.pause_key if run.state is not None else None
    stage, attempt = (key or "script-1").split("-")[:2]  # the gates key `{stage}-{attempt}…`
    job_id = UUID(str(run.parameters["job_id"]))
    assert resume_job(runtime().store, job_id, stage, int(attempt), decision, within=timeout)


class PrefectServer:
    """Prefect's server as videobot runs it (`orchestration.prefect_server`; with `upstream`,
    `prefect server start` itself) in its own process group, on a free port, analytics off."""

    def __init__(self, database_url: str, home: Path, log: Path, upstream: bool = False) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.home, self.log = home, log
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")},
            "PREFECT_HOME": str(home),
            "PREFECT_API_DATABASE_CONNECTION_URL": database_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            # As `videobot up` runs its server: short slot waits, slot leases on disk, expired
            # ones freed soon, writes batched.
            SLOT_WAIT_SETTING: SLOT_WAIT_SECONDS,
            LEASE_STORAGE_SETTING: FILE_LEASES,
            REPOSSESSOR_SETTING: REPOSSESSOR_SECONDS,
            **WRITE_BATCHES,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180) -> str:
        self.home.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        prefect = Path(sys.executable).with_name("prefect")
        upstream = [str(prefect), "server", "start", "--host", "127.0.0.1",
                    "--port", str(self.port)]
        command = upstream if self.upstream else server_command(self.port)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                command,
                cwd=self.home,
                env=self.env if self.upstream else server_environment(self.env),
                start_new_session=True,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._healthy, timeout=timeout, what=f"the Prefect server at {self.url}")
        return self.url

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"prefect server exited ({self.proc.returncode}):\n{tail}")
        return healthy(self.url)

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError):  # children that outlived the parent
            os.killpg(self.proc.pid, signal.SIGKILL)


def runs_created_at_once(api_url: str, runs: int, threads: int) -> list[httpx.Response]:
    """The answers to creating `runs` flow runs of a new deployment from `threads` threads at
    once, through the REST API with plain HTTP (no client retries)."""
    with httpx.Client(base_url=api_url, timeout=120) as client:
        flow = _accepted(client, "/flows/", {"name": "burst"})
        deployment = _accepted(client, "/deployments/", {"name": "burst", "flow_id": flow["id"]})

    def create(_: int) -> httpx.Response:
        with httpx.Client(base_url=api_url, timeout=120) as client:
            return client.post(f"/deployments/{deployment['id']}/create_flow_run", json={})

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(create, range(runs)))


def _accepted(client: httpx.Client, path: str, body: dict[str, str]) -> dict[str, str]:
    """The answer to a set-up write, sent again while refused with 503: it meets the writes
    of the server's own services as it starts, and a SQLite-backed server refuses those too."""
    deadline = time.monotonic() + 60
    while True:
        response = client.post(path, json=body)
        if response.status_code != 503 or time.monotonic() > deadline:
            return dict(response.raise_for_status().json())
        time.sleep(0.1)


def migrate_prefect_sqlite(path: Path) -> None:
    """A new Prefect SQLite database at `path`, migrated to this Prefect's schema, in one
    file (no write-ahead log beside it), ready to be copied."""
    import sqlite3

    with tempfile.TemporaryDirectory(prefix="prefect-migrate-") as home:
        made = Path(home) / "prefect.db"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")},
               "PREFECT_HOME": home, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{made}"}
        prefect = Path(sys.executable).with_name("prefect")
        done = subprocess.run([str(prefect), "server", "database", "upgrade", "-y"], env=env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise AssertionError(f"prefect database upgrade failed:\n{done.stdout[-3000:]}"
                                 f"\n{done.stderr[-3000:]}")
        with contextlib.closing(sqlite3.connect(made)) as conn:
            conn.execute("PRAGMA journal_mode = DELETE")
        shutil.move(made, path)


@contextlib.contextmanager
def prefect_database(kind: str, folder: Path) -> Iterator[str]:
    """A Prefect server's database URL: a SQLite file in `folder`, or a PostgreSQL database
    made for it at TEST_POSTGRES_URL's server (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'prefect.db'}"
        return
    import uuid

    import psycopg

    admin = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"prefect_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
