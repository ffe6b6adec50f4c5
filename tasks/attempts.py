"""One attempt works on a job at a time: the one that took it up last.

Prefect's lost-run detection (`orchestration.crash_recovery`) can take a live run for dead: a
Prefect server too busy to keep its events connection drops heartbeat events. The run is then
scheduled again and a second process starts while the first still works. Each attempt writes a
fresh token on the job as it takes the job up (`take_up`), and checks that the token is still
its own before each stage, each paid call and each gate (`ensure_ours`). An older attempt that
finds another token raises `Superseded` and stops: no paid call, no gate, no change to the job.
The flow then ends its process with Prefect's `Abort` (`flows.pipeline`), which leaves the
run's state to the attempt that owns it now.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from uuid import UUID, uuid4

from tasks.runtime import Superseded, runtime
from videobot.naming import short_id

log = logging.getLogger(__name__)

# Set in the flow as it takes the job up; the task threads it submits inherit it (Prefect's
# task runners run each task in a copy of the submitting context).
_token: ContextVar[str | None] = ContextVar("videobot_run_attempt", default=None)


def take_up(job_id: UUID) -> None:
    """This attempt works on the job from now on; an older one still alive steps aside."""
    token = uuid4().hex
    _token.set(token)
    runtime().store.update_job(job_id, run_token=token)


def ensure_ours(job_id: UUID) -> None:
    """Raise `Superseded` when a newer attempt took the job up. Outside a run that took the job
    up (a task called on its own) there is nothing to check."""
    token = _token.get()
    if token is None or runtime().store.run_token(job_id) == token:
        return
    log.warning("Job %s was taken up by a newer attempt of its run; this one stops",
                short_id(job_id))
    raise Superseded(f"job {short_id(job_id)} is worked on by a newer attempt of its run")
