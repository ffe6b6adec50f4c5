"""Join ten clips, three narrations, music and captions into the final MP4 in one ffmpeg run."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from videobot.formats import (
    FPS,
    SCENE_COUNT,
    SCENE_SECONDS,
    SECTIONS,
    VIDEO_SECONDS,
    VideoFormat,
    frame_size,
)
from videobot.media.audio_mix import (
    AUDIO_KBPS,
    audio_output_args,
    plan_sound,
    sound_graph,
    voice_inputs,
)
from videobot.media.caption_files import caption_filter
from videobot.media.ffmpeg import FFmpegError, run_ffmpeg
from videobot.media.probe import MediaInfo, probe, probe_many, share_codec_params

# Speed-up aims a little short of the section end, so one section's last word never touches
# the next section's first.
_TAIL_SECONDS = 0.3
_DURATION_TOLERANCE = 0.1
_MIN_VIDEO_KBPS = 150
_FIT_ATTEMPTS = 3
# Measured on 2 cores (loaded), 50 s of offline 720p clips with captions and music:
# ultrafast 12.8 s / 5.7 MB, superfast 18.2 s / 4.7 MB, veryfast 20.8 s / 2.4 MB,
# faster 29.4 s / 2.9 MB. Far under the size cap either way, so speed decides.
REENCODE_PRESET = "ultrafast"


class AssemblyError(Exception):
    """The video cannot be assembled from these inputs; the message says why, for a person."""


@dataclass(frozen=True)
class AssemblyResult:
    path: Path
    duration: float
    size_bytes: int
    video_copied: bool  # clips joined without re-encoding
    tempos: tuple[float, float, float]  # speed-up of the intro, main and outro narration
    fitted_kbps: int | None = None  # video bitrate chosen to fit max_bytes, when it had to be
    notes: tuple[str, ...] = ()  # what was changed on the way, in words


def plan_tempos(durations: Sequence[float], max_tempo: float) -> tuple[float, float, float]:
    """Speed-up factor per section so each narration ends inside its section (1.0 = as is)."""
    if max_tempo < 1.0:
        raise ValueError(f"max_tempo must be at least 1.0, not {max_tempo}")
    tempos: list[float] = []
    problems: list[str] = []
    for section, duration in zip(SECTIONS, durations, strict=True):
        if duration <= section.seconds:
            tempos.append(1.0)
            continue
        if duration / section.seconds > max_tempo:
            problems.append(
                f"the {section.name} narration is {duration:.1f} s, the section is "
                f"{section.seconds:g} s; shorten the text"
            )
        wanted = duration / (section.seconds - _TAIL_SECONDS)
        tempos.append(round(min(wanted, max_tempo), 4))
    if problems:
        raise AssemblyError(". ".join(problems))
    return (tempos[0], tempos[1], tempos[2])


def assemble_video(
    clips: Sequence[Path],
    narrations: Sequence[Path],
    fmt: VideoFormat,
    out: Path,
    *,
    max_tempo: float = 1.35,
    max_bytes: int = 50 * 1024 * 1024,
    music: Path | None = None,
    captions: Path | None = None,
    loudness: float | None = -14.0,
    scale: float = 1.0,
) -> AssemblyResult:
    """The final H.264/AAC MP4: clips in order, each section's narration fitted to its section.

    `music` (any audio ffmpeg reads, e.g. from make_music_bed) is laid under the voice and
    ducked by it; `captions` (an .ass file) is burned into the picture, which then is
    re-encoded; `loudness` is the integrated LUFS the mix is normalised to (None: as is);
    `scale` the share of the format's size the picture is made at.
    """
    clips, narrations, out = [Path(c) for c in clips], [Path(n) for n in narrations], Path(out)
    clip_infos, voice_infos = _probe_inputs(clips, narrations)
    tempos = plan_tempos([info.duration for info in voice_infos], max_tempo)
    notes = [
        f"the {section.name} narration was sped up {tempo:.2f}x to fit its {section.seconds:g} s"
        for section, tempo in zip(SECTIONS, tempos, strict=True)
        if tempo > 1.0
    ]
    if music is not None and not Path(music).is_file():
        raise AssemblyError(f"the music bed is missing: {music}")
    if captions is not None and not Path(captions).is_file():
        raise AssemblyError(f"the captions file is missing: {captions}")
    rate = _sample_rate(voice_infos)
    try:
        sound = plan_sound(narrations, tempos, rate, music=music, target_lufs=loudness)
    except FFmpegError as exc:
        raise AssemblyError(str(exc)) from exc
    # Music changes only the sound, so clips that can be joined as they are still are.
    size = frame_size(fmt, scale)
    copy = captions is None and _can_copy(clip_infos, size)
    kbps: int | None = None
    # Copied clips keep their size, so an oversized result is known before any work is done.
    if copy and sum(i.size_bytes for i in clip_infos) + _audio_bytes() > max_bytes:
        copy, kbps = False, _fit_kbps(max_bytes)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".assembly-", dir=out.parent) as work:
        tmp = Path(work) / "video.mp4"

        def run(copy: bool, kbps: int | None) -> int:
            video_in, video_graph, video_out = _video_args(
                clips, size, Path(work), copy, kbps, captions, 0 if copy else _fit_kbps(max_bytes)
            )
            first_voice = 1 if copy else len(clips)
            audio_in = voice_inputs(narrations) + (["-i", str(music)] if music else [])
            audio_graph = sound_graph(
                first_voice, tempos, rate, plan=sound,
                music_input=first_voice + len(narrations) if music else None,
            )
            graph = ";".join(g for g in (video_graph, audio_graph) if g)
            try:
                run_ffmpeg(
                    [*video_in, *audio_in, "-filter_complex", graph, *video_out,
                     "-map", "[aout]", *audio_output_args(rate), "-t", f"{VIDEO_SECONDS:g}",
                     "-movflags", "+faststart", str(tmp)],
                    what="assembling the video",
                )
            except FFmpegError as exc:
                raise AssemblyError(str(exc)) from exc
            return tmp.stat().st_size

        copy, kbps = _fit_size(run, copy, kbps, max_bytes)
        if kbps is not None:
            notes.append(f"the video was re-encoded at {kbps} kb/s to stay under "
                         f"{max_bytes / 1024 / 1024:.1f} MB")
        info = probe(tmp)
        if abs(info.duration - VIDEO_SECONDS) > _DURATION_TOLERANCE:
            raise AssemblyError(
                f"the assembled video lasts {info.duration:.2f} s instead of {VIDEO_SECONDS:g} s"
            )
        os.replace(tmp, out)
    return AssemblyResult(
        path=out,
        duration=info.duration,
        size_bytes=info.size_bytes,
        video_copied=copy,
        tempos=tempos,
        fitted_kbps=kbps,
        notes=tuple(notes),
    )


def _fit_size(
    run: Callable[[bool, int | None], int], copy: bool, kbps: int | None, max_bytes: int
) -> tuple[bool, int | None]:
    """Run the assembly; while the file is over max_bytes, re-encode at a lower bitrate."""
    for _ in range(_FIT_ATTEMPTS):
        size = run(copy, kbps)
        if size <= max_bytes:
            return copy, kbps
        # Bitrate control is approximate: aim lower by the measured overshoot and try again.
        kbps = _fit_kbps(max_bytes) if kbps is None else int(kbps * max_bytes / size * 0.9)
        if kbps < _MIN_VIDEO_KBPS:
            break
        copy = False
    raise AssemblyError(_too_big(max_bytes))


def _probe_inputs(
    clips: list[Path], narrations: list[Path]
) -> tuple[list[MediaInfo], list[MediaInfo]]:
    """Check counts and files, then read every input's parameters."""
    if len(clips) != SCENE_COUNT:
        raise AssemblyError(f"assembly needs {SCENE_COUNT} clips, one per scene; got {len(clips)}")
    if len(narrations) != len(SECTIONS):
        names = ", ".join(s.name for s in SECTIONS)
        raise AssemblyError(
            f"assembly needs {len(SECTIONS)} narrations ({names}); got {len(narrations)}"
        )
    labels = [f"clip {i + 1}" for i in range(len(clips))]
    labels += [f"the {s.name} narration" for s in SECTIONS]
    for label, path in zip(labels, [*clips, *narrations], strict=True):
        if not path.is_file():
            raise AssemblyError(f"{label} is missing: {path}")

    try:
        infos = probe_many([*clips, *narrations])
    except FFmpegError:
        for label, path in zip(labels, [*clips, *narrations], strict=True):
            try:
                probe(path)
            except FFmpegError as exc:
                raise AssemblyError(f"{label} cannot be read: {exc}") from exc
        raise
    for label, info in zip(labels, infos, strict=True):
        if label.startswith("clip") and info.video_codec is None:
            raise AssemblyError(f"{label} has no video stream")
        if not label.startswith("clip") and info.audio_codec is None:
            raise AssemblyError(f"{label} has no audio")
    return infos[: len(clips)], infos[len(clips) :]


