"""Provider waits that end when their process is told to stop.

A flow-run process whose run is cancelled (or that its runner stops) gets SIGTERM: Prefect
raises `TerminationSignal` in the main thread, but the process exits only once its task
threads have ended, and a thread polling a Runway render, or sleeping out a backoff, would
go on until Prefect kills the process after its 30 s grace; only then does the runner run
the cancellation hook that stops the provider's work. So the flows call `stop_waiting()` on
that signal, and every provider wait sleeps here: it ends at once with `ProcessStopping`. No
new paid call starts either (`ensure_not_stopping`): a thread that was waiting for a provider
slot would otherwise take the slot a stopped wait gives back and pay for a call no one wants.
"""

from __future__ import annotations

import threading

_stopping = threading.Event()


class ProcessStopping(BaseException):
    """A provider wait ended because its process is stopping.

    A BaseException, like SystemExit, so that it passes every `except Exception` on its way
    out: the call is not recorded as failed, its provider task is not cancelled and its
    write-ahead record stays, as when a process dies. What becomes of the task is for the
    cancellation hook (the run was cancelled) or the run's next attempt (any other stop).
    """


def stop_waiting() -> None:
    """Every provider wait of this process, now and later, ends with `ProcessStopping`."""
    _stopping.set()


def stoppable_sleep(seconds: float) -> None:
    """`time.sleep` that raises `ProcessStopping` as soon as the process is stopping."""
    if _stopping.wait(max(0.0, seconds)):
        raise ProcessStopping("the process is stopping")


def ensure_not_stopping() -> None:
    """Raise `ProcessStopping` when the process is stopping: no new provider call starts."""
    if _stopping.is_set():
        raise ProcessStopping("the process is stopping")
