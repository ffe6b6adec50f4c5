"""Single requests to the Prefect server, tried again at once when the server is busy.

A SQLite-backed Prefect server answers 503 when another write holds its database lock (often:
a flow run writes its task states all the time). Prefect's client then waits 2 s, then 4 s,
before trying again: a button press that takes two seconds, a paid provider slot idle for two.
The requests sent through here are single writes that the server undoes when it fails (or
reads), so they are safe to repeat, and are repeated within tens of milliseconds.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

import httpx
from prefect import get_client
from prefect.exceptions import FlowPauseTimeout, NotPausedError

BUSY = (502, 503)


def request_promptly(
    method: str, path: str, *, json: Any = None, within: float = 30.0
) -> httpx.Response:
    """The server's response (any status but a busy one, unless `within` seconds pass)."""
    pause, deadline = 0.02, time.monotonic() + within
    with get_client(sync_client=True) as client:
        http = client._client  # Prefect's httpx client: its base URL, auth and headers
        while True:
            try:
                # httpx's own send, not Prefect's override that sleeps seconds between tries.
                response = httpx.Client.send(http, http.build_request(method, path, json=json))
            except httpx.ConnectError:  # nothing was sent: the server may be restarting
                if time.monotonic() > deadline:
                    raise
            else:
                if response.status_code == 403 and "CSRF" in response.text:
                    # A server with CSRF protection on: Prefect's client knows the handshake.
                    return client.request(method, path, json=json)  # type: ignore[arg-type]
                if response.status_code not in BUSY or time.monotonic() > deadline:
                    return response
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


def resume_run(flow_run_id: UUID, run_input: dict[str, Any]) -> None:
    """`prefect.flow_runs.resume_flow_run`, with the same errors, sent promptly."""
    found = request_promptly("GET", f"/flow_runs/{flow_run_id}")
    found.raise_for_status()
    state = found.json().get("state") or {}
    if state.get("type") != "PAUSED":
        raise NotPausedError("Cannot resume a run that isn't paused!")
    answer = request_promptly(
        "POST", f"/flow_runs/{flow_run_id}/resume", json={"run_input": run_input}
    )
    answer.raise_for_status()
    result = answer.json()
    if result.get("status") == "REJECT":
        if (result.get("state") or {}).get("type") == "FAILED":
            raise FlowPauseTimeout("Flow run can no longer be resumed.")
        reason = (result.get("details") or {}).get("reason")
        raise RuntimeError(f"Cannot resume this run: {reason}")
