"""A process work pool run beside the tests and benchmarks, as on several machines: `prefect
server start` and the app database on PostgreSQL, media in an S3-compatible bucket (moto's
server), a fake Runway, and `videobot worker` processes, each with its own scratch folder.

    with pool_services(folder, MAX_CONCURRENT_JOBS="2") as pool:
        pool.add_worker("worker-a")       # creates the pool, the limits, the automations
        pool.deploy()                     # prefect deploy --all (prefect.yaml)
        job, run = pool.submit("How volcanoes work")
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import psycopg
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL, temporary_settings

from orchestration.runs import api_client
from tests.conftest import POSTGRES_ADMIN_URL
from tests.fakes.runway_server import FakeRunway
from tests.helpers import wait_for
from tests.processes import carries, kill_marked
from tests.serving import REPO, PrefectServer, prefect_database
from tests.test_media_store import S3_ENV, S3Server
from videobot.db.engine import Database
from videobot.db.store import JobStore
from videobot.media.bucket_store import BucketStore

BUCKET = "videobot-media"

def alive(pid: int) -> bool:
    """Running: not gone, its leader not a zombie (whether its sockets are closed yet is
    `tests.processes.exited`)."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(")")[-1].split()[0] != "Z"


class Worker:
    """`python -m cli worker --name NAME` in its own session, with its own scratch folder."""

    def __init__(self, name: str, folder: Path, env: Mapping[str, str]) -> None:
        self.name, self.folder = name, folder
        self.scratch = folder / "scratch"
        self.log = folder / "worker.log"
        self.env = {**env, "SCRATCH_DIR": str(self.scratch), "DATA_DIR": str(folder / "data")}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, api_url: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cli", "worker", "--name", self.name], cwd=REPO,
                env=self.env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT,
            )
        wait_for(lambda: self._polling(api_url), timeout=180, what=f"worker {self.name}")

    def _polling(self, api_url: str) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"worker {self.name} exited:\n{self.text()[-3000:]}")
        with temporary_settings({PREFECT_API_URL: api_url}), api_client() as c:
            try:
                workers = c.read_workers_for_work_pool("videobot")
            except (ObjectNotFound, PrefectHTTPStatusError):  # the pool is not made yet
                return False
        return any(w.name == self.name and w.status == "ONLINE" for w in workers)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def ran(self, run_id: UUID) -> bool:
        return f"submitting flow run '{run_id}'" in self.text()

    def owns(self, pid: int) -> bool:
        """The process is this worker's or was started under it (its scratch folder, in the
        environment every process of the worker inherits, marks it)."""
        return carries(pid, "SCRATCH_DIR", str(self.scratch))

    def kill_machine(self) -> set[int]:
        """SIGKILL the worker and every process it started, as a lost machine; returns their
        pids once all of them are dead, their connections closed."""
        assert self.proc is not None
        killed = kill_marked("SCRATCH_DIR", str(self.scratch))
        self.proc.wait(10)
        return killed

    def stop(self) -> None:
        if self.proc is not None:
            self.kill_machine()

    def files_left(self) -> list[str]:
        return sorted(str(p.relative_to(self.scratch)) for p in self.scratch.rglob("*")
                      if p.is_file())


@dataclass
class Pool:
    """The shared services and the workers: everything a job needs, on 127.0.0.1."""

    api_url: str
    store: JobStore
    bucket: BucketStore
    runway: FakeRunway
    env: dict[str, str]
    folder: Path
    workers: list[Worker] = field(default_factory=list)

    def add_worker(self, name: str) -> Worker:
        worker = Worker(name, self.folder / name, self.env)
        worker.start(self.api_url)
        self.workers.append(worker)
        return worker

    def deploy(self) -> None:
        """`prefect deploy --all` from the repository, as an operator does (prefect.yaml)."""
        done = subprocess.run(
            [str(Path(sys.executable).with_name("prefect")), "--no-prompt", "deploy", "--all"],
            cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    def submit(self, prompt: str) -> tuple[UUID, UUID]:
        job = self.store.create_job(user_id="test", prompt=prompt, language="en", fmt="16:9")
        with temporary_settings({PREFECT_API_URL: self.api_url}):
            run = run_deployment(
                "make-video/make-video", parameters={"job_id": str(job.id), "auto_approve": True},
                flow_run_name=f"video-{str(job.id)[:8]}", timeout=0,
            )
        return job.id, run.id

    def runs(self, run_ids: list[UUID]) -> list[FlowRun]:
        with temporary_settings({PREFECT_API_URL: self.api_url}), api_client() as c:
            return c.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids)))

    def pids(self, run_ids: list[UUID]) -> dict[UUID, int]:
        """The flow-run process of each run that has one."""
        return process_ids(self.runs(run_ids))

    def states(self, run_id: UUID) -> list[tuple[str, str]]:
        with temporary_settings({PREFECT_API_URL: self.api_url}), api_client() as c:
            return [(s.name or "", s.message or "") for s in c.read_flow_run_states(run_id)]


