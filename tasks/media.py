"""Media steps, one provider call or one ffmpeg run each; recorded work is returned on replay."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import get_run_logger, task
from prefect.runtime import task_run

from tasks.limits import paid_call
from tasks.runtime import ONCE, RETRIES, runtime
from videobot.db.models import MediaStatus
from videobot.formats import SCENE_SECONDS, SECTIONS, VIDEO_SECONDS, VideoFormat
from videobot.media import (
    AssemblyError,
    assemble_video,
    make_contact_sheet,
    make_music_bed,
    plan_tempos,
    probe,
)
from videobot.media.finishing import (
    cuts_inside_words,
    narration_timings,
    timings_from_rows,
    write_captions,
)
from videobot.media.probe import extract_frame
from videobot.providers.base import ProviderError


def _scene_run_name() -> str:
    params = task_run.parameters
    return f"{task_run.task_name}-scene-{params['scene'] + 1:02d}-r{params['round_']}"


def _existing(path: str | None) -> Path | None:
    return Path(path) if path and Path(path).is_file() else None


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
def make_image(job_id: UUID, scene: int, round_: int, reference: str | None) -> str:
    """The picture for one scene, made once per round; a failure is recorded on the scene."""
    rt = runtime()
    job = rt.store.job(job_id)
    segment = rt.store.segments(job_id)[scene]
    recorded = _existing(segment.image_path)
    if recorded and segment.image_round >= round_:
        return str(recorded)
    out = rt.media.image(job_id, scene, round_)
    if out.is_file():  # made (atomically) before a crash, not yet recorded: do not pay again
        rt.store.record_image(job_id, scene, out, round_)
        return str(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    maker = rt.providers.images
    prompt = f"{segment.image_prompt}\nStyle: {job.style}" if job.style else segment.image_prompt
    ref = _existing(reference)
    rt.store.update_segment(job_id, scene, image_attempts=segment.image_attempts + 1)
    with _failure_recorded(job_id, scene, "image"):
        paid_call(
            job_id,
            stage="images",
            segment=scene,
            provider=maker.name,
            call=lambda: (
                None,
                maker.make_image(
                    prompt, segment.text, scene, VideoFormat(job.format), out, reference=ref
                ),
            ),
        )
    rt.store.record_image(job_id, scene, out, round_)
    return str(out)


@task(name="clip", task_run_name=_scene_run_name, **RETRIES)
def make_clip(job_id: UUID, scene: int, round_: int) -> str:
    """The 5-second clip for one scene, animated once per round."""
    rt = runtime()
    job = rt.store.job(job_id)
    segment = rt.store.segments(job_id)[scene]
    recorded = _existing(segment.video_path)
    if recorded and segment.video_round >= round_:
        return str(recorded)
    image = _existing(segment.image_path)
    if image is None:
        raise RuntimeError(f"scene {scene + 1} has no image to animate")
    out = rt.media.clip(job_id, scene, round_)
    if out.is_file():  # made (atomically) before a crash, not yet recorded: do not pay again
        rt.store.record_clip(job_id, scene, out, round_, probe(out).duration)
        return str(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    animator = rt.providers.animator
    rt.store.update_segment(job_id, scene, video_attempts=segment.video_attempts + 1)
    with _failure_recorded(job_id, scene, "video"):
        paid_call(
            job_id,
            stage="clips",
            segment=scene,
            provider=animator.name,
            call=lambda: (
                None,
                animator.animate(
                    image, segment.motion_prompt or "", SCENE_SECONDS, VideoFormat(job.format), out
                ),
            ),
        )
    rt.store.record_clip(job_id, scene, out, round_, probe(out).duration)
    return str(out)


@task(name="narration", task_run_name="narration-{section}", **RETRIES)
def narrate(job_id: UUID, section: str) -> str:
    """The spoken audio of one script part, made once."""
    rt = runtime()
    job = rt.store.job(job_id)
    recorded = _existing(getattr(job, f"{section}_audio_path"))
    script = rt.store.script_of(job)
    if recorded:
        if script is not None and section not in (job.word_timings or {}):
            _record_timings(job_id, section, recorded, script.part(section),  # no call: free
                            job.language)
        return str(recorded)
    if script is None:
        raise RuntimeError("there is no approved script to narrate")
    out = rt.media.narration(job_id, section)
    out.parent.mkdir(parents=True, exist_ok=True)
    narrator = rt.providers.narrator
    text = script.part(section)
    paid_call(
        job_id,
        stage="narration",
        segment=None,
        provider=narrator.name,
        call=lambda: (None, narrator.narrate(text, job.language, out, job.narrator_voice)),
    )
    rt.store.record_narration(job_id, section, out)
    _record_timings(job_id, section, out, text, job.language)
    return str(out)


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
    out = rt.media.contact_sheet(job_id, kind, round_)
    if out.is_file():
        return str(out)
    segments = rt.store.segments(job_id)
    frames: list[Path | None] = []
    for s in segments:
        if kind == "images":
            frames.append(_existing(s.image_path) if s.image_status == "ready" else None)
            continue
        clip = _existing(s.video_path) if s.video_status == "ready" else None
        frame = out.parent / "frames" / f"scene-{s.index + 1:02d}-r{s.video_round}.png"
        if clip and not frame.is_file():
            frame.parent.mkdir(parents=True, exist_ok=True)
            extract_frame(clip, SCENE_SECONDS / 2, frame)
        frames.append(frame if clip else None)
    if not any(frames):
        return None
    return str(make_contact_sheet(frames, out))


def _not_assembly_errors(task: Any, task_run: Any, state: Any) -> bool:
    """An AssemblyError (narration too long, say) will not go away on a retry."""
    return not isinstance(state.data, AssemblyError)


@task(name="assembly", retries=1, retry_delay_seconds=2, retry_condition_fn=_not_assembly_errors,
      **ONCE)
def assemble(job_id: UUID) -> str:
    """The final MP4 from the approved clips and the three narrations, built once."""
    rt = runtime()
    job = rt.store.job(job_id)
    recorded = _existing(job.final_path)
    if recorded:
        return str(recorded)
    segments = rt.store.segments(job_id)
    clips = [Path(s.video_path or "") for s in segments]
    narrations = [Path(getattr(job, f"{s.name}_audio_path") or "") for s in SECTIONS]
    out = rt.media.final(job_id)
    fmt, settings = VideoFormat(job.format), rt.settings
    tempos = plan_tempos([probe(n).duration for n in narrations], settings.narration_max_tempo)
    rows = job.word_timings or {}
    words = [timings_from_rows(rows.get(s.name, [])) for s in SECTIONS]
    get_run_logger().info(
        "%d of 9 scene changes fall inside a spoken word", cuts_inside_words(words, tempos)
    )
    captions = None
    if job.captions if job.captions is not None else settings.captions:
        captions = write_captions(words, tempos, fmt, out.parent, size=settings.caption_size,
                                  position=settings.caption_position)
    music = None
    if settings.music:
        music = make_music_bed(
            job.music_mood, VIDEO_SECONDS, out.parent / "music.wav", seed=job_id.int % 2**32,
            music_dir=settings.music_dir,
        ).path
    result = assemble_video(
        clips, narrations, fmt, out, max_tempo=settings.narration_max_tempo, music=music,
        captions=captions.ass if captions else None,
    )
    rt.store.update_job(
        job_id, final_path=str(result.path), captions_path=str(captions.srt) if captions else None
    )
    return str(result.path)
