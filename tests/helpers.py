"""Small helpers for tests that watch a run from outside."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float = 90, what: str = "condition") -> T:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def new_job(prompt: str = "How volcanoes work", fmt: str = "16:9", language: str = "en") -> UUID:
    from tasks.runtime import runtime

    return runtime().store.create_job(
        user_id="test", prompt=prompt, language=language, fmt=fmt
    ).id


def paused_at(job_id: UUID, stage: str, attempt: int) -> Callable[[], bool]:
    """True once the job's run is paused at gate `stage-attempt` and the gate was shown."""
    from prefect import get_client

    from tasks.runtime import runtime

    def check() -> bool:
        store = runtime().store
        gate = store.waiting_gate(job_id)
        if gate is None or (gate.stage, gate.attempt) != (stage, attempt):
            return False
        if gate.presented_at is None:
            return False
        run_id = store.job(job_id).flow_run_id
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(run_id).state
        return bool(state and state.is_paused())

    return check
