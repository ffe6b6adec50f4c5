"""Limits held by the Prefect server (global concurrency limits), shared by every worker.

`videobot-jobs` caps how many jobs do work at once (a job waiting at a gate holds no slot);
`provider-<name>` caps concurrent calls to one paid provider. They are created at start-up and
acquired strictly: a missing limit is an error, never silently unlimited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TypeVar
from uuid import UUID

from prefect import get_client
from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
from prefect.concurrency.sync import concurrency

from tasks.attempts import ensure_ours
from tasks.runtime import JobEnded, Superseded, runtime
from videobot.call_estimates import expected_usage
from videobot.db.models import JobStatus
from videobot.formats import VideoFormat
from videobot.ledger import Expected, adopt, metered
from videobot.providers.base import Usage
from videobot.settings import Settings
from videobot.stopping import ensure_not_stopping

__all__ = [
    "JobEnded", "JobSlot", "LimitMissing", "adopt_output", "paid_call", "provider_slot",
]

T = TypeVar("T")

JOBS_LIMIT = "videobot-jobs"
CAPPED_PROVIDERS = ("openai", "runway")


def provider_limit(name: str) -> str:
    return f"provider-{name}"


def wanted_limits(settings: Settings) -> dict[str, int]:
    return {
        JOBS_LIMIT: settings.max_concurrent_jobs,
        provider_limit("openai"): settings.openai_concurrency,
        provider_limit("runway"): settings.runway_concurrency,
    }


def process_limit(settings: Settings) -> int:
    """How many flow runs may have a process at once: one per job slot, and one more, already
    started, that takes the next slot the moment one is given back. A run beyond stays
    Scheduled, holding no process (a batch of queued jobs does not start them all at once, on
    a machine that has to run the working ones too); a run waiting at a gate holds none."""
    return settings.max_concurrent_jobs + 1


def ensure_limits(settings: Settings) -> dict[str, int]:
    """Create (or update) the limits on the Prefect server; called once at start-up."""
    limits = wanted_limits(settings)
    with get_client(sync_client=True) as client:
        for name, limit in limits.items():
            client.upsert_global_concurrency_limit_by_name(name, limit)
    return limits


class LimitMissing(RuntimeError):
    """The limit does not exist on the Prefect server: calls are refused, not left uncapped."""


# Leases are renewed by Prefect while held; a process that dies frees its slots when they
# expire, so they are as short as the server allows (60 s).
JOB_LEASE_SECONDS = 60
PROVIDER_LEASE_SECONDS = 60


class JobSlot:
    """One of the server's job slots for one run: taken before work, given back before the
    run waits for a person and when it ends. Queued meanwhile: runs take slots in the order
    their processes start, since one run more than the cap has a process (`process_limit`).
    When two wait at once (a crashed run retried beside a queued one), Prefect gives a freed
    slot to whichever asks next: its waiters have no order across processes."""

    def __init__(self, job_id: UUID) -> None:
        self.job_id = job_id
        self._held: ExitStack | None = None

    def take(self) -> None:
        """Hold a slot (a no-op while one is held). A renewal failure logs a warning rather
        than cancelling the job: stopping paid work halfway costs more than briefly exceeding
        the cap. Raises `JobEnded` when the job was cancelled meanwhile: a person may cancel
        while the run is starting or queued, and the run must not bring the job back."""
        if self._held is not None:
            return
        ensure_ours(self.job_id)
        store = runtime().store
        if not store.join_queue(self.job_id):
            raise JobEnded(f"job {self.job_id} has ended")
        held = ExitStack()
        held.enter_context(
            concurrency(
                JOBS_LIMIT,
                occupy=1,
                strict=True,
                lease_duration=JOB_LEASE_SECONDS,
                raise_on_lease_renewal_failure=False,
            )
        )
        try:
            ensure_ours(self.job_id)  # a newer attempt may have taken the job up meanwhile
        except Superseded:
            held.close()
            raise
        if not store.leave_queue(self.job_id):
            held.close()
            raise JobEnded(f"job {self.job_id} left the queue while it waited")
        self._held = held

    def release(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()


class ProviderSlot:
    """A slot of the provider's server-held cap for one call, taken from and given back to
    the server each time, so every worker waits its turn alike; offline providers are not
    capped. Given back while the provider has no work of the call (a Runway task has ended,
    its output is still to download and fit) and taken again before it is given more."""

    def __init__(self, provider: str) -> None:
        self.name = provider_limit(provider) if provider in CAPPED_PROVIDERS else None
        self._held: ExitStack | None = None

    def take(self) -> None:
        """Hold the slot (a no-op while held, or uncapped). A missing limit raises
        `LimitMissing` before the call is made."""
        if self.name is None or self._held is not None:
            return
        held = ExitStack()
        try:
            held.enter_context(
                # A renewal that fails only logs: a paid call is not stopped halfway for the
                # slot's bookkeeping (the server may have dropped the lease after a restart).
                concurrency(self.name, occupy=1, strict=True,
                            lease_duration=PROVIDER_LEASE_SECONDS,
                            raise_on_lease_renewal_failure=False)
            )
        except ConcurrencySlotAcquisitionError as exc:
            raise LimitMissing(
                f"the concurrency limit {self.name!r} does not exist on the Prefect server; "
                "it is created when the serving process or `videobot` starts"
            ) from exc
        self._held = held

    def free(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()


@contextmanager
def provider_slot(provider: str) -> Iterator[ProviderSlot]:
    """The provider's slot, held on entering; given back at the end if still held."""
    slot = ProviderSlot(provider)
    slot.take()
    try:
        yield slot
    finally:
        slot.free()


def paid_call(
    job_id: UUID,
    *,
    stage: str,
    segment: int | None,
    provider: str,
    call: Callable[[], tuple[T, Usage]],
    part: str | None = None,
    round_: int | None = None,
) -> T:
    """One provider call within the provider's cap (a slot held while the provider works for
    it: `ProviderSlot`), written ahead and to the ledger
    (`videobot.ledger.metered`); `part` tells a narration's section, `round_` the gate round
    it serves. A job cancelled meanwhile makes no new call: `JobEnded` instead."""
    store = runtime().store
    with provider_slot(provider) as slot:
        ensure_not_stopping()  # the run is being stopped: its job may not be marked yet
        if store.job(job_id).status in (JobStatus.CANCELLED, JobStatus.EXPIRED):
            raise JobEnded(f"job {job_id} has ended")
        ensure_ours(job_id)
        return metered(store, job_id, stage=stage, segment=segment, provider=provider,
                       call=call, part=part, round_=round_, expected=expected_prices(job_id),
                       slot=slot)


def adopt_output(job_id: UUID, *, stage: str, segment: int | None,
                 part: str | None = None) -> bool:
    """An output file the call at this place wrote just before its process died is kept, and
    its ledger row written (`videobot.ledger.adopt`). False when no call there was in flight
    (its row was written already)."""
    return adopt(runtime().store, job_id, stage=stage, segment=segment, part=part,
                 expected=expected_prices(job_id))


def expected_prices(job_id: UUID) -> Expected:
    """What one call of the job is expected to cost, for ledger rows no answer priced."""

    def price(stage: str, provider: str, part: str | None) -> Usage:
        rt = runtime()
        job = rt.store.job(job_id)
        script = rt.store.script_of(job)
        text = script.part(part) if script is not None and part else ""
        return expected_usage(rt.settings, stage, provider, fmt=VideoFormat(job.format),
                              text=text)

    return price
