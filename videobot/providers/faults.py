"""One retry layer for provider calls: transient faults are retried with backoff and jitter,
everything else fails fast with a reason a person understands.

SDK clients are built with their own retries off, and tasks do not retry a ProviderError, so a
call is attempted at most `attempts` times in all.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from videobot.providers.base import ProviderError

T = TypeVar("T")


class Fault(StrEnum):
    TRANSIENT = "transient"  # connection errors, timeouts, 408, 409, 429, 5xx, long throttling
    PERMANENT = "permanent"  # 400, 401, 403, 404, 422, invalid output after its retries
    SAFETY = "safety"  # the provider's content filter refused: do not retry
    DAILY_CAP = "daily_cap"  # a quota that resets later: pause, do not burn retries


@dataclass(frozen=True)
class Classified:
    fault: Fault
    reason: str
    retry_after: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0


def backoff_delay(policy: RetryPolicy, attempt: int, rng: Callable[[], float]) -> float:
    """Exponential backoff with jitter: attempt 1 waits about base, then 2×, 4×… up to max."""
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    return ceiling * (0.5 + rng() / 2)


def call_with_retries(
    call: Callable[[], T],
    classify: Callable[[Exception], Classified],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> tuple[T, int]:
    """The call's result and how many attempts it took; a ProviderError when it gives up."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return call(), attempt
        except ProviderError:
            raise
        except Exception as exc:
            found = classify(exc)
            if found.fault is not Fault.TRANSIENT or attempt == policy.attempts:
                tried = f" (after {attempt} attempts)" if attempt > 1 else ""
                raise ProviderError(
                    found.reason + tried,
                    permanent=found.fault is not Fault.TRANSIENT,
                    kind=found.fault.value,
                ) from exc
            delay = backoff_delay(policy, attempt, rng)
            if found.retry_after is not None:
                delay = max(delay, min(found.retry_after, policy.max_delay * 4))
            sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")
