"""What happened on the wire during one paid call besides its answer, for the ledger.

A provider's answer tells what the call cost; it does not tell about the requests whose answer
never came (a timeout after the request was sent: the provider may have done, and billed, the
work) or about work a dead process had started (a Runway task taken up, or found gone). The
clients note those here while the call runs; the ledger reads the notes when it settles the
call, so it counts every request a provider may have billed.

Neither OpenAI nor Runway takes an idempotency key for these requests (the SDKs send none), and
Runway cannot list tasks, so a request whose answer was lost cannot be looked up before it is
sent again: it is noted as possibly paid instead.

The notes belong to the calling thread's context (a `ContextVar`): a provider call runs in the
thread that opened them, and calls in other threads keep their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class CallNotes:
    unanswered: int = 0  # requests sent whose answer never came: possibly paid
    resumed: int = 0  # provider tasks a dead process started, taken up instead of paid again
    lost: int = 0  # provider tasks paid for whose output could not be had
    # Told of each possible payment the moment it is noted ("unanswered" or "lost"), so that
    # a process that dies next does not take it along.
    record: Callable[[str], None] = field(default=lambda what: None)
    # Told when the provider has no work of this call left (its task ended; the output is
    # still to fetch and fit) and when it is given work again (a new task): the call holds
    # its provider slot only while the provider works.
    idle: Callable[[], None] = field(default=lambda: None)
    busy: Callable[[], None] = field(default=lambda: None)


_current: ContextVar[CallNotes | None] = ContextVar("videobot_call_notes", default=None)


@contextmanager
def noting(
    record: Callable[[str], None] | None = None,
    *,
    idle: Callable[[], None] | None = None,
    busy: Callable[[], None] | None = None,
) -> Iterator[CallNotes]:
    """Collect the notes of the call made inside the block; `record` is told of each
    possible payment as it is noted, `idle` and `busy` when the provider's work for the call
    ends and starts again."""
    notes = CallNotes()
    if record is not None:
        notes.record = record
    if idle is not None:
        notes.idle = idle
    if busy is not None:
        notes.busy = busy
    token = _current.set(notes)
    try:
        yield notes
    finally:
        _current.reset(token)


def note_unanswered() -> None:
    if (notes := _current.get()) is not None:
        notes.unanswered += 1
        notes.record("unanswered")


def note_resumed() -> None:
    if (notes := _current.get()) is not None:
        notes.resumed += 1


def note_provider_idle() -> None:
    """The provider has finished the work it was given; what is left is ours."""
    if (notes := _current.get()) is not None:
        notes.idle()


def note_provider_busy() -> None:
    """The provider is about to be given work (before the request that starts it)."""
    if (notes := _current.get()) is not None:
        notes.busy()


def note_lost() -> None:
    if (notes := _current.get()) is not None:
        notes.lost += 1
        notes.record("lost")


def answer_lost(exc: BaseException) -> bool:
    """The request went out and its answer did not come back: the read timed out, or the
    server closed or reset the connection without answering. (A connect or write timeout
    means the request never reached the provider whole.) Told by the exception classes' names,
    which httpx and the openai SDK's httpx2 share."""
    seen: BaseException | None = exc
    while seen is not None:
        if {kind.__name__ for kind in type(seen).__mro__} & _ANSWER_LOST:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_ANSWER_LOST = {"ReadTimeout", "RemoteProtocolError", "ReadError"}
