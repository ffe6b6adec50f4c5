"""One attempt works on a job at a time: the one that took it up last.

Prefect's lost-run detection (`orchestration.crash_recovery`) can take a live run for dead: a
Prefect server too busy to keep its events connection drops heartbeat events. The run is then
scheduled again and a second process starts while the first still works. Each attempt writes a
fresh token on the job as it takes the job up (`taken_up`), and checks that the token is still
its own before each stage, each paid call and each gate (`ensure_ours`). An older attempt that
finds another token raises `Superseded` and stops: no paid call, no gate, no change to the job.
The flow then ends its process with Prefect's `Abort` (`flows.pipeline`), which leaves the
run's state to the attempt that owns it now.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from uuid import UUID, uuid4

from tasks.runtime import Superseded, runtime
from videobot.naming import short_id

log = logging.getLogger(__name__)

# The job this attempt took up, and its token. Set in the flow as it takes the job up; the
# task threads it submits inherit it (Prefect's task runners run each task in a copy of the
# submitting context).
_attempt: ContextVar[tuple[UUID, str] | None] = ContextVar("videobot_run_attempt",
                                                            default=None)


@contextmanager
def taken_up(job_id: UUID) -> Iterator[None]:
    """This attempt works on the job while inside; an older one still alive steps aside."""
    token = uuid4().hex
    runtime().store.update_job(job_id, run_token=token)
    held = _attempt.set((job_id, token))
    try:
        yield
    finally:
        _attempt.reset(held)


def ensure_ours(job_id: UUID) -> None:
    """Raise `Superseded` when a newer attempt took the job up. Outside an attempt that took
    this job up (a task called on its own) there is nothing to check."""
    attempt = _attempt.get()
    if attempt is None or attempt[0] != job_id:
        return
    if runtime().store.run_token(job_id) == attempt[1]:
        return
    log.warning("Job %s was taken up by a newer attempt of its run; this one stops",
                short_id(job_id))
    raise Superseded(f"job {short_id(job_id)} is worked on by a newer attempt of its run")
