"""A SQLite-backed Prefect server refuses writes that meet each other with 503, and a gate's
resume sends a refused write again at once instead of waiting the client's 2 s."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from orchestration.write_conflicts import (
    ConflictRetryingTransport,
    conflict_retrying,
    plain_http_tls,
)
from tests.serving import PrefectServer, runs_created_at_once


def test_a_sqlite_backed_prefect_server_refuses_writes_that_meet(
    tmp_path: Path, migrated_prefect_db: Callable[[Path], str]
) -> None:
    """Prefect's behaviour the retrying transport is for: of flow runs created from 20
    threads at once, some are refused with 503 ("database is locked" on the server), which
    Prefect's client would try again only after 2 s. Should Prefect stop refusing them, this
    fails, and `orchestration.write_conflicts` can go."""
    server = PrefectServer(migrated_prefect_db(tmp_path / "prefect.db"), tmp_path / "home",
                           tmp_path / "server.log")
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


class _Refusing(ThreadingHTTPServer):
    """Answers 503 to the first `refusals` requests, then 200 with the body it was sent."""

    def __init__(self, refusals: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.refusals = refusals
        self.seen: list[tuple[float, bytes]] = []


class _Handler(BaseHTTPRequestHandler):
    server: _Refusing

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((time.monotonic(), body))
        refused = len(self.server.seen) <= self.server.refusals
        reply = b'{"exception_message": "Service Unavailable"}' if refused else body
        self.send_response(503 if refused else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def refusing() -> Iterator[Callable[[int], _Refusing]]:
    servers: list[_Refusing] = []

    def start(refusals: int) -> _Refusing:
        server = _Refusing(refusals)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_refused_write_is_sent_again_at_once(refusing: Callable[[int], _Refusing]) -> None:
    """Two 503s, then the answer: the caller gets the answer; the same body was sent three
    times, each again within a second (Prefect's client would wait 2 s, then 4)."""
    server = refusing(2)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with httpx.Client(transport=ConflictRetryingTransport()) as client:
        response = client.post(f"{url}/flow_runs/x/resume", json={"run_input": {"a": 1}})
    assert response.status_code == 200 and response.json() == {"run_input": {"a": 1}}
    bodies = [body for _, body in server.seen]
    assert len(bodies) == 3 and len(set(bodies)) == 1
    gaps = [b - a for (a, _), (b, _) in zip(server.seen, server.seen[1:], strict=False)]
    assert all(gap < 1.0 for gap in gaps), gaps


def test_a_conflict_that_lasts_reaches_the_client(refusing: Callable[[int], _Refusing]) -> None:
    """Refused past the prompt tries, the 503 goes to the client, whose own retries (and
    error) take over."""
    server = refusing(100)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with httpx.Client(transport=ConflictRetryingTransport()) as client:
        response = client.post(f"{url}/flow_runs/x/resume", content=json.dumps({}))
    assert response.status_code == 503
    assert len(server.seen) == 7  # the six prompt tries, then the one handed back


@pytest.mark.parametrize(("api_url", "retrying"), [
    ("http://127.0.0.1:4200/api", True),
    ("https://127.0.0.1:4200/api", False),  # TLS settings belong to Prefect's transport
    ("http://prefect.internal:4200/api", False),  # a proxy may stand in between
])
def test_only_an_api_on_this_machine_gets_the_retrying_transport(
    api_url: str | None, retrying: bool
) -> None:
    """Which APIs are on this machine over plain HTTP: tests/test_local_api.py."""
    settings = conflict_retrying(api_url)
    assert (settings is not None) is retrying
    if settings is not None:
        assert isinstance(settings["transport"], ConflictRetryingTransport)


def test_prefect_loads_certificates_for_every_client_and_a_local_one_for_none(
    monkeypatch: pytest.MonkeyPatch, refusing: Callable[[int], _Refusing]
) -> None:
    """Prefect's behaviour the unused TLS context is for: every client it builds without
    one loads a certificate bundle (`ssl.create_default_context`, 25 ms of CPU), even for
    a plain-HTTP API. Should it stop, this fails, and `plain_http_tls` can go. A client for
    an API on this machine loads none, and still gets its answers."""
    loaded: list[object] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        loaded.append(kwargs.get("cafile"))
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    server = refusing(0)
    url = f"http://127.0.0.1:{server.server_address[1]}/api"
    with temporary_settings({PREFECT_API_URL: url}):
        get_client(sync_client=True)
        get_client(sync_client=True)
        assert len(loaded) == 2
        settings = conflict_retrying(url)
        assert settings is not None
        get_client(sync_client=True, httpx_settings=settings)
    assert len(loaded) == 2
    with httpx.Client(**settings) as client:
        assert client.post(f"{url}/flow_runs/x/resume", json={"a": 1}).json() == {"a": 1}


def test_the_local_tls_context_trusts_no_certificate() -> None:
    """Were it ever handed a TLS connection, it would refuse it rather than skip the check."""
    context = plain_http_tls()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
