"""The served deployments against a Prefect server whose own database is PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from orchestration.runs import api_client
from tasks.limits import JOBS_LIMIT, wanted_limits
from tasks.runtime import runtime
from tests.conftest import POSTGRES_ADMIN_URL
from tests.helpers import new_job, paused_at, wait_for
from tests.serving import PrefectServer, Server, resume
from tests.test_flow import ONE_VIDEO_CALLS
from videobot.decisions import Decision
from videobot.settings import get_settings


def _admin(sql: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="module")
def prefect_database() -> Iterator[str]:
    """A fresh PostgreSQL database for Prefect's own tables, dropped at the end."""
    name = f"prefect_test_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def postgres_prefect(
    prefect_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """videobot's Prefect server on that database; its API URL."""
    home = tmp_path_factory.mktemp("prefect-pg")
    asyncpg_url = prefect_database.replace("postgresql://", "postgresql+asyncpg://", 1)
    server = PrefectServer(asyncpg_url, home / "home", home / "server.log")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def served(postgres_prefect: str) -> Iterator[Server]:
    """The deployments served against the PostgreSQL-backed server."""
    server = Server(postgres_prefect)
    try:
        server.start()
        yield server
    finally:
        server.kill()


def _rows(database_url: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, params).fetchall()


def test_gated_job_on_a_postgres_backed_prefect_server(
    prefect_database: str, postgres_prefect: str, served: Server
) -> None:
    """A deployed job suspends and resumes at all three gates on Prefect with PostgreSQL, and
    is delivered with one provider call per step; its run and the limits live in PostgreSQL."""
    store = runtime().store
    with temporary_settings({PREFECT_API_URL: postgres_prefect}):
        with api_client() as client:
            limit = client.read_global_concurrency_limit_by_name(JOBS_LIMIT)
        assert limit.limit == wanted_limits(get_settings())[JOBS_LIMIT]  # set by the serve process

        job_id = new_job("How glaciers move")
        run_deployment("make-video/make-video", parameters={"job_id": str(job_id)}, timeout=0)
        for stage in ("script", "images", "clips"):
            wait_for(paused_at(job_id, stage, 1), timeout=300, what=f"the {stage} gate")
            run_id = store.job(job_id).flow_run_id
            with api_client() as client:
                state = client.read_flow_run(run_id).state
            assert state is not None and state.name == "Suspended"
            resume(run_id, Decision.make("approve", "test"))
        wait_for(
            lambda: store.job(job_id).status in ("delivered", "failed"),
            timeout=300,
            what="delivery",
        )

        def final_state() -> str | None:
            with api_client() as client:
                state = client.read_flow_run(run_id).state
            return state.name if state and state.is_final() else None

        assert wait_for(final_state, timeout=60, what="the run's final state") == "Completed"

    job = store.job(job_id)
    assert (job.status, job.error) == ("delivered", None)
    assert job.prefect_api_url == postgres_prefect
    assert store.call_counts(job_id) == ONE_VIDEO_CALLS
    assert runtime().files.exists(job.final_path or "")
    names = [
        r[0]
        for r in _rows(
            prefect_database,
            "SELECT name FROM flow_run_state WHERE flow_run_id = %s ORDER BY timestamp",
            run_id,
        )
    ]
    assert names.count("Suspended") == 3 and names.count("Resuming") == 3
    assert names[-1] == "Completed"
    slots = _rows(
        prefect_database,
        "SELECT active_slots FROM concurrency_limit_v2 WHERE name = %s",
        JOBS_LIMIT,
    )
    assert slots == [(0,)]
