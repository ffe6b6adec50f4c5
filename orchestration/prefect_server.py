"""Prefect's API server as videobot runs it: Prefect's own app (`prefect server start`'s), with
a write a SQLite database refused for a conflict carried out again inside the server.

Prefect's server on SQLite begins most write transactions as reads; when another connection
writes in between, SQLite refuses the upgrade at once ("database is locked", not waited out by
the busy timeout), and the server answers 503 for the client to send the request again
(`prefect.server.api.server.is_client_retryable_exception`). Prefect's client waits 2 s, then
4, 8, 16, 32 s (2**n, no setting shortens it): a burst of task runs, slot requests or resumes
on one SQLite server loses seconds to conflicts over within milliseconds
(`tests/test_prefect_server.py` shows both). Here the server itself hands the same request to
the app again after 10 ms, 20 ms, ... while the answer is 503, as the client would, only
sooner, and one refused request at a time, so that they no longer meet each other: a refused
write changed nothing (its transaction was rolled back). After the last try the 503 goes to
the client, whose own retries still follow. On PostgreSQL Prefect refuses no
write for a conflict; there a 503 means the database is away, and the app is left as it is.

On SQLite the server's connections also wait 5 s for a lock, not Prefect's 60 s
(`LOCK_WAIT_MS`).

Run by `videobot up`, by `videobot make`'s local server and by the tests' servers:
    python -m uvicorn --factory orchestration.prefect_server:create_app --host ... --port ...
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)
FIRST_WAIT_SECONDS = 0.01
TRIES = 7  # after waits of 10 ms to 320 ms, 0.63 s in all; then the client's own retries
BUSY = 503
REFUSED = b'{"exception_message": "Service Unavailable"}'  # Prefect's own 503 body


class ReplayWhenBusy:
    """ASGI middleware: an HTTP request the app answers 503 is handed to it again, with the
    body it came with, after a short doubling wait; refused `tries` times, it is answered
    Prefect's 503 (and a warning logged). Any other answer streams through untouched."""

    def __init__(self, app: App, tries: int = TRIES,
                 first_wait: float = FIRST_WAIT_SECONDS) -> None:
        self.app, self.tries, self.first_wait = app, tries, first_wait
        # Refused requests are tried again one at a time, so that they no longer meet each
        # other; their waits are not.
        self._again = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _whole_body(receive)
        if await self._answered(scope, body, receive, send):
            return
        wait = self.first_wait
        for _ in range(self.tries - 1):
            await asyncio.sleep(wait)
            async with self._again:
                if await self._answered(scope, body, receive, send):
                    return
            wait *= 2
        log.warning("%s %s: refused %d times for a write conflict; answered 503, the client "
                    "asks again", scope["method"], scope["path"], self.tries)
        await send({"type": "http.response.start", "status": BUSY,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(REFUSED)).encode())]})
        await send({"type": "http.response.body", "body": REFUSED})

    async def _answered(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> bool:
        """Runs the request once; False when the app answered 503 and nothing was sent."""
        busy = False

        async def send_unless_busy(message: Message) -> None:
            nonlocal busy
            if message["type"] == "http.response.start" and message["status"] == BUSY:
                busy = True
            if not busy:
                await send(message)

        try:
            await self.app(_fresh(scope), _replay(body, receive), send_unless_busy)
        except Exception:
            # Starlette's error middleware raises again what it answered 503 for (to log it);
            # a request that will be tried again is not an error yet.
            if not busy:
                raise
        return not busy


def _fresh(scope: Scope) -> Scope:
    """The scope for one try: Starlette's router rewrites the one it routes (path,
    root_path), and a request's state lives in it."""
    fresh = dict(scope)
    if "state" in scope:
        fresh["state"] = dict(scope["state"])
    return fresh


async def _whole_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, after: Receive) -> Receive:
    """A `receive` that gives the whole body once, then waits on `after`."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await after()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def create_app() -> App:
    """uvicorn's factory: Prefect's app (ephemeral, final and webserver-only from the same
    environment variables `prefect server start` and Prefect's local server set), wrapped on
    SQLite."""
    import prefect.settings
    from prefect.server.api.server import create_app as prefect_app
    from prefect.server.utilities.database import get_dialect

    app: App = prefect_app()
    database = prefect.settings.PREFECT_API_DATABASE_CONNECTION_URL.value()
    if get_dialect(database).name != "sqlite":
        return app
    shorten_lock_waits()
    return ReplayWhenBusy(app)


# Prefect's SQLite connections wait up to 60 s for another connection's lock (`PRAGMA
# busy_timeout = 60000`, prefect.server.database.configurations). In a burst (20 runs
# starting at once, benchmarks/bot.py) the server now and then stalls: one of its own
# transactions (a trigger evaluation, the event persister, a state change) holds the write
# lock and commits only when the writers waiting for it give up, so every write (requests,
# services, flow-run heartbeats) waited the whole minute, and runs were taken for lost. With
# 5 s waits the same stalls end after 5 s; the writes that gave up are answered 503 and
# carried out again (ReplayWhenBusy, then the client's retries).
LOCK_WAIT_MS = 5000


def _wait_less(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """A pool checkout: the connection's lock wait shortened, once per connection."""
    from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

    if not isinstance(dbapi_connection, AsyncAdapt_aiosqlite_connection):
        return  # not the Prefect server's (aiosqlite) database
    if record.info.get("lock_wait_ms") == LOCK_WAIT_MS:
        return
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
    cursor.close()
    record.info["lock_wait_ms"] = LOCK_WAIT_MS


def shorten_lock_waits(on: bool = True) -> None:
    """Prefect's SQLite connections in this process wait at most LOCK_WAIT_MS for a lock (set
    at checkout: Prefect sets its own when it connects); `on=False` takes that back."""
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    if on and not event.contains(Pool, "checkout", _wait_less):
        event.listen(Pool, "checkout", _wait_less)
    elif not on and event.contains(Pool, "checkout", _wait_less):
        event.remove(Pool, "checkout", _wait_less)


def server_command(port: int) -> list[str]:
    """The command that serves the API on 127.0.0.1:`port` with every background service,
    as `prefect server start` does in one process (its log level too)."""
    from prefect.settings import PREFECT_SERVER_LOGGING_LEVEL

    return [sys.executable, "-m", "uvicorn", "--factory", f"{__name__}:create_app",
            "--host", "127.0.0.1", "--port", str(port), "--lifespan", "on",
            "--log-level", PREFECT_SERVER_LOGGING_LEVEL.value().lower()]


def server_environment(base: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """`prefect server start`'s one-process environment: this app is the last one built in
    the process, so Prefect may apply its final-app optimisations."""
    return {**(base if base is not None else os.environ), "PREFECT__SERVER_FINAL": "1"}


@contextmanager
def local_server(settings: Mapping[str, str], timeout: float = 60) -> Iterator[str]:
    """A server for this process alone, as Prefect's own local one runs
    (`SubprocessASGIServer`: Prefect's database, no UI, no background services), plus
    `settings`; its API URL while the block runs, stopped after. What it logs goes to
    `videobot-local-server.log` in PREFECT_HOME (a pipe nobody reads would fill and stall it)."""
    from prefect.settings import get_current_settings

    current = get_current_settings()
    env = {**os.environ, **current.to_environment_variables(exclude_unset=True),
           **settings, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1"}
    log = Path(current.home) / "videobot-local-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with log.open("ab") as out:
        server = subprocess.Popen(server_command(port), env=server_environment(env),
                                  stdout=out, stderr=subprocess.STDOUT)
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_healthy(api_url, server, timeout, log)
        yield api_url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def healthy(api_url: str, path: str = "/health") -> bool:
    """The server at `api_url` answers `path` with 200."""
    try:
        with urllib.request.urlopen(f"{api_url}{path}", timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def _wait_healthy(api_url: str, server: subprocess.Popen[bytes], timeout: float,
                  log: Path) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the local Prefect server stopped as it started; see {log}")
        if healthy(api_url):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the local Prefect server did not answer within "
                               f"{timeout:.0f} s; see {log}")
        time.sleep(0.1)
