"""Prefect's server as videobot runs it: a write SQLite refused for a conflict is carried out
again inside the server, so no client waits Prefect's 2 s for it."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.settings import PREFECT_HOME, temporary_settings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from orchestration.prefect_server import (
    LOCK_WAIT_MS,
    TRIES,
    ReplayWhenBusy,
    local_server,
    shorten_lock_waits,
)
from tests.serving import PrefectServer, runs_created_at_once


class _Conflict(Exception):
    pass


def _refusing_app(refusals: int, bodies: list[bytes]) -> Starlette:
    """Answers its first `refusals` requests 503 the way Prefect's server does: an exception
    its generic handler turns into a 503 (`custom_internal_exception_handler`)."""

    async def echo(request: Request) -> Response:
        bodies.append(await request.body())
        if len(bodies) <= refusals:
            raise _Conflict("database is locked")
        return JSONResponse({"body": bodies[-1].decode()}, status_code=201)

    async def stream(request: Request) -> Response:
        async def chunks():  # type: ignore[no-untyped-def]
            for part in (b"one ", b"two ", b"three"):
                yield part
        return StreamingResponse(chunks())

    async def fail(request: Request) -> Response:
        bodies.append(await request.body())
        raise ValueError("a bug, not a conflict")

    async def busy(request: Request, exc: Exception) -> Response:
        status = 503 if isinstance(exc, _Conflict) else 500
        return JSONResponse({"exception_message": "Service Unavailable"}, status_code=status)

    # Mounted under /api as Prefect's API is: the router rewrites the scope it routes.
    api = Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/stream", stream),
                            Route("/fail", fail, methods=["POST"])],
                    exception_handlers={Exception: busy})
    return Starlette(routes=[Mount("/api", api)])


def _post(app: Any, path: str = "/api/echo", body: bytes = b"hello") -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.post(path, content=body)

    return asyncio.run(send())


def test_starlette_raises_again_what_it_answered_503_for() -> None:
    """The upstream behaviour `ReplayWhenBusy` allows for: after the generic handler's 503 the
    exception still leaves the app (for the server to log), so a try that is to be repeated
    must not let it through."""
    bodies: list[bytes] = []
    with pytest.raises(_Conflict):
        _post(_refusing_app(1, bodies))
    assert bodies == [b"hello"]


def test_a_refused_request_is_carried_out_again_with_its_body() -> None:
    bodies: list[bytes] = []
    answer = _post(ReplayWhenBusy(_refusing_app(2, bodies), first_wait=0.001),
                   body=b"x" * 100_000)
    assert (answer.status_code, answer.json()) == (201, {"body": "x" * 100_000})
    assert bodies == [b"x" * 100_000] * 3


def test_a_conflict_that_lasts_reaches_the_client_after_the_last_try(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Prefect's 503 then goes to the client, whose own retries take over; the operator
    reads which request it was."""
    bodies: list[bytes] = []
    answer = _post(ReplayWhenBusy(_refusing_app(100, bodies), first_wait=0.001))
    assert (answer.status_code, answer.json()) == (503, {"exception_message":
                                                         "Service Unavailable"})
    assert len(bodies) == TRIES
    assert f"POST /api/echo: refused {TRIES} times" in caplog.text


def test_other_answers_and_errors_pass_through_after_one_try() -> None:
    bodies: list[bytes] = []
    app = ReplayWhenBusy(_refusing_app(0, bodies), first_wait=0.001)

    async def get_stream() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.get("/api/stream")

    assert asyncio.run(get_stream()).content == b"one two three"
    assert _post(app).status_code == 201
    with pytest.raises(ValueError, match="a bug"):  # a 500 and its error, as without it
        _post(app, "/api/fail")
    assert bodies == [b"hello", b"hello"]  # the echo, then the failing request: once each


