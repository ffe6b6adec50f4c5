"""Every provider call goes through `metered`: written ahead, timed, written to the ledger,
errors kept short.

Outcomes of ledger rows: `ok` (an output we have, adopted after a crash or not), `error`,
`lost` (paid for, its output could not be had) and `possibly_paid` (a request whose answer
never came, or that a dead process had in flight, or that a job ended without).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol, TypeVar

from videobot.db.intent_records import CallSite, Entry
from videobot.db.store import JobStore
from videobot.providers.base import ProviderError, Usage
from videobot.providers.call_notes import noting

T = TypeVar("T")


class ProviderSlot(Protocol):
    """A place in a provider's cap, held while the provider works for a call."""

    def take(self) -> None: ...

    def free(self) -> None: ...


LOST = "lost"
POSSIBLY_PAID = "possibly_paid"
# The expected usage of one call of (stage, provider, part), for rows no answer priced.
Expected = Callable[[str, str, str | None], Usage]


# An absolute file path (not a URL's path): kept to its file name in what a person reads.
_PATH = re.compile(r"(?<![\w:/.])/(?:[\w.@+-]+/)+([\w.@+-]+)")


def short_reason(exc: BaseException, limit: int = 300) -> str:
    """A one-line reason for a person: the provider's own reason, or the error's message,
    never a traceback, an exception's class name or a directory."""
    text = exc.reason if isinstance(exc, ProviderError) else str(exc)
    text = _PATH.sub(r"\1", " ".join(str(text).split()))
    if not text:
        text = "an unexpected error (the run's log has the details)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def metered(
    store: JobStore,
    job_id: uuid.UUID,
    *,
    stage: str,
    segment: int | None,
    provider: str,
    call: Callable[[], tuple[T, Usage]],
    part: str | None = None,
    round_: int | None = None,
    expected: Expected | None = None,
    slot: ProviderSlot | None = None,
) -> T:
    """Run one provider call written ahead, and record it, successful or not, in
    `provider_calls`.

    Its intent is written before the request is sent. A replay of a call a dead process left
    in flight takes up the same intent: a provider task that process started is taken up by
    the provider; otherwise the cut-short try is recorded as possibly paid. Requests whose
    answer was lost (possibly paid) and tasks paid for without an output (lost) are rows of
    their own, priced like this call (or at `expected`, when this call failed). `slot`, the
    provider slot the call holds, is given back while the provider has no work of the call.
    """
    site = CallSite(job_id, stage, segment, provider, part=part, round=round_)
    key, cut_short = store.begin_intent(site)
    started = time.perf_counter()
    with noting(record=lambda what: store.note_on_intent(key, what),
                idle=slot.free if slot else None, busy=slot.take if slot else None) as notes:
        try:
            result, usage = call()
        except Exception as exc:
            spent = exc.usage if isinstance(exc, ProviderError) else None
            failed = Entry("error", spent, _since(started), error=short_reason(exc))
            price = expected(stage, provider, part) if expected is not None else None
            unseen = _unseen(store, key, price, cut_short=cut_short, resumed=notes.resumed)
            store.settle_intent(key, job_id, [failed, *unseen])
            raise
    done = Entry("ok", usage, _since(started))
    unseen = _unseen(store, key, usage, cut_short=cut_short, resumed=notes.resumed)
    store.settle_intent(key, job_id, [done, *unseen])
    return result


def adopt(
    store: JobStore,
    job_id: uuid.UUID,
    *,
    stage: str,
    segment: int | None,
    expected: Expected,
    part: str | None = None,
) -> bool:
    """Keep the output of a call that finished just before its process died (the file is on
    disk; its ledger row was never written): the row is written from its open intent, at the
    expected price. False when no intent was open (the row exists already)."""
    intent = store.open_intent(CallSite(job_id, stage, segment, "", part=part))
    if intent is None:
        return False
    price = expected(intent.stage, intent.provider, intent.part)
    done = Entry("ok", price, details={"adopted": True})
    store.settle_intent(intent.key, job_id, [done, *_unseen(store, intent.key, price)])
    return True


def settle_abandoned(store: JobStore, job_id: uuid.UUID, expected: Expected) -> int:
    """Close the intents of a job that ended while they were in flight (cancelled, failed for
    good after crashes): each is a possibly paid row, priced by `expected(stage, provider,
    part)`. Returns how many were closed."""
    left = store.open_intents(job_id)
    for intent in left:
        price = expected(intent.stage, intent.provider, intent.part)
        why = {"why": "the job ended while the call was in flight"}
        in_flight = Entry(POSSIBLY_PAID, price, details=why)
        store.settle_intent(intent.key, job_id, [in_flight, *_unseen(store, intent.key, price)])
    return len(left)


def _unseen(store: JobStore, key: str, price: Usage | None, *, cut_short: int = 0,
            resumed: int = 0) -> list[Entry]:
    """Rows for what the provider may have billed beyond the call's own answer, by every try
    of it: requests whose answer never came, tasks paid for without an output, and the
    requests of tries a crash cut short (unless a task of theirs was taken up or found
    lost, which accounts for them)."""
    unanswered, lost = store.intent_notes(key)
    if price is not None:  # the price of such a call, not the id of this one's answer
        price = replace(price, request_id=None)
    rows = [Entry(POSSIBLY_PAID, price, details={"why": "the answer never came"})
            for _ in range(unanswered)]
    rows += [Entry(LOST, price, details={"why": "paid for, its output could not be had"})
             for _ in range(lost)]
    if cut_short and not (resumed or lost):
        rows += [Entry(POSSIBLY_PAID, price, details={"why": "in flight when a process died"})
                 for _ in range(cut_short)]
    return rows


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
