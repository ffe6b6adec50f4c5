"""Steps that talk to the person through the job's channel; each message is sent once."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from prefect import task

from tasks.artifacts import publish_scenes, publish_script, publish_video
from tasks.runtime import ONCE, runtime
from videobot.costs import gate_note


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
        note = gate_note(rt.settings, stage, len(segments))
        out.show_media(job, stage, segments, Path(sheet) if sheet else None, attempt, note)
        publish_scenes(job_id, sheet)
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
