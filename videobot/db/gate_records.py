"""Gate records: one row per (stage, attempt), opened when a run waits, decided once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from videobot.db.engine import Database
from videobot.db.models import Approval, JobStatus, VideoJob, utcnow
from videobot.decisions import Decision


class GateRecords:
    db: Database

    def open_gate(self, job_id: uuid.UUID, stage: str, attempt: int) -> Approval:
        """The gate row for (stage, attempt), created on first call; marks the job waiting."""
        with self.db.session() as s:
            gate = self._gate(s, job_id, stage, attempt)
            if gate is None:
                gate = Approval(job_id=job_id, stage=stage, attempt=attempt)
                s.add(gate)
            job = s.get(VideoJob, job_id)
            if job is not None and gate.decision is None:
                job.status, job.stage = JobStatus.WAITING, f"{stage}-gate"
            return gate

    def mark_presented(self, job_id: uuid.UUID, stage: str, attempt: int) -> None:
        with self.db.session() as s:
            gate = self._gate(s, job_id, stage, attempt)
            if gate is not None:
                gate.presented_at = utcnow()

    def gate(self, job_id: uuid.UUID, stage: str, attempt: int) -> Approval | None:
        with self.db.session() as s:
            return self._gate(s, job_id, stage, attempt)

    def waiting_gate(self, job_id: uuid.UUID) -> Approval | None:
        """The gate the job is waiting at, if any."""
        with self.db.session() as s:
            return s.scalars(
                select(Approval)
                .where(Approval.job_id == job_id, Approval.decision.is_(None))
                .order_by(Approval.id.desc())
            ).first()

    def record_decision(
        self, job_id: uuid.UUID, stage: str, attempt: int, decision: Decision
    ) -> None:
        """Record a decision once; a gate already decided keeps its first decision."""
        with self.db.session() as s:
            gate = self._gate(s, job_id, stage, attempt)
            if gate is None:
                gate = Approval(job_id=job_id, stage=stage, attempt=attempt)
                s.add(gate)
            if gate.decision is not None:
                return
            gate.decision, gate.scenes = decision.action, decision.scenes
            gate.scene = decision.scene
            gate.part, gate.text, gate.feedback = decision.part, decision.text, decision.feedback
            gate.decided_by, gate.decided_at = decision.decided_by, utcnow()

    def decision(self, job_id: uuid.UUID, stage: str, attempt: int) -> Decision | None:
        gate = self.gate(job_id, stage, attempt)
        if gate is None or gate.decision is None:
            return None
        return Decision.model_validate(
            {
                "action": gate.decision, "scenes": gate.scenes, "part": gate.part,
                "scene": gate.scene, "text": gate.text, "feedback": gate.feedback,
                "decided_by": gate.decided_by or "unknown",
            }
        )

    def stranded_decisions(self, decided_before: datetime) -> list[tuple[uuid.UUID, str, int]]:
        """Gates decided before `decided_before` whose job still waits at them: the decision
        was claimed, but whoever claimed it stopped before the run was resumed with it. A gate
        with a later one is not: its run took the decision and waits at the next round of the
        same stage, which the old decision must not answer."""
        later = aliased(Approval)
        with self.db.session() as s:
            rows = s.execute(
                select(Approval.job_id, Approval.stage, Approval.attempt)
                .join(VideoJob, VideoJob.id == Approval.job_id)
                .where(
                    VideoJob.status == JobStatus.WAITING,
                    VideoJob.stage == Approval.stage + "-gate",
                    Approval.decision.is_not(None),
                    Approval.decided_at < decided_before,
                    ~exists().where(later.job_id == Approval.job_id, later.id > Approval.id),
                )
            )
            return [(job_id, stage, attempt) for job_id, stage, attempt in rows]

    def approvals(self, job_id: uuid.UUID) -> Sequence[Approval]:
        with self.db.session() as s:
            return list(
                s.scalars(select(Approval).where(Approval.job_id == job_id).order_by(Approval.id))
            )

    @staticmethod
    def _gate(s: Session, job_id: uuid.UUID, stage: str, attempt: int) -> Approval | None:
        return s.scalars(
            select(Approval).where(
                Approval.job_id == job_id, Approval.stage == stage, Approval.attempt == attempt
            )
        ).first()


