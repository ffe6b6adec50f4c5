"""Media steps, one provider call or one ffmpeg run each; recorded work is returned on replay.
The final assembly is in `tasks.assembly`.

Each step reads its inputs from the media store and writes its outputs there (see
`videobot.media.store`); providers and ffmpeg work on local copies in a scratch folder that
is emptied when the step ends. The database records store keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

from prefect import task
from prefect.runtime import task_run

from tasks.limits import adopt_output, paid_call
from tasks.runtime import ONCE, RETRIES, runtime
from videobot.db.models import MediaStatus
from videobot.formats import SCENE_SECONDS, VideoFormat
from videobot.media import make_contact_sheet, probe
from videobot.media.finishing import narration_timings
from videobot.media.paths import key
from videobot.media.probe import extract_frame
from videobot.motion import job_motion
from videobot.providers.base import ProviderError, Reference
from videobot.style import StyleSheet


def _scene_run_name() -> str:
    params = task_run.parameters
    return f"{task_run.task_name}-scene-{params['scene'] + 1:02d}-r{params['round_']}"


@contextmanager
def _failure_recorded(job_id: UUID, scene: int, media: str) -> Iterator[None]:
    """Mark the scene failed, with the reason, when its provider call fails for good."""
    try:
        yield
    except ProviderError as exc:
        runtime().store.update_segment(
            job_id, scene, **{f"{media}_status": MediaStatus.FAILED}, error=exc.reason
        )
        raise


@task(name="image", task_run_name=_scene_run_name, **RETRIES)
def make_image(job_id: UUID, scene: int, round_: int, references: list[Reference],
               style: StyleSheet | None, look: str | None = None) -> str:
    """The picture for one scene, made once per round after `references` and the first
    scene's picture `look` (a store key), in `style`; a failure is recorded on the scene."""
    rt = runtime()
    job = rt.store.job(job_id)
    segment = rt.store.segments(job_id)[scene]
    recorded = rt.existing(segment.image_path)
    if recorded and segment.image_round >= round_:
        return recorded
    name = key(rt.media.image(job_id, scene, round_))
    if rt.files.exists(name):  # stored before a crash, not yet recorded: do not pay again
        adopt_output(job_id, stage="images", segment=scene)
        rt.journal.close_kept(name)
        rt.store.record_image(job_id, scene, name, round_)
        return name
    maker = rt.providers.images
    given = [*references, *([Reference(Path(look), "look")] if look else [])]
    refs = [r for r in given if rt.files.exists(str(r.path))]
    with rt.scratch() as scratch:
        out = scratch.output(name)
        if out.is_file():  # made by an attempt whose store failed: not paid again
            adopt_output(job_id, stage="images", segment=scene)
        else:
            local = [Reference(scratch.fetch(str(r.path)), r.kind) for r in refs]
            rt.store.update_segment(job_id, scene, image_attempts=segment.image_attempts + 1)
            with _failure_recorded(job_id, scene, "image"):
                paid_call(
                    job_id,
                    stage="images",
                    segment=scene,
                    round_=round_,
                    provider=maker.name,
                    call=lambda: (
                        None,
                        maker.make_image(
                            segment.image_prompt, segment.text, scene, VideoFormat(job.format),
                            out, references=local, style=style,
                        ),
                    ),
                )
        scratch.store(name)
    rt.store.record_image(job_id, scene, name, round_)
    return name


