"""Every provider call goes through `metered`: timed, written to the ledger, errors kept short."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from videobot.db.store import JobStore
from videobot.providers.base import ProviderError, Usage

T = TypeVar("T")


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
