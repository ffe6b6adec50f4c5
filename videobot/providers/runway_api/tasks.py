"""Start a Runway task, poll it to the end, download its output at once.

Retries, all through faults.call_with_retries:
- each HTTP request (create, poll, cancel, download) is retried on transient faults on its own,
  so a failed poll or download never pays for a new task;
- a task that FAILED with an INTERNAL.* code is replaced by a new task, up to the same number
  of attempts; SAFETY.* and other codes, CANCELLED and the daily cap are not retried.

The SDK's `wait_for_task_output` is not used: it spins on CANCELLED until its timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import runwayml

from videobot.media.files import atomic_output
from videobot.providers.base import ProviderError, TaskJournal
from videobot.providers.call_notes import (
    answer_lost,
    note_lost,
    note_provider_busy,
    note_provider_idle,
    note_resumed,
    note_unanswered,
)
from videobot.providers.faults import RetryPolicy, call_with_retries
from videobot.providers.runway_api.errors import OutputIncomplete, TaskFailed, classify_runway_error
from videobot.settings import Settings
from videobot.stopping import stoppable_sleep

log = logging.getLogger(__name__)
T = TypeVar("T")

_WAITING = ("PENDING", "THROTTLED")


@dataclass(frozen=True)
class PollPolicy:
    """Poll a running task every `first` seconds; a queued one (PENDING, THROTTLED) ever less
    often, growing by `growth` up to `cap`; give up after `max_wait`."""

    first: float
    cap: float
    max_wait: float
    growth: float = 1.5

    @classmethod
    def from_settings(cls, settings: Settings) -> PollPolicy:
        # Runway asks for no more than one poll per task every ~5 s, and its SDK polls a task
        # every 6 s; a task queued behind the organisation's concurrency may wait minutes, and
        # is polled up to 4x less often meanwhile.
        return cls(
            first=settings.runway_poll_seconds,
            cap=4 * settings.runway_poll_seconds,
            max_wait=settings.runway_max_wait_seconds,
        )


@dataclass(frozen=True)
class TaskOutcome:
    """A task that succeeded and whose output is on disk."""

    task_id: str
    credits: float | None  # charged by Runway for this call's tasks; None if it did not say
    attempts: int  # task creation requests sent


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.provider_attempts,
        base_delay=settings.provider_backoff_seconds,
        max_delay=settings.provider_backoff_max_seconds,
    )


class _Unwritten:
    """The journal of a task run without one: nothing is written ahead."""

    def open_task(self, key: str) -> str | None:
        return None

    def record_task(self, key: str, provider: str, task_id: str) -> None:
        return None

    def close_task(self, key: str) -> None:
        return None


_UNWRITTEN = _Unwritten()


class TaskRunner:
    """Runs one Runway task from creation to a downloaded output file."""

    def __init__(
        self,
        client: runwayml.RunwayML,
        downloads: httpx.Client,
        retry: RetryPolicy,
        poll: PollPolicy,
        *,
        sleep: Callable[[float], None] = stoppable_sleep,
        clock: Callable[[], float] = time.monotonic,
        journal: TaskJournal | None = None,
    ) -> None:
        self.client = client
        self.downloads = downloads
        self.retry = retry
        self.poll = poll
        self.sleep = sleep
        self.clock = clock
        self.journal = journal

    def run(self, start: Callable[[], str], dest: Path, *, key: str | None = None) -> TaskOutcome:
        """Create a task with `start` (returns its id), wait for it, download output[0] to dest.

        With a journal and a `key` (what the task makes), the task is written ahead as soon as
        Runway names it, crossed off when it fails or is given up on, and left for the caller
        to cross off once the output is kept; a task a dead process left open under the same
        key is polled and its output adopted instead of a new one being paid for.
        What the ledger must know beyond the answer (a task taken up, a task paid for without
        an output, a create whose answer was lost) goes to `call_notes`.
        """
        sent = 0
        charged: list[float | None] = []
        journal: TaskJournal = (
            self.journal if self.journal is not None and key is not None else _UNWRITTEN
        )
        key = key or ""

        def create() -> str:
            nonlocal sent
            sent += 1
            note_provider_busy()
            try:
                return start()
            except Exception as exc:
                # Runway lists no tasks and takes no idempotency key, so a create whose answer
                # was lost cannot be looked up before it is sent again: it may have started
                # (and be billed for) a task we will never know of.
                if answer_lost(exc):
                    note_unanswered()
                raise

        def finish(task_id: str) -> str:
            ended = False
            try:
                task = self._wait(task_id, charged)
                ended = True
                note_provider_idle()  # Runway's work is done; the download is ours
                outputs = getattr(task, "output", None) or []
                if not outputs:
                    raise ProviderError(
                        f"Runway task {task_id} ended with no output", permanent=True
                    )
                self._retrying(lambda: download(self.downloads, str(outputs[0]), dest))
            except Exception as exc:
                # Given up on while it may still run (its polls kept failing): cancelled, so
                # it does not run on and charge for an output no one will fetch.
                if not ended and not isinstance(exc, TaskFailed):
                    self.cancel(task_id)
                # Paid for (Runway charges a task cancelled while it runs), no output had.
                if not isinstance(exc, TaskFailed):
                    note_lost()
                # Ended for good, or given up on; a process that dies here raises nothing
                # and leaves the record for the next attempt.
                journal.close_task(key)
                raise
            # Succeeded: the record stays until the output is kept where every worker finds
            # it (`Scratch.store`). A process dying before that leaves the task to be taken
            # up and its output downloaded again, not a new task paid for.
            return task_id

        def one_task() -> str:
            left = journal.open_task(key)
            if left is not None:
                log.info("taking up Runway task %s, started before a restart", left)
                try:
                    taken_up = finish(left)
                    note_resumed()
                    return taken_up
                except ProviderError as exc:  # gone (expired, deleted): start a new one
                    log.warning("Runway task %s is lost (%s); starting another", left, exc.reason)
            task_id = self._retrying(create)
            journal.record_task(key, "runway", task_id)
            return finish(task_id)

        task_id = self._retrying(one_task)
        known = [c for c in charged if c is not None]
        credits = sum(known) if len(known) == len(charged) else None
        return TaskOutcome(task_id=task_id, credits=credits, attempts=sent)

    def _retrying(self, call: Callable[[], T]) -> T:
        result, _ = call_with_retries(call, classify_runway_error, self.retry, sleep=self.sleep)
        return result

    def _wait(self, task_id: str, charged: list[float | None]) -> Any:
        """Poll until the task ends: the SUCCEEDED task, else TaskFailed or ProviderError."""
        started = self.clock()
        delay = self.poll.first
        while True:
            waited = self.clock() - started
            self.sleep(max(0.0, min(delay, self.poll.max_wait - waited)))
            task: Any = self._retrying(lambda: self.client.tasks.retrieve(task_id))
            status = str(getattr(task, "status", ""))
            # A render is seen ending within one short poll: the person waits for its stage.
            delay = (min(delay * self.poll.growth, self.poll.cap) if status in _WAITING
                     else self.poll.first)
            if status in ("SUCCEEDED", "FAILED", "CANCELLED"):
                charged.append(_charged(task))
            if status == "SUCCEEDED":
                return task
            if status == "FAILED":
                raise TaskFailed(
                    task_id, getattr(task, "failure_code", None), getattr(task, "failure", "")
                )
            if status == "CANCELLED":
                raise ProviderError("the task was cancelled on Runway", permanent=True)
            waited = self.clock() - started
            if waited >= self.poll.max_wait:  # cancelled by the caller, as given up on
                what = "kept the task queued" if status in _WAITING else "did not finish the task"
                raise ProviderError(f"Runway {what} for {waited:.0f} s", kind="transient")

    def cancel(self, task_id: str) -> None:
        """Cancel (or delete) a task we stop waiting for, so it does not run and charge later."""
        try:
            self._retrying(lambda: self.client.tasks.delete(task_id))
        except ProviderError as exc:
            log.warning("could not cancel Runway task %s: %s", task_id, exc.reason)


def download(http: httpx.Client, url: str, dest: Path) -> None:
    """Fetch `url` into `dest` atomically; a short body raises OutputIncomplete (transient)."""
    with atomic_output(dest) as tmp, http.stream("GET", url) as response:
        response.raise_for_status()
        with tmp.open("wb") as file:
            for chunk in response.iter_bytes():
                file.write(chunk)
        expected = response.headers.get("content-length")
        if expected is not None and expected.isdigit():
            got = response.num_bytes_downloaded  # bytes on the wire, as Content-Length counts
            if got != int(expected):
                raise OutputIncomplete(f"got {got} of {expected} bytes")


def _charged(task: Any) -> float | None:
    cost = getattr(task, "cost", None)
    credits = getattr(cost, "credits", None)
    return float(credits) if isinstance(credits, int | float) else None
