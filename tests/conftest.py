"""Shared fixtures: an isolated data directory, one Prefect server per session, real databases."""

from __future__ import annotations

import functools
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.runway_kit import Kit, build_kit
from tests.fakes.runway_server import FakeRunway

if TYPE_CHECKING:
    from tests.serving import Server
    from videobot.db.store import JobStore

# Before anything reads settings: every test session gets its own data dir and app database.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="videobot-tests-"))
os.environ["DATA_DIR"] = str(_SESSION_DIR / "data")
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# As `videobot up` and a local run set it: a call denied a slot tries again within half a second.
os.environ.setdefault("PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS", "0.5")
os.environ["VIDEOBOT_NO_PROMPT"] = "1"
# The serving processes the tests start look for runs to start or resume once a second, not
# four times: four polls a second cost an idle Prefect server 5% of a core more, one 1%
# (measured on SQLite), and the suite runs two or three serving processes at once. A run started
# or resumed waits 0.4 s longer on average. The benchmarks keep the default.
os.environ.setdefault("RUNNER_POLL_SECONDS", "1")
# Videos made through the whole pipeline are drafts at a quarter of the format's sides (the
# same steps, a sixteenth of the encoding); the media tests make full-size media directly, and
# the `videobot up` test makes one full-size video.
os.environ.setdefault("VIDEO_SCALE", "0.25")

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def migrated_prefect_db(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], str]:
    """Puts a migrated, empty Prefect SQLite database at a path and returns its URL: a copy of
    one migrated once for every test process. A server that migrates a new database spends
    about 5 CPU s of its start on it, and the suite starts six on SQLite."""
    import fcntl
    import shutil

    import prefect

    from tests.serving import migrate_prefect_sqlite

    shared = tmp_path_factory.getbasetemp().parent  # the same folder for every xdist worker
    template = shared / f"prefect-{prefect.__version__}.db"
    with (shared / "prefect-db.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.exists():
            migrate_prefect_sqlite(template)

    def copy_to(path: Path) -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"

    return copy_to


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """One Prefect server for the session, run as `videobot up` runs it
    (`orchestration.prefect_server`): every background service on, slot leases on disk.

    On its own PostgreSQL database: SQLite takes one write at a time, and the three test
    processes write at once all session long; a write refused for that is carried out again,
    but waits its turn. The modules that test the SQLite-backed stack (`videobot up`, the
    limits, slot leases) start their own server.

    Not `prefect_test_harness`: its server is an ephemeral one, which runs no lease
    repossessor, so a job slot held by a flow-run process a test kills would stay taken for
    the rest of the session and later jobs would queue forever."""
    from prefect.logging.handlers import APILogHandler
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tasks.limits import ensure_limits
    from tests.serving import PrefectServer, prefect_database
    from videobot.settings import get_settings

    folder = _SESSION_DIR / "prefect"
    with prefect_database("postgresql", folder) as database:
        server = PrefectServer(database, folder, folder / "server.log")
        # Three test processes share the PostgreSQL server (100 connections) with the
        # modules that start servers of their own.
        server.env.update(PREFECT_SERVER_DATABASE_SQLALCHEMY_POOL_SIZE="4",
                          PREFECT_SERVER_DATABASE_SQLALCHEMY_MAX_OVERFLOW="4")
        url = server.start()
        try:
            with temporary_settings({PREFECT_API_URL: url}):
                ensure_limits(get_settings())
                yield url
                # The log records of runs made in this process go out while the server is up,
                # not at exit ("Error logging to API").
                APILogHandler().flush()
        finally:
            server.stop()


@pytest.fixture(scope="module")
def server(prefect_server: str) -> Iterator[Server]:
    """The deployments served (`python -m deployments.serve`, offline providers), one serving
    process per test module that asks for it."""
    from tests.serving import Server

    served = Server(prefect_server)
    served.start()
    yield served
    served.kill()


@pytest.fixture
def registered_runs(prefect_server: str) -> Iterator[list[Any]]:
    """The make-video deployment registered (not served): jobs the bot starts get a run that
    stays scheduled. A test lists the runs it leaves in the list; they are deleted afterwards,
    so that no later serving process takes them."""
    from flows.make_video import make_video
    from orchestration.runs import api_client

    make_video.to_deployment(name="make-video", tags=["videobot"]).apply()
    runs: list[Any] = []
    yield runs
    with api_client() as client:
        for run_id in runs:
            client.delete_flow_run(run_id)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session, dropped at the end."""
    import psycopg

    name = f"videobot_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(database_url: str) -> Iterator[JobStore]:
    """A migrated job store on each of the two databases."""
    from videobot.db.engine import Database
    from videobot.db.store import JobStore

    db = Database(database_url)
    db.migrate()
    yield JobStore(db)
    db.dispose()


@pytest.fixture
def runway() -> Iterator[FakeRunway]:
    """A fake Runway API on 127.0.0.1."""
    with FakeRunway() as server:
        yield server


@pytest.fixture
def kit(runway: FakeRunway, tmp_path: Path) -> Iterator[Callable[..., Kit]]:
    """Builds both Runway providers on real clients pointed at the fake, with overrides."""
    with ExitStack() as stack:
        yield functools.partial(build_kit, runway, tmp_path / "data", stack)


# The longest modules, longest first (by `bin/test --durations` on two cores: about 250 s
# for test_workers down to 40 s). Started first, so that when bin/test spreads the modules
# over processes, none of them is left running alone at the end.
LONGEST_FIRST = (
    "test_workers", "test_limits", "test_slot_leases", "test_crash_stack", "test_operator_paths",
    "test_all_failed", "test_flow_providers", "test_stack", "test_bot_flow", "test_flow",
    "test_deployments", "test_runway_write_ahead", "test_provider_time_limits",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: order kept within
