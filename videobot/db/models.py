"""SQLAlchemy 2 models: one schema for SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import Uuid


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


FINISHED_STATUSES = frozenset(
    {JobStatus.DELIVERED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED}
)


class MediaStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


Timestamp = DateTime(timezone=True)


class VideoJob(Base):
    __tablename__ = "video_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    chat_id: Mapped[str | None] = mapped_column(String(64))
    prompt: Mapped[str] = mapped_column(Text)
    prompt_kind: Mapped[str] = mapped_column(String(16), default="text")
    voice_path: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    format: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED, index=True)
    stage: Mapped[str] = mapped_column(String(32), default="intake")
    title: Mapped[str | None] = mapped_column(String(200))
    script_intro: Mapped[str | None] = mapped_column(Text)
    script_main: Mapped[str | None] = mapped_column(Text)
    script_outro: Mapped[str | None] = mapped_column(Text)
    script_round: Mapped[int] = mapped_column(Integer, default=0)
    style: Mapped[str | None] = mapped_column(Text)
    intro_audio_path: Mapped[str | None] = mapped_column(Text)
    main_audio_path: Mapped[str | None] = mapped_column(Text)
    outro_audio_path: Mapped[str | None] = mapped_column(Text)
    final_path: Mapped[str | None] = mapped_column(Text)
    flow_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    flow_run_name: Mapped[str | None] = mapped_column(String(128))
    # The attempt of the run that took the job up last (`tasks.attempts`): an older attempt
    # still alive steps aside once it sees another token here.
    run_token: Mapped[str | None] = mapped_column(String(32))
    prefect_api_url: Mapped[str | None] = mapped_column(String(256))
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # When the job last became queued: its place in the queue for a working slot. Kept apart
    # from updated_at, which moves whenever anything about the job is written.
    queued_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # Set when cleanup deleted the job's media directory; the row itself is kept.
    media_removed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    media_removed_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # The narrator voice the person chose (a name from NARRATOR_VOICES); None: the default.
    narrator_voice: Mapped[str | None] = mapped_column(String(32))
    # Each narration's words with their start and end in seconds, from the section's start:
    # {"intro": [["Hello", 0.12, 0.48], ...], ...}. Captions are built from these on replay.
    word_timings: Mapped[dict[str, list[list[Any]]] | None] = mapped_column(JSON)
    # The music bed's mood, picked with the script; None: the default mood.
    music_mood: Mapped[str | None] = mapped_column(String(16))
    # The person's choice of burned-in captions; None: the CAPTIONS setting.
    captions: Mapped[bool | None] = mapped_column(Boolean)
    # The .srt sidecar written beside the final video.
    captions_path: Mapped[str | None] = mapped_column(Text)
    # The replay record: the pipeline stages finished, in order (a gated stage once its
    # approval is taken). A run, resumed or retried, skips these without any task run.
    stages_done: Mapped[list[str] | None] = mapped_column(JSON)
    # The `rerun-stage` flow run whose discard was applied: its resumes do not discard again.
    rerun_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # The script's style sheet (videobot.style.StyleSheet as JSON): palette, medium, lighting
    # and recurring subjects, carried by every image prompt.
    style_sheet: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The person's own photo, a reference for every scene's picture (a copy in the job's dir).
    reference_path: Mapped[str | None] = mapped_column(Text)
    # The clip model and the seconds asked of it; None: the provider's default.
    motion_model: Mapped[str | None] = mapped_column(String(32))
    motion_seconds: Mapped[int | None] = mapped_column(Integer)
    # The round each gate's current pass starts at ({"images": 3}); a rerun continues the
    # numbers, so its files and gate rows are new. Missing: round 1.
    first_rounds: Mapped[dict[str, int] | None] = mapped_column(JSON)
    # The delivered video a rerun will replace: kept until the new one is assembled.
    replaced_final_path: Mapped[str | None] = mapped_column(Text)

    segments: Mapped[list[VideoSegment]] = relationship(
        back_populates="job", order_by="VideoSegment.index", cascade="all, delete-orphan"
    )


class VideoSegment(Base):
    __tablename__ = "video_segments"
    __table_args__ = (UniqueConstraint("job_id", "index", name="uq_segment_job_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("video_jobs.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    section: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    image_prompt: Mapped[str] = mapped_column(Text)
    motion_prompt: Mapped[str | None] = mapped_column(Text)
    image_path: Mapped[str | None] = mapped_column(Text)
    image_status: Mapped[str] = mapped_column(String(16), default=MediaStatus.PENDING)
    image_round: Mapped[int] = mapped_column(Integer, default=0)
    image_attempts: Mapped[int] = mapped_column(Integer, default=0)
    video_path: Mapped[str | None] = mapped_column(Text)
    video_status: Mapped[str] = mapped_column(String(16), default=MediaStatus.PENDING)
    video_round: Mapped[int] = mapped_column(Integer, default=0)
    video_attempts: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)

    job: Mapped[VideoJob] = relationship(back_populates="segments")


class Approval(Base):
    """One gate: opened when the run starts waiting, decided once."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("job_id", "stage", "attempt", name="uq_approval_gate"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("video_jobs.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str | None] = mapped_column(String(16))
    scenes: Mapped[list[int] | None] = mapped_column(JSON)
    scene: Mapped[int | None] = mapped_column(Integer)
    part: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    presented_at: Mapped[datetime | None] = mapped_column(Timestamp)
    opened_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)


