"""Waits that end when their process is told to stop.

A flow-run process whose run is cancelled (or that its runner stops) gets SIGTERM: Prefect
raises `TerminationSignal` in the main thread, but the process exits only once its task
threads have ended, and a thread polling a Runway render, sleeping out a backoff, waiting for
an OpenAI answer or for ffmpeg would go on until Prefect kills the process after its 30 s
grace; only then does the runner run the cancellation hook that stops the provider's work.
So the flows call `stop_waiting()` on that signal, and every such wait ends at once with
`ProcessStopping`: provider waits sleep here (`stoppable_sleep`); an HTTP request that cannot
be interrupted and whose answer no one will need (an OpenAI image being drawn, for up to its
read timeout) is waited for through `unless_stopping`, which leaves it to end with the
process; an ffmpeg run (`run_stoppable`) is killed. No new paid call starts either
(`ensure_not_stopping`): a thread that was waiting for a provider slot would otherwise take
the slot a stopped wait gives back and pay for a call no one wants.
"""

from __future__ import annotations

import contextvars
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")

_stopping = threading.Event()
_lock = threading.Lock()
_waiting: set[threading.Event] = set()  # woken by `stop_waiting`


class ProcessStopping(BaseException):
    """A wait (for a provider, or for ffmpeg) ended because its process is stopping.

    A BaseException, like SystemExit, so that it passes every `except Exception` on its way
    out: the call is not recorded as failed, its provider task is not cancelled and its
    write-ahead record stays, as when a process dies. What becomes of the task is for the
    cancellation hook (the run was cancelled) or the run's next attempt (any other stop).
    """


def stop_waiting() -> None:
    """Every wait of this process through this module, now and later, ends with
    `ProcessStopping`."""
    with _lock:
        _stopping.set()
        for waiting in _waiting:
            waiting.set()


def stoppable_sleep(seconds: float) -> None:
    """`time.sleep` that raises `ProcessStopping` as soon as the process is stopping."""
    if _stopping.wait(max(0.0, seconds)):
        raise ProcessStopping("the process is stopping")


def ensure_not_stopping() -> None:
    """Raise `ProcessStopping` when the process is stopping: no new provider call starts."""
    if _stopping.is_set():
        raise ProcessStopping("the process is stopping")


def unless_stopping(call: Callable[[], T]) -> T:
    """`call()`'s result (or its exception), waited for only until the process is told to
    stop: then `ProcessStopping`, and the call goes on in a daemon thread that ends with the
    process. For a request whose outcome no one needs once the run stops: what it may have
    cost is for the ledger's write-ahead intent, which the cancellation hook settles."""
    woken = threading.Event()
    answer: Future[T] = Future()

    def run() -> None:
        try:
            answer.set_result(call())
        except BaseException as exc:  # handed to the waiting thread, raised there
            answer.set_exception(exc)
        finally:
            woken.set()

    with _lock:
        ensure_not_stopping()
        _waiting.add(woken)
    try:
        # The call runs in the caller's context: notes and logs go where the caller's would.
        context = contextvars.copy_context()
        threading.Thread(target=context.run, args=(run,), name="provider-request",
                         daemon=True).start()
        woken.wait()
    finally:
        with _lock:
            _waiting.discard(woken)
    if not answer.done():
        raise ProcessStopping("the process is stopping")
    return answer.result()


def run_stoppable(command: list[str]) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(command)` with its output captured as text, the program killed (and
    `ProcessStopping` raised) as soon as the process is told to stop."""
    program = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True, errors="replace")
    try:
        out, err = unless_stopping(program.communicate)
    except BaseException:
        program.kill()
        program.wait()
        raise
    return subprocess.CompletedProcess(command, program.returncode, out, err)
