"""Steps that talk to the person through the job's channel; each message is sent once."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from prefect import task

from tasks.artifacts import publish_gate, publish_script, publish_video
from tasks.runtime import ONCE, runtime
from videobot.costs import approving_starts, gate_note
from videobot.formats import VideoFormat
from videobot.motion import job_motion


@task(name="present", task_run_name="present-{stage}-{attempt}", retries=2, retry_delay_seconds=2,
      **ONCE)
def present(job_id: UUID, stage: str, attempt: int, channel: str, sheet: str | None) -> None:
    """Show what is to be judged at a gate, unless this gate was already shown."""
    rt = runtime()
    gate = rt.store.open_gate(job_id, stage, attempt)
    if gate.presented_at is not None or gate.decision is not None:
        return
    job = rt.store.job(job_id)
    out = rt.channel(channel)
    if stage == "script":
        script = rt.store.script_of(job)
        assert script is not None
        out.show_script(job, script, attempt)
        publish_script(job_id, script, attempt)
    else:
        segments = rt.store.segments(job_id)
        motion = job_motion(rt.settings, job.motion_model, job.motion_seconds)
        note = gate_note(rt.settings, stage, len(segments), motion)
        out.show_media(job, stage, segments, Path(sheet) if sheet else None, attempt, note)
        starts = approving_starts(rt.settings, stage, VideoFormat(job.format), motion)
        publish_gate(job_id, stage, attempt, sheet, f"approving {starts}.")
    rt.store.mark_presented(job_id, stage, attempt)


@task(name="notify", **ONCE)
def notify(job_id: UUID, channel: str, text: str) -> None:
    """A progress line for the person."""
    rt = runtime()
    rt.channel(channel).progress(rt.store.job(job_id), text)


@task(name="deliver", retries=2, retry_delay_seconds=5, **ONCE)
def deliver(job_id: UUID, channel: str) -> None:
    """Send the finished video; marks the job delivered."""
    rt = runtime()
    job = rt.store.job(job_id)
    if job.status == "delivered" or job.final_path is None:
        return
    rt.channel(channel).deliver(job, Path(job.final_path))
    publish_video(job_id, Path(job.final_path))
    rt.store.update_job(job_id, status="delivered", stage="delivered")
