"""Limits held by the Prefect server (global concurrency limits), shared by every worker.

`videobot-jobs` caps how many jobs do work at once (a job waiting at a gate holds no slot);
`provider-<name>` caps concurrent calls to one paid provider. They are created at start-up and
acquired strictly: a missing limit is an error, never silently unlimited.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TypeVar
from uuid import UUID

from prefect import get_client
from prefect.concurrency.sync import concurrency

from tasks.provider_slots import ProviderSlots
from tasks.runtime import runtime
from videobot.ledger import metered
from videobot.providers.base import Usage
from videobot.settings import Settings

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


def ensure_limits(settings: Settings) -> dict[str, int]:
    """Create (or update) the limits on the Prefect server; called once at start-up."""
    limits = wanted_limits(settings)
    with get_client(sync_client=True) as client:
        for name, limit in limits.items():
            client.upsert_global_concurrency_limit_by_name(name, limit)
    return limits


class JobEnded(Exception):
    """The job ended (cancelled or expired) while its run started or queued for a slot."""


_held_job_slots: dict[UUID, ExitStack] = {}
_held_lock = threading.Lock()


def take_job_slot(job_id: UUID) -> None:
    """Hold one of the server's job slots from now until `release_job_slot`; queued meanwhile.

    Taken once for a stretch of work and kept across replayed steps: a resumed run replays
    every step before its gate, and taking a slot per step would add a server round trip
    (and possibly a wait) to each. A renewal failure logs a warning rather than cancelling
    the job: stopping paid work halfway costs more than briefly exceeding the cap.

    Raises `JobEnded` when the job was cancelled meanwhile: a person may cancel while the
    run is starting or queued, and the run must not bring the job back.
    """
    with _held_lock:
        if job_id in _held_job_slots:
            return
    store = runtime().store
    if not store.join_queue(job_id):
        raise JobEnded(f"job {job_id} has ended")
    held = ExitStack()
    held.enter_context(
        concurrency(
            JOBS_LIMIT,
            occupy=1,
            strict=True,
            lease_duration=600,
            raise_on_lease_renewal_failure=False,
        )
    )
    if not store.leave_queue(job_id):
        held.close()
        raise JobEnded(f"job {job_id} left the queue while it waited")
    with _held_lock:
        _held_job_slots[job_id] = held


def release_job_slot(job_id: UUID) -> None:
    """Give the job's slot back (before waiting for a person, and when the run ends)."""
    with _held_lock:
        held = _held_job_slots.pop(job_id, None)
    if held is not None:
        held.close()


@contextmanager
def working(job_id: UUID) -> Iterator[None]:
    """A stretch of work: runs holding a job slot, which stays held after it."""
    take_job_slot(job_id)
    yield


_pools: dict[tuple[str, int], ProviderSlots] = {}
_pools_lock = threading.Lock()


def _pool(provider: str) -> ProviderSlots:
    """This process's share of the provider's cap, sized like the server's limit."""
    name = provider_limit(provider)
    size = wanted_limits(runtime().settings)[name]
    with _pools_lock:
        return _pools.setdefault((provider, size), ProviderSlots(name, size))


@contextmanager
def provider_slot(provider: str) -> Iterator[None]:
    """A slot of the provider's server-held cap for one call; offline providers are not
    capped. A missing limit raises `LimitMissing` before the call is made."""
    if provider not in CAPPED_PROVIDERS:
        yield
        return
    with _pool(provider).slot():
        yield


def paid_call(
    job_id: UUID,
    *,
    stage: str,
    segment: int | None,
    provider: str,
    call: Callable[[], tuple[T, Usage]],
) -> T:
    """One provider call within the provider's cap, written to the ledger."""
    with provider_slot(provider):
        return metered(
            runtime().store, job_id, stage=stage, segment=segment, provider=provider, call=call
        )
