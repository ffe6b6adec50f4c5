"""The final step: the MP4 from the approved clips and the three narrations, with captions
and music, built once; a rerun's new video goes beside the delivered one until it exists."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect import get_run_logger, task

from tasks.runtime import ONCE, runtime
from videobot.formats import SECTIONS, VIDEO_SECONDS, VideoFormat
from videobot.media import AssemblyError, assemble_video, make_music_bed, plan_tempos, probe
from videobot.media.finishing import cuts_inside_words, timings_from_rows, write_captions
from videobot.media.paths import key


def _not_assembly_errors(task: Any, task_run: Any, state: Any) -> bool:
    """An AssemblyError (narration too long, say) will not go away on a retry."""
    return not isinstance(state.data, AssemblyError)


@task(name="assembly", retries=1, retry_delay_seconds=2, retry_condition_fn=_not_assembly_errors,
      **ONCE)
def assemble(job_id: UUID) -> str:
    """The final MP4 from the approved clips and the three narrations, built once."""
    rt = runtime()
    job = rt.store.job(job_id)
    recorded = rt.existing(job.final_path)
    if recorded:
        return recorded
    segments = rt.store.segments(job_id)
    name = _new_final(key(rt.media.final(job_id)), job.replaced_final_path)
    fmt, settings = VideoFormat(job.format), rt.settings
    rows = job.word_timings or {}
    words = [timings_from_rows(rows.get(s.name, [])) for s in SECTIONS]
    missing = [f"scene {s.index + 1}" for s in segments if not s.video_path]
    missing += [s.name for s in SECTIONS if not getattr(job, f"{s.name}_audio_path")]
    if missing:
        raise RuntimeError(f"nothing to assemble for {', '.join(missing)}")
    with rt.scratch() as scratch:
        clips = [scratch.fetch(s.video_path or "") for s in segments]
        narrations = [scratch.fetch(getattr(job, f"{s.name}_audio_path") or "") for s in SECTIONS]
        tempos = plan_tempos([probe(n).duration for n in narrations],
                             settings.narration_max_tempo)
        get_run_logger().info(
            "%d of 9 scene changes fall inside a spoken word", cuts_inside_words(words, tempos)
        )
        captions = None
        if job.captions if job.captions is not None else settings.captions:
            captions = write_captions(words, tempos, fmt, scratch.temp("captions"),
                                      size=settings.caption_size,
                                      position=settings.caption_position)
        music = None
        if settings.music:
            music = make_music_bed(
                job.music_mood, VIDEO_SECONDS, scratch.temp("music.wav"),
                seed=job_id.int % 2**32, music_dir=settings.music_dir,
            ).path
        assemble_video(
            clips, narrations, fmt, scratch.output(name),
            max_tempo=settings.narration_max_tempo, music=music, scale=settings.video_scale,
            captions=captions.ass if captions else None,
        )
        srt = None
        if captions:
            srt = key(rt.media.captions(job_id))
            scratch.output(srt).write_bytes(captions.srt.read_bytes())
            scratch.store(srt)
        scratch.store(name)
    rt.store.update_job(job_id, final_path=name, captions_path=srt, replaced_final_path=None)
    replaced = job.replaced_final_path
    if replaced and replaced != name:  # the rerun's video exists: the old one may go
        rt.files.delete(replaced)
    return name


def _new_final(name: str, replaced: str | None) -> str:
    """Where the final video goes: its usual key, or beside it while a rerun's delivered
    video is still there (kept until this one is assembled)."""
    files = runtime().files
    if not replaced and not files.exists(name):
        return name
    stem, dot, suffix = name.rpartition(".")
    number = 2
    while files.exists(candidate := f"{stem}-{number}{dot}{suffix}"):
        number += 1
    return candidate