class ProviderCall(Base):
    """The ledger: one row per provider call, paid or not, successful or not."""

    __tablename__ = "provider_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("video_jobs.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(16))
    segment: Mapped[int | None] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    units: Mapped[float] = mapped_column(Float, default=0.0)
    unit: Mapped[str] = mapped_column(String(16), default="")
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class ProviderTask(Base):
    """A provider task started and not yet finished: written as soon as the provider names it,
    removed once its output is on disk or it failed. One left open by a process that died is
    taken up by the next attempt (polled, its output adopted) instead of paid for again."""

    __tablename__ = "provider_tasks"

    # What the task makes: the output file's path (one per job, scene and round).
    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    task_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class BotUser(Base):
    """A person using the bot: their choices, and what the bot waits for them to type.

    The row is also the lock that makes a person's requests count one at a time, whichever bot
    replica receives them.
    """

    __tablename__ = "bot_users"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    format: Mapped[str | None] = mapped_column(String(8))
    voice: Mapped[str | None] = mapped_column(String(32))
    captions: Mapped[bool | None] = mapped_column(Boolean)
    # The clip model chosen in /settings; None: the provider's default.
    motion: Mapped[str | None] = mapped_column(String(32))
    # A photo sent without a caption, waiting to be the reference of this person's next job;
    # kept at `reference_kept_at`, removed by the media cleanup when no job took it in time.
    reference_path: Mapped[str | None] = mapped_column(Text)
    reference_kept_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # {"job": id, "stage": ..., "attempt": n, "kind": "feedback"|"edit", "part"|"scene": ...}
    awaiting: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status_edited_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_request_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class BotRequest(Base):
    """One request a person made, kept for an hour: the rate limits count these rows."""

    __tablename__ = "bot_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, index=True)


class StatusMessage(Base):
    """The one chat message per job that is edited as the work goes on."""

    __tablename__ = "bot_status_messages"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("video_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text, default="")
    edited_at: Mapped[datetime | None] = mapped_column(Timestamp)


class ProviderIntent(Base):
    """A paid call written ahead: recorded before its request is sent, settled with its ledger
    row(s) once it returns. One left open by a process that died is what the next attempt
    resumes (a provider task taken up, an output file adopted) or records as lost or possibly
    paid, so the ledger counts every request a provider may have billed."""

    __tablename__ = "provider_intents"

    # The idempotency key of the call: one per intent, kept across the attempts that resume it.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("video_jobs.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(16))
    segment: Mapped[int | None] = mapped_column(Integer)
    part: Mapped[str | None] = mapped_column(String(16))  # a narration's section
    round: Mapped[int | None] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, settled
    # Processes that started the call: one more than the attempts a crash cut short.
    tries: Mapped[int] = mapped_column(Integer, default=1)
    # Written the moment they happen, so a crash after them does not lose them: requests
    # sent whose answer never came (possibly paid), provider tasks paid for without output.
    unanswered: Mapped[int] = mapped_column(Integer, default=0)
    lost: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(Timestamp)
