"""The job store: every read and write the pipeline, the CLI and the bot make."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select

from videobot.db.engine import Database
from videobot.db.gate_records import GateRecords
from videobot.db.intent_records import IntentRecords
from videobot.db.models import (
    FINISHED_STATUSES,
    JobStatus,
    MediaStatus,
    ProviderCall,
    VideoJob,
    VideoSegment,
    utcnow,
)
from videobot.db.progress_records import ProgressRecords
from videobot.db.queue_records import QueueRecords
from videobot.db.spend_records import SpendRecords
from videobot.db.task_records import TaskRecords
from videobot.formats import SECTION_NAMES, section_of_scene
from videobot.providers.base import Usage
from videobot.script import Script, SegmentPlan
from videobot.style import StyleSheet

_timings_lock = threading.Lock()

class JobNotFound(LookupError):
    def __init__(self, job_id: object) -> None:
        super().__init__(f"no job with id {job_id}")


def new_job_row(
    *,
    user_id: str,
    chat_id: str | None,
    prompt: str,
    prompt_kind: str,
    language: str,
    fmt: str,
    narrator_voice: str | None = None,
) -> VideoJob:
    """A job as it starts: queued, before intake."""
    return VideoJob(
        id=uuid.uuid4(), user_id=user_id, chat_id=chat_id, prompt=prompt,
        prompt_kind=prompt_kind, language=language, format=fmt, narrator_voice=narrator_voice,
        status=JobStatus.QUEUED, stage="intake", queued_at=utcnow(),
    )


class JobStore(
    GateRecords, QueueRecords, ProgressRecords, TaskRecords, SpendRecords, IntentRecords
):
    def __init__(self, db: Database) -> None:
        self.db = db

    # Jobs -------------------------------------------------------------------------------

    def create_job(
        self,
        *,
        user_id: str,
        prompt: str,
        language: str,
        fmt: str,
        chat_id: str | None = None,
        prompt_kind: str = "text",
    ) -> VideoJob:
        job = new_job_row(
            user_id=user_id, chat_id=chat_id, prompt=prompt, prompt_kind=prompt_kind,
            language=language, fmt=fmt,
        )
        with self.db.session() as s:
            s.add(job)
        return job

    def job(self, job_id: uuid.UUID) -> VideoJob:
        with self.db.session() as s:
            job = s.get(VideoJob, job_id)
            if job is None:
                raise JobNotFound(job_id)
            return job

    def run_token(self, job_id: uuid.UUID) -> str | None:
        """The token of the run attempt that took the job up last (`tasks.attempts`)."""
        with self.db.session() as s:
            return s.scalar(select(VideoJob.run_token).where(VideoJob.id == job_id))

    def find_job(self, prefix: str) -> VideoJob:
        """A job by its full id or a unique prefix of it (as printed by the CLI)."""
        prefix = prefix.strip().lower()
        try:
            return self.job(uuid.UUID(prefix))
        except ValueError:
            pass
        if len(prefix) < 6 or not all(c in "0123456789abcdef-" for c in prefix):
            raise JobNotFound(prefix)
        with self.db.session() as s:
            ids = [
                row for row in s.scalars(select(VideoJob.id)) if str(row).startswith(prefix)
            ]
        if len(ids) != 1:
            raise JobNotFound(prefix)
        return self.job(ids[0])

    def update_job(self, job_id: uuid.UUID, **values: object) -> None:
        with self.db.session() as s:
            job = s.get(VideoJob, job_id)
            if job is None:
                raise JobNotFound(job_id)
            if values.get("status") == JobStatus.QUEUED and job.status != JobStatus.QUEUED:
                job.queued_at = utcnow()  # joins the queue at its end
            for key, value in values.items():
                setattr(job, key, value)
            if values.get("status") in FINISHED_STATUSES:
                job.finished_at = utcnow()

    def set_stage(self, job_id: uuid.UUID, stage: str, status: str = JobStatus.RUNNING) -> None:
        self.update_job(job_id, stage=stage, status=status)

    # Script and plan ----------------------------------------------------------------------

    def save_script(self, job_id: uuid.UUID, script: Script, round_: int) -> None:
        self.update_job(
            job_id,
            title=script.title,
            script_intro=script.intro,
            script_main=script.main,
            script_outro=script.outro,
            script_round=round_,
            music_mood=script.mood,
            style_sheet=script.style.model_dump(mode="json") if script.style else None,
        )

    @staticmethod
    def script_of(job: VideoJob) -> Script | None:
        if not (job.script_intro and job.script_main and job.script_outro):
            return None
        return Script(
            title=job.title or "", intro=job.script_intro, main=job.script_main,
            outro=job.script_outro, mood=job.music_mood, style=style_of(job),
        )

    def save_plan(self, job_id: uuid.UUID, plan: SegmentPlan) -> None:
        """Store the ten scenes, replacing any earlier plan (and its media) for this job."""
        with self.db.session() as s:
            job = s.get(VideoJob, job_id)
            if job is None:
                raise JobNotFound(job_id)
            job.style = plan.style
            job.segments.clear()
            s.flush()
            for scene in plan.scenes:
                job.segments.append(
                    VideoSegment(
                        index=scene.index,
                        section=section_of_scene(scene.index).index,
                        text=scene.text,
                        image_prompt=scene.image_prompt,
                    )
                )

    def save_plan_cleared(self, job_id: uuid.UUID) -> None:
        """Remove the scene plan (and with it every scene's media record)."""
        with self.db.session() as s:
            job = s.get(VideoJob, job_id)
            if job is None:
                raise JobNotFound(job_id)
            job.segments.clear()

    def segments(self, job_id: uuid.UUID) -> list[VideoSegment]:
        with self.db.session() as s:
            rows = s.scalars(
                select(VideoSegment).where(VideoSegment.job_id == job_id).order_by(
                    VideoSegment.index
                )
            )
            return list(rows)

    def update_segment(self, job_id: uuid.UUID, index: int, **values: object) -> None:
        with self.db.session() as s:
            segment = s.scalars(
                select(VideoSegment).where(
                    VideoSegment.job_id == job_id, VideoSegment.index == index
                )
            ).one()
            for key, value in values.items():
                setattr(segment, key, value)

    def record_image(self, job_id: uuid.UUID, index: int, path: Path, round_: int) -> None:
        self.update_segment(
            job_id, index, image_path=str(path), image_status=MediaStatus.READY,
            image_round=round_, error=None,
        )

    def record_clip(
        self, job_id: uuid.UUID, index: int, path: Path, round_: int, duration: float
    ) -> None:
        self.update_segment(
            job_id, index, video_path=str(path), video_status=MediaStatus.READY,
            video_round=round_, duration=duration, error=None,
        )

    def record_narration(self, job_id: uuid.UUID, section: str, path: Path | None) -> None:
        if section not in SECTION_NAMES:
            raise ValueError(f"unknown section {section!r}")
        self.update_job(job_id, **{f"{section}_audio_path": str(path) if path else None})

    def record_word_timings(
        self, job_id: uuid.UUID, section: str, words: list[tuple[str, float, float]]
    ) -> None:
        """Keep a narration's word timings with the job, so captions never need them again."""
        if section not in SECTION_NAMES:
            raise ValueError(f"unknown section {section!r}")
        # The three narrations finish in threads at once: the read-modify-write of the one JSON
        # value is serialised here (and row-locked where the database can), or one is lost.
        with _timings_lock, self.db.session() as s:
            job = s.get(VideoJob, job_id, with_for_update=True)
            if job is None:
                raise JobNotFound(job_id)
            timings = dict(job.word_timings or {})
            timings[section] = [[w, round(a, 3), round(b, 3)] for w, a, b in words]
            job.word_timings = timings  # a new dict: SQLAlchemy sees a replaced JSON value

    # Ledger -------------------------------------------------------------------------------

    def record_call(
        self,
        job_id: uuid.UUID,
        *,
        stage: str,
        segment: int | None,
        provider: str,
        usage: Usage | None,
        latency_ms: int,
        error: str | None = None,
    ) -> None:
        """Write one ledger row and add its cost to the job's total, in one transaction."""
        cost = usage.cost_usd if usage else 0.0
        with self.db.session() as s:
            s.add(
                ProviderCall(
                    job_id=job_id, stage=stage, segment=segment, provider=provider,
                    model=usage.model if usage else "", units=usage.units if usage else 0.0,
                    unit=usage.unit if usage else "", cost_usd=cost, latency_ms=latency_ms,
                    outcome="error" if error else "ok", error=error,
                    request_id=usage.request_id if usage else None,
                )
            )
            job = s.get(VideoJob, job_id)
            if job is not None:
                job.cost_usd = (job.cost_usd or 0.0) + cost

    def calls(self, job_id: uuid.UUID, stage: str | None = None) -> list[ProviderCall]:
        query = select(ProviderCall).where(ProviderCall.job_id == job_id)
        if stage:
            query = query.where(ProviderCall.stage == stage)
        with self.db.session() as s:
            return list(s.scalars(query.order_by(ProviderCall.id)))

    def call_counts(self, job_id: uuid.UUID) -> dict[str, int]:
        """Successful calls per stage."""
        with self.db.session() as s:
            rows = s.execute(
                select(ProviderCall.stage, func.count())
                .where(ProviderCall.job_id == job_id, ProviderCall.outcome == "ok")
                .group_by(ProviderCall.stage)
            )
            return {stage: count for stage, count in rows}


def style_of(job: VideoJob) -> StyleSheet | None:
    """The job's style sheet; None before its script is written (or for a script written
    before style sheets, which has only the plan's style line)."""
    return StyleSheet.model_validate(job.style_sheet) if job.style_sheet else None


def first_round(job: VideoJob, stage: str) -> int:
    """The round the current pass of a gate starts at: 1, or later after a rerun."""
    return int((job.first_rounds or {}).get(stage, 1))


def unready_scenes(segments: Sequence[VideoSegment], kind: str) -> list[int]:
    """0-based indexes of scenes whose image (or clip) is not ready."""
    status = "image_status" if kind == "images" else "video_status"
    return [s.index for s in segments if getattr(s, status) != MediaStatus.READY]