@task(name="clip", task_run_name=_scene_run_name, **RETRIES)
def make_clip(job_id: UUID, scene: int, round_: int) -> str:
    """The 5-second clip for one scene, animated once per round."""
    rt = runtime()
    job = rt.store.job(job_id)
    segment = rt.store.segments(job_id)[scene]
    recorded = rt.existing(segment.video_path)
    if recorded and segment.video_round >= round_:
        return recorded
    image = rt.existing(segment.image_path)
    if image is None:
        raise RuntimeError(f"scene {scene + 1} has no image to animate")
    name = key(rt.media.clip(job_id, scene, round_))
    animator = rt.providers.animator
    motion = job_motion(rt.settings, job.motion_model, job.motion_seconds)
    with rt.scratch() as scratch:
        if rt.files.exists(name):  # stored before a crash, not yet recorded: do not pay again
            adopt_output(job_id, stage="clips", segment=scene)
            rt.journal.close_kept(name)
            rt.store.record_clip(job_id, scene, name, round_,
                                 probe(scratch.fetch(name)).duration)
            return name
        out = scratch.output(name)
        if out.is_file():  # made by an attempt whose store failed: not paid again
            adopt_output(job_id, stage="clips", segment=scene)
        else:
            still = scratch.fetch(image)
            rt.store.update_segment(job_id, scene, video_attempts=segment.video_attempts + 1)
            with _failure_recorded(job_id, scene, "video"):
                paid_call(
                    job_id,
                    stage="clips",
                    segment=scene,
                    round_=round_,
                    provider=animator.name,
                    call=lambda: (
                        None,
                        animator.animate(
                            still, segment.motion_prompt or "", SCENE_SECONDS,
                            VideoFormat(job.format), out, model=motion.model,
                            length=motion.seconds,
                        ),
                    ),
                )
        duration = probe(out).duration
        scratch.store(name)
    rt.store.record_clip(job_id, scene, name, round_, duration)
    return name


@task(name="narration", task_run_name="narration-{section}", **RETRIES)
def narrate(job_id: UUID, section: str) -> str:
    """The spoken audio of one script part, made once."""
    rt = runtime()
    job = rt.store.job(job_id)
    recorded = rt.existing(getattr(job, f"{section}_audio_path"))
    script = rt.store.script_of(job)
    if recorded:
        if script is not None and section not in (job.word_timings or {}):
            with rt.scratch() as scratch:  # no call: free
                _record_timings(job_id, section, scratch.fetch(recorded), script.part(section),
                                job.language)
        return recorded
    if script is None:
        raise RuntimeError("there is no approved script to narrate")
    name = key(rt.media.narration(job_id, section))
    narrator = rt.providers.narrator
    text = script.part(section)
    with rt.scratch() as scratch:
        if rt.files.exists(name):  # stored before a crash, not yet recorded: not paid again
            adopt_output(job_id, stage="narration", segment=None, part=section)
            rt.journal.close_kept(name)
            _record_timings(job_id, section, scratch.fetch(name), text, job.language)
            rt.store.record_narration(job_id, section, name)
            return name
        out = scratch.output(name)
        if out.is_file():  # made by an attempt whose store failed: not paid again
            adopt_output(job_id, stage="narration", segment=None, part=section)
        else:
            paid_call(
                job_id,
                stage="narration",
                segment=None,
                part=section,
                provider=narrator.name,
                call=lambda: (None, narrator.narrate(text, job.language, out, job.narrator_voice)),
            )
        _record_timings(job_id, section, out, text, job.language)
        scratch.store(name)
    rt.store.record_narration(job_id, section, name)
    return name


def _record_timings(job_id: UUID, section: str, audio: Path, text: str,
                    language: str) -> None:
    """Word timings kept with the job: captions and replays never compute them again."""
    words = narration_timings(audio, text, language)
    runtime().store.record_word_timings(
        job_id, section, [(w.word, w.start, w.end) for w in words]
    )


@task(name="contact-sheet", task_run_name="contact-sheet-{kind}-r{round_}", **ONCE)
def contact_sheet(job_id: UUID, kind: str, round_: int) -> str | None:
    """A grid of the ten scenes (images, or a middle frame of each clip); None when no scene
    has media: a grid of ten failure marks would tell nothing the gate's text does not."""
    rt = runtime()
    name = key(rt.media.contact_sheet(job_id, kind, round_))
    if rt.files.exists(name):
        return name
    with rt.scratch() as scratch:
        frames: list[Path | None] = []
        for s in rt.store.segments(job_id):
            ready = s.image_status if kind == "images" else s.video_status
            stored = rt.existing(s.image_path if kind == "images" else s.video_path)
            if ready != "ready" or stored is None:
                frames.append(None)
            elif kind == "images":
                frames.append(scratch.fetch(stored))
            else:
                frames.append(extract_frame(scratch.fetch(stored), SCENE_SECONDS / 2,
                                            scratch.temp(f"frame-{s.index + 1:02d}.png")))
        if not any(frames):
            return None
        make_contact_sheet(frames, scratch.output(name))
        scratch.store(name)
    return name
