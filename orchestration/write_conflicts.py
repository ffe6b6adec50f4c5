"""Writes to Prefect a person waits for (a job's start, a gate's resume, a cancel), tried again
at once when a SQLite-backed Prefect server refuses them for a write conflict.

Prefect's server on SQLite begins most write transactions as reads; when another connection
writes in between, SQLite refuses the upgrade at once ("database is locked", not waited out by
the busy timeout), and the server answers 503 for the client to try again
(`prefect.server.api.server.is_client_retryable_exception`). Prefect's client then waits 2 s,
4, 8, 16, 32 s (2**n: no setting shortens it, and it sleeps even with retries set to 0). Of 20
writes made at once, three in four are refused (`benchmarks/prefect_writes.py`;
`tests/test_write_conflicts.py` shows it), so a button press would often resume its run 2 s
late. The conflict is over once the other write commits: here a 503 is tried again after
50 ms, 100 ms, ... before the client sees it.

Only for a server on this machine (`videobot up`: SQLite by default), where the client's
transport can be replaced without losing anything: Prefect's own transport is the one that
knows proxies and the TLS settings of a remote API.

Such a client also gets a TLS context that is never used (the API is plain HTTP): Prefect
otherwise builds one for every client, loading certifi's certificates, and so does the
transport (`prefect.client.orchestration.SyncPrefectClient`, `httpx.HTTPTransport`). That
was 50 ms of CPU for each button press before the bot could even ask Prefect anything.
"""

from __future__ import annotations

import ssl
import time
from typing import Any

import httpx

from orchestration.local_api import is_local_plain_http

FIRST_WAIT_SECONDS = 0.05
PROMPT_TRIES = 6  # waits of 50 ms to 1.6 s, 3.15 s in all; then the client's own retries


class ConflictRetryingTransport(httpx.BaseTransport):
    """Sends a request again after a short, doubling wait while the answer is 503. A refused
    write changed nothing (its transaction was rolled back), so sending it again is safe."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wait = FIRST_WAIT_SECONDS
        for _ in range(PROMPT_TRIES):
            response = self._inner.handle_request(request)
            if response.status_code != httpx.codes.SERVICE_UNAVAILABLE:
                return response
            response.close()
            time.sleep(wait)
            wait *= 2
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def conflict_retrying(api_url: str | None) -> dict[str, Any] | None:
    """`httpx_settings` for Prefect's `get_client`: the retrying transport for an API on this
    machine over plain HTTP; None (Prefect's own transport) for any other."""
    if not is_local_plain_http(api_url):
        return None
    unused = plain_http_tls()
    return {"transport": ConflictRetryingTransport(httpx.HTTPTransport(verify=unused)),
            "verify": unused}


def plain_http_tls() -> ssl.SSLContext:
    """A TLS context for a client that speaks only plain HTTP: verifying, with no
    certificate authority loaded, so it could never carry a connection that is not checked.
    Made in microseconds; a default one loads certifi's bundle (25 ms of CPU): see
    `orchestration.local_api` for the flow-run processes' clients."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

