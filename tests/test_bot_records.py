"""What the bot keeps in the database holds across replicas: on SQLite and on PostgreSQL,
concurrent requests are counted exactly, one job per person starts, a gate is decided once."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

import pytest

from videobot.db.bot_records import BotRecords, Refused
from videobot.db.store import JobStore
from videobot.decisions import Decision

T = TypeVar("T")


@pytest.fixture
def records(store: JobStore) -> BotRecords:
    """The bot's records on the migrated store's database (SQLite and PostgreSQL)."""
    return BotRecords(store.db)


def _at_once(count: int, call: Callable[[], T]) -> list[T]:
    """`call` from `count` threads at the same time (as from that many bot replicas)."""
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: call(), range(count)))


def test_rate_limit_per_minute_counts_concurrent_requests_exactly(records: BotRecords) -> None:
    """Of 12 simultaneous requests, exactly 5 pass; the rest are told how long to wait."""
    waits = _at_once(12, lambda: records.admit("tg:1", per_minute=5, per_hour=20))
    assert waits.count(0.0) == 5
    assert all(50 <= w <= 60 for w in waits if w)
    assert records.admit("tg:2", per_minute=5, per_hour=20) == 0.0  # others are not affected


def test_rate_limit_per_hour(records: BotRecords) -> None:
    """With a generous minute limit, the hour's limit still holds."""
    waits = [records.admit("tg:3", per_minute=100, per_hour=7) for _ in range(9)]
    assert waits[:7] == [0.0] * 7
    assert all(3500 <= w <= 3600 for w in waits[7:])


def test_one_active_job_per_person_even_when_asked_at_once(records: BotRecords) -> None:
    """Eight simultaneous prompts from one person start one job; the others name it."""

    def start() -> object:
        return records.start_job(
            user_id="tg:4",
            chat_id="4",
            prompt="Volcanoes",
            prompt_kind="text",
            language="en",
            fmt="16:9",
            voice=None,
            max_active=1,
        )

    results = _at_once(8, start)
    jobs = [r for r in results if not isinstance(r, Refused)]
    assert len(jobs) == 1
    assert all(r.active.id == jobs[0].id for r in results if isinstance(r, Refused))
    JobStore(records.db).update_job(jobs[0].id, status="delivered")
    assert not isinstance(start(), Refused)  # a finished job frees the slot


def test_a_gate_is_claimed_once(records: BotRecords) -> None:
    """Of six simultaneous claims on one open gate, exactly one wins; a release reopens it."""
    store = JobStore(records.db)
    job = store.create_job(user_id="tg:5", prompt="Tides", language="en", fmt="16:9")
    store.open_gate(job.id, "images", 1)
    decision = Decision.make("redo", "tg:5", scenes=[4])
    wins = _at_once(6, lambda: records.claim_decision(job.id, "images", 1, decision))
    assert sum(1 for w in wins if w is not None) == 1
    assert store.decision(job.id, "images", 1) == decision
    records.release_decision(job.id, "images", 1, "tg:5")
    assert store.gate(job.id, "images", 1).decision is None  # type: ignore[union-attr]
    assert records.claim_decision(job.id, "images", 2, decision) is None  # no such gate


def test_status_edits_are_spaced_per_chat(records: BotRecords) -> None:
    """One edit slot per gap for a person, whoever asks; the others learn how long to wait."""
    slots = _at_once(5, lambda: records.claim_edit_slot("tg:6", 2.0))
    assert slots.count(0.0) == 1
    assert all(0 < s <= 2.0 for s in slots if s)
    assert records.claim_edit_slot("tg:7", 2.0) == 0.0


def test_stats_count_jobs_by_status(records: BotRecords) -> None:
    """/stats' numbers: jobs per status."""
    store = JobStore(records.db)
    first = store.create_job(user_id="tg:8", prompt="A", language="en", fmt="16:9")
    store.create_job(user_id="tg:8", prompt="B", language="en", fmt="16:9")
    store.update_job(first.id, status="delivered")
    counts, spend = records.stats(datetime(2000, 1, 1, tzinfo=UTC))
    assert counts["delivered"] >= 1 and counts["queued"] >= 1 and spend >= 0.0
