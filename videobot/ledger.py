"""Every provider call goes through `metered`: timed, written to the ledger, errors kept short."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from videobot.db.store import JobStore
from videobot.providers.base import ProviderError, Usage

T = TypeVar("T")


def short_reason(exc: BaseException, limit: int = 300) -> str:
    """A one-line reason for a person: the provider's own reason, never a traceback."""
    text = exc.reason if isinstance(exc, ProviderError) else f"{type(exc).__name__}: {exc}"
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def metered(
    store: JobStore,
    job_id: uuid.UUID,
    *,
    stage: str,
    segment: int | None,
    provider: str,
    call: Callable[[], tuple[T, Usage]],
) -> T:
    """Run one provider call and record it, successful or not, in `provider_calls`."""
    started = time.perf_counter()
    try:
        result, usage = call()
    except Exception as exc:
        spent = exc.usage if isinstance(exc, ProviderError) else None
        store.record_call(
            job_id, stage=stage, segment=segment, provider=provider, usage=spent,
            latency_ms=int((time.perf_counter() - started) * 1000), error=short_reason(exc),
        )
        raise
    store.record_call(
        job_id, stage=stage, segment=segment, provider=provider, usage=usage,
        latency_ms=int((time.perf_counter() - started) * 1000),
    )
    return result
