"""A working run says it is alive every `BEAT_SECONDS`, so that a lost one is found in
under a minute.

Prefect's own flow-run heartbeat comes every 30 s at the most often
(`PREFECT_FLOWS_HEARTBEAT_FREQUENCY` is at least 30). A lost-run window that lets a busy
server delay or drop one of those must be 75 s or more, and a dead run then runs again
up to about 85 s after its machine died. These beats, events of our own sent through Prefect's
events client (`emit_event`, the path its heartbeat takes), come every 10 s: a window of 45 s
(`LOST_RUN_SECONDS`) lets three in a row go missing and still finds a dead run within 45 s.
The lost-run automation (`orchestration.crash_recovery`) counts both.

Only runs of a deployment beat: the automation ignores the others, which no worker could
start again. A run suspended at a gate has no process, and so no beats; its Suspended state
ends the automation's window.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.context import FlowRunContext
from prefect.events import emit_event

log = logging.getLogger(__name__)

ALIVE_EVENT = "videobot.flow-run.alive"
BEAT_SECONDS = 10


@contextmanager
def beating() -> Iterator[None]:
    """While inside, a thread of this flow run's process sends `ALIVE_EVENT` every
    `BEAT_SECONDS`, the first at once; it stops when the block ends or the process dies."""
    context = FlowRunContext.get()
    run = context.flow_run if context is not None else None
    if context is None or run is None or run.deployment_id is None:
        yield
        return
    # The resource and related resources Prefect's heartbeat carries, which the lost-run
    # automation's trigger matches (`prefect.flow_engine`).
    resource = {"prefect.resource.id": f"prefect.flow-run.{run.id}",
                "prefect.resource.name": run.name}
    related = [
        {"prefect.resource.id": f"prefect.flow.{run.flow_id}",
         "prefect.resource.role": "flow",
         "prefect.resource.name": context.flow.name if context.flow else ""},
        {"prefect.resource.id": f"prefect.deployment.{run.deployment_id}",
         "prefect.resource.role": "deployment"},
    ]
    stopped = threading.Event()

    def beat() -> None:
        while not stopped.is_set():
            try:
                emit_event(ALIVE_EVENT, resource=resource, related=related)
            except Exception:  # a beat is worth no failure of the run
                log.debug("Could not send a beat", exc_info=True)
            stopped.wait(BEAT_SECONDS)

    # The thread runs in a copy of this context, so that it sees the run's settings (the
    # API URL) as Prefect's heartbeat thread does.
    thread = threading.Thread(target=contextvars.copy_context().run, args=(beat,),
                              name="videobot-alive", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stopped.set()