def _can_copy(infos: list[MediaInfo], size: tuple[int, int]) -> bool:
    """Clips can be joined as they are when they already are what the final video needs."""
    first = infos[0]
    return (
        share_codec_params(infos)
        and first.video_codec == "h264"
        and first.pix_fmt == "yuv420p"
        and (first.width, first.height) == size
        and first.fps is not None
        and abs(first.fps - FPS) < 0.01
        and all(abs(i.duration - SCENE_SECONDS) <= 0.5 / FPS for i in infos)
    )


def _video_args(
    clips: list[Path], size: tuple[int, int], work: Path, copy: bool, kbps: int | None,
    captions: Path | None, cap_kbps: int,
) -> tuple[list[str], str, list[str]]:
    """Inputs, filter graph and output options for the picture: stream copy, or re-encode."""
    if copy:
        listing = work / "clips.txt"
        # The concat list quotes paths; a quote inside a path is written as '\''.
        lines = ["file '" + str(c.resolve()).replace("'", "'\\''") + "'" for c in clips]
        listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return (["-f", "concat", "-safe", "0", "-i", str(listing)], "",
                ["-map", "0:v:0", "-c:v", "copy"])
    width, height = size
    args: list[str] = []
    for clip in clips:
        args += ["-t", f"{SCENE_SECONDS:g}", "-i", str(clip)]
    # Each clip: exact frame rate, cover-scaled to the format, held on its last frame if short,
    # cut to one scene's length.
    chains = [
        f"[{k}:v:0]fps={FPS},scale={width}:{height}:force_original_aspect_ratio=increase,"
        f"crop={width}:{height},setsar=1,format=yuv420p,"
        f"tpad=stop_mode=clone:stop_duration={SCENE_SECONDS:g},"
        f"trim=end_frame={round(SCENE_SECONDS * FPS)},setpts=PTS-STARTPTS[v{k}]"
        for k in range(len(clips))
    ]
    joined = "".join(f"[v{k}]" for k in range(len(clips)))
    burn = f",{caption_filter(captions)}" if captions is not None else ""
    chains.append(f"{joined}concat=n={len(clips)}:v=1:a=0{burn}[vout]")
    out = ["-map", "[vout]", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-r", str(FPS),
           "-g", str(2 * FPS)]
    # A size-capped encode needs veryfast's efficiency; a plain re-encode needs speed.
    if kbps is None:
        # Capped CRF: quality-driven, but busy clips cannot overshoot the size limit and cost
        # a second encode.
        cap = ["-maxrate", f"{cap_kbps}k", "-bufsize", f"{2 * cap_kbps}k"]
        return args, ";".join(chains), [*out, "-preset", REENCODE_PRESET, "-crf", "23", *cap]
    rate = ["-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{2 * kbps}k"]
    return args, ";".join(chains), [*out, "-preset", "veryfast", *rate]


def _sample_rate(infos: list[MediaInfo]) -> int:
    """24 kHz when every narration is at most that (TTS voices are), else 48 kHz.

    Encoding AAC at 24 kHz takes about half as long and loses nothing such a source has.
    """
    return 24_000 if all((i.sample_rate or 48_000) <= 24_000 for i in infos) else 48_000


def _audio_bytes() -> int:
    return int(AUDIO_KBPS * 1000 / 8 * VIDEO_SECONDS)


def _fit_kbps(max_bytes: int) -> int:
    """Video bitrate that leaves room for audio and container overhead under max_bytes."""
    kbps = int((max_bytes * 0.92 - _audio_bytes()) * 8 / VIDEO_SECONDS / 1000)
    if kbps < _MIN_VIDEO_KBPS:
        raise AssemblyError(_too_big(max_bytes))
    return kbps


def _too_big(max_bytes: int) -> str:
    return (
        f"a {VIDEO_SECONDS:g} s video cannot be made small enough for "
        f"{max_bytes / 1024 / 1024:.1f} MB at a watchable quality"
    )
