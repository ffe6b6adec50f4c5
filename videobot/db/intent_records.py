"""Paid calls written ahead (`provider_intents`) and settled with their ledger rows.

A call's intent is written before its request is sent and settled in the same transaction
that writes its ledger rows, so at any moment a call is either open (in flight, or cut short
by a crash) or in the ledger, never neither.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from videobot.db.engine import Database
from videobot.db.models import (
    FINISHED_STATUSES,
    ProviderCall,
    ProviderIntent,
    VideoJob,
    utcnow,
)
from videobot.providers.base import Usage

OPEN = "open"
SETTLED = "settled"


@dataclass(frozen=True)
class CallSite:
    """Where a paid call belongs: at most one call per site is in flight at a time (a job has
    one live run, and its stages and rounds follow one another)."""

    job_id: uuid.UUID
    stage: str
    segment: int | None
    provider: str
    part: str | None = None  # a narration's section
    round: int | None = None


@dataclass(frozen=True)
class Entry:
    """One ledger row to write when an intent is settled."""

    outcome: str  # ok, error, lost, possibly_paid
    usage: Usage | None
    latency_ms: int = 0
    error: str | None = None
    details: dict[str, Any] | None = None


class IntentRecords:
    db: Database

    def begin_intent(self, site: CallSite) -> tuple[str, int]:
        """The key of the site's intent and how many of its tries a crash cut short: an open
        intent a dead process left is taken up (one more try), else a new one is written."""
        with self.db.session() as s:
            left = s.scalars(_open_at(site).with_for_update()).first()
            if left is not None:
                left.tries += 1
                if site.round is not None:
                    left.round = site.round
                return left.key, left.tries - 1
            key = uuid.uuid4().hex
            s.add(ProviderIntent(
                key=key, job_id=site.job_id, stage=site.stage, segment=site.segment,
                part=site.part, round=site.round, provider=site.provider, status=OPEN, tries=1,
                unanswered=0, lost=0,
            ))
            return key, 0

    def open_intent(self, site: CallSite) -> ProviderIntent | None:
        """The site's open intent, if a call there is in flight or was cut short."""
        with self.db.session() as s:
            return s.scalars(_open_at(site)).first()

    def settle_intent(self, key: str, job_id: uuid.UUID, entries: Sequence[Entry]) -> None:
        """Write the call's ledger rows, add their cost to the job and close its intent, in
        one transaction."""
        with self.db.session() as s:
            intent = s.get(ProviderIntent, key)
            for entry in entries:
                usage = entry.usage
                details = dict(entry.details or {})
                if intent is not None:
                    details.update(intent=key, round=intent.round, part=intent.part)
                s.add(ProviderCall(
                    job_id=job_id,
                    stage=intent.stage if intent else "",
                    segment=intent.segment if intent else None,
                    provider=intent.provider if intent else (usage.provider if usage else ""),
                    model=usage.model if usage else "", units=usage.units if usage else 0.0,
                    unit=usage.unit if usage else "",
                    cost_usd=usage.cost_usd if usage else 0.0, latency_ms=entry.latency_ms,
                    outcome=entry.outcome, error=entry.error,
                    request_id=usage.request_id if usage else None,
                    details={k: v for k, v in details.items() if v is not None},
                ))
            job = s.get(VideoJob, job_id)
            if job is not None:
                job.cost_usd = (job.cost_usd or 0.0) + sum(
                    e.usage.cost_usd for e in entries if e.usage is not None
                )
            if intent is not None:
                intent.status, intent.settled_at = SETTLED, utcnow()

    def note_on_intent(self, key: str, what: str) -> None:
        """Count on the intent, at once, a request whose answer never came (`unanswered`) or
        a provider task paid for without an output (`lost`)."""
        column = {"unanswered": ProviderIntent.unanswered, "lost": ProviderIntent.lost}[what]
        with self.db.session() as s:
            s.execute(update(ProviderIntent).where(ProviderIntent.key == key)
                      .values({column: column + 1}))

    def intent_notes(self, key: str) -> tuple[int, int]:
        """(unanswered, lost) counted on the intent by every try of the call."""
        with self.db.session() as s:
            row = s.get(ProviderIntent, key)
            return (row.unanswered, row.lost) if row is not None else (0, 0)

    def open_intents(self, job_id: uuid.UUID) -> list[ProviderIntent]:
        with self.db.session() as s:
            rows = s.scalars(select(ProviderIntent).where(
                ProviderIntent.job_id == job_id, ProviderIntent.status == OPEN
            ).order_by(ProviderIntent.created_at))
            return list(rows)

    def jobs_with_work_left(self) -> list[uuid.UUID]:
        """Finished jobs (delivered, failed, cancelled, expired) with intents still open: work
        their last process started and nobody will finish. (A provider task is open only while
        its call's intent is.)"""
        finished = select(VideoJob.id).where(VideoJob.status.in_(list(FINISHED_STATUSES)))
        with self.db.session() as s:
            return sorted(set(s.scalars(select(ProviderIntent.job_id).where(
                ProviderIntent.status == OPEN, ProviderIntent.job_id.in_(finished)
            ))))


def _open_at(site: CallSite) -> Any:
    query = select(ProviderIntent).where(
        ProviderIntent.job_id == site.job_id,
        ProviderIntent.stage == site.stage,
        ProviderIntent.status == OPEN,
        ProviderIntent.segment.is_(None) if site.segment is None
        else ProviderIntent.segment == site.segment,
        ProviderIntent.part.is_(None) if site.part is None else ProviderIntent.part == site.part,
    )
    return query.order_by(ProviderIntent.created_at)
