"""Limits held by the Prefect server (global concurrency limits), shared by every worker.

`videobot-jobs` caps how many jobs do work at once (a job waiting at a gate holds no slot);
`provider-<name>` caps concurrent calls to one paid provider. They are created at start-up and
acquired strictly: a missing limit is an error, never silently unlimited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TypeVar
from uuid import UUID

from prefect import get_client
from prefect.concurrency.sync import concurrency

from tasks.runtime import runtime
from videobot.db.models import JobStatus
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


@contextmanager
def working_slot(job_id: UUID) -> Iterator[None]:
    """Hold one of the server's job slots while this job works; queued until one is free."""
    store = runtime().store
    store.update_job(job_id, status=JobStatus.QUEUED)
    with concurrency(JOBS_LIMIT, occupy=1, strict=True, lease_duration=600):
        store.update_job(job_id, status=JobStatus.RUNNING)
        yield


def provider_slot(provider: str) -> AbstractContextManager[None]:
    """A slot of the provider's cap for one call; offline providers are not capped."""
    if provider not in CAPPED_PROVIDERS:
        return nullcontext()
    return concurrency(provider_limit(provider), occupy=1, strict=True, lease_duration=1800)


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
