"""Small helpers for tests that watch a run from outside."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

if TYPE_CHECKING:
    from prefect.client.schemas.responses import GlobalConcurrencyLimitResponse

    from tests.fakes.runway_server import FakeRunway
    from tests.fakes.runway_tasks import FakeTask

T = TypeVar("T")

def wait_for(
    check: Callable[[], T | None],
    timeout: float = 90,
    what: str = "condition",
    explain: Callable[[], str] | None = None,
) -> T:
    """Poll `check` until it returns something truthy. On a timeout, `explain` says what was
    seen instead.

    Polls soon at first, then twice a second: a check that reads a run from the Prefect server
    costs about 30 ms of CPU between client and server, and the suite is bound by its two
    cores, so a wait of a minute polled five times a second took 9 CPU s from the tests."""
    deadline = time.monotonic() + timeout
    pause = 0.05
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)
    seen = f"; seen: {explain()}" if explain is not None else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}{seen}")


def written_ahead_or_fetched(
    open_tasks: list[tuple[str, str, str]], runway: FakeRunway, tasks: list[FakeTask]
) -> bool:
    """Each of `tasks` (made on the fake Runway) is recorded open in the journal, or done and
    its output downloaded already: a kill now falls outside every create's window between
    Runway's answer and its record (the journal's known limit). On a busy machine the first
    clip may end before the last task is made, so "all ten open" may never be seen."""
    journaled = {task_id for _, _, task_id in open_tasks}
    fetched = {r.path.rsplit("/", 1)[-1].split(".")[0]
               for r in runway.calls("GET", "/outputs/") if r.status == 200}
    return bool(journaled) and all(t.id in journaled | fetched for t in tasks)


def new_job(prompt: str = "How volcanoes work", fmt: str = "16:9", language: str = "en") -> UUID:
    from tasks.runtime import runtime

    return runtime().store.create_job(user_id="test", prompt=prompt, language=language, fmt=fmt).id


def paused_at(job_id: UUID, stage: str, attempt: int) -> Callable[[], bool]:
    """True once the job's run is paused at gate `stage-attempt` and the gate was shown."""
    from orchestration.runs import api_client
    from tasks.runtime import runtime

    def check() -> bool:
        store = runtime().store
        gate = store.waiting_gate(job_id)
        if gate is None or (gate.stage, gate.attempt) != (stage, attempt):
            return False
        if gate.presented_at is None:
            return False
        run_id = store.job(job_id).flow_run_id
        with api_client() as client:
            state = client.read_flow_run(run_id).state
        return bool(state and state.is_paused())

    return check


def jobs_limit() -> GlobalConcurrencyLimitResponse:
    """The server's `videobot-jobs` limit as it is now."""
    from orchestration.runs import api_client
    from tasks.limits import JOBS_LIMIT

    with api_client() as client:
        return client.read_global_concurrency_limit_by_name(JOBS_LIMIT)


@contextmanager
def job_slots_held(slots: int) -> Iterator[Callable[[], None]]:
    """Hold job slots as another worker would, on one plain 30-minute lease; yields a function
    that gives them back early.

    A plain lease, not `concurrency()`: that one renews from a thread and cancels the test if
    a renewal fails, while here the assertions on queued jobs are what should judge the slots.
    """
    from orchestration.runs import api_client
    from tasks.limits import JOBS_LIMIT

    with api_client() as client:
        response = client.increment_concurrency_slots_with_lease(
            names=[JOBS_LIMIT], slots=slots, mode="concurrency", lease_duration=1800
        )
        lease_id = UUID(response.json()["lease_id"])
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                client.release_concurrency_slots_with_lease(lease_id)
                released = True

        try:
            yield release
        finally:
            release()


def start_flow(job_id: UUID) -> tuple[threading.Thread, dict[str, Any]]:
    """`make-video` for the job in a thread, asking at its gates (terminal channel); the
    outcome gets "result", or "error" with what the flow raised."""
    from flows.make_video import make_video

    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = make_video(job_id, "terminal", False)
        except BaseException as exc:
            outcome["error"] = exc

    # In this test's context: the thread talks to the Prefect API the test set.
    thread = threading.Thread(target=contextvars.copy_context().run, args=(target,),
                              daemon=True)
    thread.start()
    return thread, outcome