def test_prefects_own_server_on_sqlite_refuses_writes_that_meet(
    tmp_path: Path, migrated_prefect_db: Callable[[Path], str]
) -> None:
    """The upstream behaviour `ReplayWhenBusy` is for: of flow runs created from 20 threads
    at once, `prefect server start` refuses some with 503 ("database is locked" on the
    server), which Prefect's client would try again only after 2 s. Should Prefect stop
    refusing them, this fails, and `ReplayWhenBusy` can go."""
    server = PrefectServer(migrated_prefect_db(tmp_path / "prefect.db"), tmp_path / "home",
                           tmp_path / "server.log", upstream=True)
    url = server.start()
    try:
        answers: Counter[int] = Counter()
        refused: list[httpx.Response] = []
        for _ in range(5):  # measured: three in four refused; five bursts leave no doubt
            for response in runs_created_at_once(url, 20, 20):
                answers[response.status_code] += 1
                if response.status_code == 503:
                    refused.append(response)
            if refused:
                break
    finally:
        server.stop()
    assert refused, f"no write refused: {dict(answers)}"
    assert set(answers) <= {201, 503}
    assert refused[0].json() == {"exception_message": "Service Unavailable"}
    assert "retry-after" not in refused[0].headers


def test_on_sqlite_no_write_of_a_burst_reaches_a_client_refused(
    tmp_path: Path, migrated_prefect_db: Callable[[Path], str]
) -> None:
    """The same bursts, on videobot's server: all accepted."""
    server = PrefectServer(migrated_prefect_db(tmp_path / "prefect.db"), tmp_path / "home",
                           tmp_path / "server.log")
    url = server.start()
    try:
        answers = [response.status_code for _ in range(5)
                   for response in runs_created_at_once(url, 20, 20)]
    finally:
        server.stop()
    assert answers == [201] * 100


def test_a_local_server_serves_while_the_block_runs_and_stops_after(
    tmp_path: Path, migrated_prefect_db: Callable[[Path], str]
) -> None:
    database = {"PREFECT_API_DATABASE_CONNECTION_URL": migrated_prefect_db(tmp_path / "p.db")}
    with temporary_settings({PREFECT_HOME: tmp_path / "home"}), \
            local_server(database) as api_url:
        with urllib.request.urlopen(f"{api_url}/health", timeout=5) as reply:
            assert reply.status == 200
        port = int(api_url.split(":")[2].split("/")[0])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert (tmp_path / "home" / "videobot-local-server.log").is_file()


def test_a_local_server_that_cannot_start_says_where_its_log_is(tmp_path: Path) -> None:
    unusable = {"PREFECT_API_DATABASE_CONNECTION_URL":
                f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'folder' / 'p.db'}"}
    with temporary_settings({PREFECT_HOME: tmp_path / "home"}), \
            pytest.raises(RuntimeError, match="videobot-local-server.log"), \
            local_server(unusable):
        pass
    assert (tmp_path / "home" / "videobot-local-server.log").read_text()


def _lock_waits(prefect_db: Path, app_db: Path) -> tuple[int, int]:
    """The lock wait (busy_timeout, ms) of a connection from Prefect's own SQLite engine, and
    of one from a plain SQLAlchemy engine on SQLite (as the app database's)."""
    import sqlalchemy as sa
    from prefect.server.database.configurations import AioSqliteConfiguration

    async def prefects() -> int:
        engine = await AioSqliteConfiguration(f"sqlite+aiosqlite:///{prefect_db}").engine()
        try:
            async with engine.connect() as conn:
                return int((await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one())
        finally:
            await engine.dispose()

    plain = sa.create_engine(f"sqlite:///{app_db}")
    try:
        with plain.connect() as conn:
            app = int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one())
    finally:
        plain.dispose()
    return asyncio.run(prefects()), app


def test_prefect_sqlite_connections_wait_a_minute_for_a_lock_ours_five_seconds(
    tmp_path: Path,
) -> None:
    """Prefect's SQLite connections wait 60 s for a lock; in videobot's server (which calls
    `shorten_lock_waits` on SQLite) LOCK_WAIT_MS. Other SQLite connections are left as
    they are."""
    upstream_prefect, upstream_app = _lock_waits(tmp_path / "a.db", tmp_path / "app-a.db")
    shorten_lock_waits()
    try:
        ours_prefect, ours_app = _lock_waits(tmp_path / "b.db", tmp_path / "app-b.db")
    finally:
        shorten_lock_waits(on=False)
    assert upstream_prefect == 60000
    assert ours_prefect == LOCK_WAIT_MS == 5000
    assert ours_app == upstream_app
