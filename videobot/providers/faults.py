"""One retry layer for provider calls: transient faults are retried with backoff and jitter,
everything else fails fast with a reason a person understands.

SDK clients are built with their own retries off, and tasks do not retry a ProviderError, so a
call is attempted at most `attempts` times in all; a fault may lower that (`Classified.attempts`)
when another paid attempt seldom mends it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from videobot.providers.base import ProviderError
from videobot.stopping import stoppable_sleep

T = TypeVar("T")

QUOTE_LIMIT = 300
_SECRETS = re.compile(r"(sk-[\w*.-]+|key_[0-9a-f*]{8,}|Bearer\s+\S+)", re.IGNORECASE)
# A file path on its own (not the path of a URL): /tmp/x/speech.wav, C:\\x\\y.
_PATHS = re.compile(r"(?<![\w:/.])(?:/[\w.@-]+){2,}/?|\b[A-Za-z]:\\\S+")
_MARKUP = re.compile(r"<\s*(!doctype|html|head|body)\b", re.IGNORECASE)


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
    # At most this many attempts in all for this kind of fault (None: the policy's count), for
    # transient faults that another paid attempt mends only sometimes.
    attempts: int | None = None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0


def quote_provider_text(text: str) -> str:
    """A provider's own words fit for a person: one line, no keys, no file paths, not a web
    page (a proxy's HTML error page says nothing useful), trimmed to QUOTE_LIMIT."""
    if _MARKUP.search(text):
        return ""
    text = _PATHS.sub("[file]", _SECRETS.sub("[redacted]", text))
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "…"


def backoff_delay(policy: RetryPolicy, attempt: int, rng: Callable[[], float]) -> float:
    """Exponential backoff with jitter: attempt 1 waits about base, then 2×, 4×… up to max."""
    ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    return ceiling * (0.5 + rng() / 2)


def call_with_retries(
    call: Callable[[], T],
    classify: Callable[[Exception], Classified],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = stoppable_sleep,
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
            limit = min(policy.attempts, found.attempts or policy.attempts)
            if found.fault is not Fault.TRANSIENT or attempt >= limit:
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
