"""Text steps: intake, script, scene plan, motion prompts. Each returns recorded work on replay."""

from __future__ import annotations

from uuid import UUID

from prefect import task

from tasks.limits import paid_call
from tasks.runtime import RETRIES, runtime
from videobot.media.paths import key
from videobot.providers.base import ScriptRequest
from videobot.requests import clean_prompt
from videobot.script import ScenePlan, Script, SegmentPlan


@task(name="intake", **RETRIES)
def intake(job_id: UUID) -> str:
    """The prompt text; a voice prompt is transcribed once and its text kept on the job."""
    rt = runtime()
    job = rt.store.job(job_id)
    if job.prompt_kind != "voice" or job.prompt:
        return job.prompt
    stored = job.voice_path or key(rt.media.voice_prompt(job_id))
    with rt.scratch() as scratch:
        voice = scratch.fetch(stored)  # a key, or the path where the bot saved the note
        transcript = paid_call(
            job_id,
            stage="intake",
            segment=None,
            provider=rt.providers.transcriber.name,
            call=lambda: rt.providers.transcriber.transcribe(voice),
        )
    text = clean_prompt(transcript.text)
    language = transcript.language if job.language == "auto" else job.language
    rt.store.update_job(job_id, prompt=text, language=language)
    return text


@task(name="write-script", task_run_name="write-script-v{attempt}", **RETRIES)
def write_script(job_id: UUID, attempt: int, feedback: str | None) -> Script:
    """Script version `attempt`, written once."""
    rt = runtime()
    job = rt.store.job(job_id)
    recorded = rt.store.script_of(job)
    if recorded is not None and job.script_round >= attempt:
        return recorded
    writer = rt.providers.writer
    request = ScriptRequest(
        prompt=job.prompt,
        language=job.language,
        feedback=feedback,
        previous=recorded,
        attempt=attempt,
    )
    script = paid_call(
        job_id,
        stage="script",
        segment=None,
        round_=attempt,
        provider=writer.name,
        call=lambda: writer.write_script(request),
    )
    rt.store.save_script(job_id, script, attempt)
    return script


@task(name="plan-segments", **RETRIES)
def plan_segments(job_id: UUID) -> int:
    """Ten scenes with their image prompts, planned once per approved script."""
    rt = runtime()
    if rt.store.segments(job_id):
        return len(rt.store.segments(job_id))
    job = rt.store.job(job_id)
    script = rt.store.script_of(job)
    if script is None:
        raise RuntimeError("the script must be approved before scenes are planned")
    writer = rt.providers.writer
    plan = paid_call(
        job_id,
        stage="segments",
        segment=None,
        provider=writer.name,
        call=lambda: writer.plan_segments(script, job.language),
    )
    rt.store.save_plan(job_id, plan)
    return len(plan.scenes)


@task(name="write-motion", **RETRIES)
def write_motion(job_id: UUID) -> list[str]:
    """Animation prompts for the scenes that have none (all ten the first time), written once."""
    rt = runtime()
    segments = rt.store.segments(job_id)
    if segments and all(s.motion_prompt for s in segments):
        return [s.motion_prompt or "" for s in segments]
    job = rt.store.job(job_id)
    plan = SegmentPlan(
        style=job.style or "plain",
        scenes=[
            ScenePlan(index=s.index, text=s.text, image_prompt=s.image_prompt) for s in segments
        ],
    )
    writer = rt.providers.writer
    motion = paid_call(
        job_id,
        stage="motion",
        segment=None,
        provider=writer.name,
        call=lambda: writer.write_motion(plan, job.language),
    )
    for segment, prompt in zip(segments, motion.prompts, strict=True):
        if not segment.motion_prompt:  # keep prompts a person edited
            rt.store.update_segment(job_id, segment.index, motion_prompt=prompt)
    return [s.motion_prompt or "" for s in rt.store.segments(job_id)]