def process_ids(runs: list[FlowRun]) -> dict[UUID, int]:
    """The flow-run process of each run that has one (`infrastructure_pid` is "host:pid")."""
    return {r.id: int(r.infrastructure_pid.rsplit(":", 1)[-1])
            for r in runs if r.infrastructure_pid}


def started(runs: list[FlowRun]) -> int:
    """How many of the runs hold a place in the pool (Pending or Running) with a live
    process: what the pool's concurrency limit caps. A run whose state has ended while its
    process still exits is not counted, nor one whose process died with its machine."""
    pids = process_ids(runs)
    return sum(1 for r in runs if r.state_type in (StateType.PENDING, StateType.RUNNING)
               and r.id in pids and alive(pids[r.id]))


@contextmanager
def app_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the app, dropped at the end."""
    name = f"videobot_pool_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def pool_services(folder: Path, **settings: str) -> Iterator[Pool]:
    """Prefect's server and the app database on PostgreSQL, the bucket, a fake Runway; the
    workers' environment (`settings` adds to it), and every worker stopped at the end."""
    with ExitStack() as stack:
        s3 = stack.enter_context(S3Server(folder / "moto.log"))
        bucket = s3.store(BUCKET, "media")
        server = PrefectServer(stack.enter_context(prefect_database("postgresql", folder)),
                               folder / "prefect-home", folder / "prefect.log")
        api_url = server.start()
        stack.callback(server.stop)
        app_url = stack.enter_context(app_database())
        runway = stack.enter_context(FakeRunway())
        db = Database(app_url)
        db.migrate()  # once, before the workers: their start-up checks find it current
        stack.callback(db.dispose)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")},
            "PREFECT_API_URL": api_url, "DATABASE_URL": app_url,
            "MEDIA_STORE": f"s3://{BUCKET}/media", "MEDIA_STORE_ENDPOINT_URL": s3.url, **S3_ENV,
            "VIDEO_PROVIDER": "runway", "RUNWAY_API_KEY": FakeRunway.API_KEY,
            "RUNWAYML_BASE_URL": runway.url, "RUNWAY_POLL_SECONDS": "0.2",
            "RUNWAY_CONCURRENCY": "20", "WORKER_POLL_SECONDS": "1", "MUSIC": "false",
            "PREFECT_LOGGING_LEVEL": "INFO",  # the worker logs each run it submits
            **settings,
        }
        pool = Pool(api_url, JobStore(db), bucket, runway, env, folder)
        stack.callback(lambda: [w.stop() for w in pool.workers])
        yield pool


def making_clips(pool: Pool, jobs: Mapping[UUID, UUID]) -> tuple[UUID, int] | None:
    """A job making its clips whose ten clip tasks are each recorded, open in the write-ahead
    journal or done in the ledger (on a busy machine the first clip may end before the last
    task is made), and its flow-run process. (A process killed between Runway's answer to a
    create and the record of it would leave a task the next attempt cannot know of: that
    window is the journal's, and is not what these tests measure.)"""
    for job, run in jobs.items():
        running = {task_id for _, _, task_id in pool.store.open_tasks(f"{job}/clips")}
        done = {c.request_id for c in pool.store.calls(job, "clips") if c.outcome == "ok"}
        if not running or len(running | done) < 10:
            continue
        pid = pool.pids([run]).get(run)
        if pid and alive(pid):
            return job, pid
    return None


def running_on(pool: Pool, run: UUID, worker: Worker) -> bool:
    pid = pool.pids([run]).get(run)
    return bool(pid and worker.owns(pid) and pool.states(run)[-1][0] == "Running")
