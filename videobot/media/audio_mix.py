"""The sound of the final video: narrations in their sections, a ducked music bed, loudness.

Loudness is measured with ebur128 in audio-only runs (about 0.2 s each for 50 s): the mix as it
is, then the mix with the planned gain through compressor and true-peak limiter, whose loss the
next gain makes up; the main run then applies the same chain. loudnorm was measured and not
kept: speech peaks ~20 dB over its loudness, so its linear mode cannot reach -14 LUFS under
-1 dBTP and falls back to dynamic mode, which landed at -15.8 LUFS on espeak-ng speech; and its
192 kHz internal rate costs about a second per pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from videobot.formats import SECTIONS, VIDEO_SECONDS
from videobot.media.ffmpeg import FFmpegError, ffmpeg_exe, stderr_tail
from videobot.stopping import run_stoppable

AUDIO_KBPS = 96  # mono speech
# Before ducking the bed sits this far under the voice; the voice then pushes it further down.
BED_UNDER_VOICE_LU = 12.0
FADE_IN_SECONDS, FADE_OUT_SECONDS = 1.5, 2.5
# Ducking: the voice's level above about -30 dBFS presses the bed down at 8:1.
_DUCK = "sidechaincompress=threshold=0.03:ratio=8:attack=15:release=600:knee=4"
# Evens out the voice (taken to the target loudness first): TTS peaks stand ~20 dB over its
# loudness, and -14 LUFS under -1 dBTP leaves room for 13.
_COMPRESSOR = "acompressor=threshold=0.05:ratio=4:attack=2:release=150:knee=6:makeup=6"
# Limiting at 4x the rate catches the peaks between samples too (true peak): -2.5 dBFS there
# measured -2.3 dBTP, which leaves the AAC encoder its overshoot under the platforms' -1 dBTP.
_LIMITER = "aresample=96000,alimiter=limit=0.75:attack=5:release=200:level=false"
_LEVEL_PASSES, _LEVEL_TOLERANCE_LU = 5, 0.3
_SILENT_LUFS = -70.0  # what ebur128 reports for silence


@dataclass(frozen=True)
class SoundPlan:
    """What the main run does to the sound, decided from the measurements."""

    voice_gain_db: float = 0.0
    music_gain_db: float = 0.0
    normalise: bool = False  # compress, apply mix_gain_db and limit the peaks
    mix_gain_db: float = 0.0


def voice_inputs(narrations: Sequence[Path]) -> list[str]:
    args: list[str] = []
    for path in narrations:
        args += ["-i", str(path)]
    return args


def sound_graph(
    first_input: int,
    tempos: Sequence[float],
    rate: int,
    *,
    music_input: int | None,
    plan: SoundPlan,
    out_label: str = "aout",
) -> str:
    """Filter graph from the narration (and music) inputs to one mono stream [out_label]."""
    chains = []
    for i, (section, tempo) in enumerate(zip(SECTIONS, tempos, strict=True)):
        speed = f",atempo={tempo:.4f}" if tempo > 1.0 else ""
        chains.append(
            f"[{first_input + i}:a:0]asetpts=PTS-STARTPTS,aresample={rate},"
            f"aformat=sample_fmts=fltp:channel_layouts=mono{speed},"
            f"apad=whole_dur={section.seconds:g},atrim=duration={section.seconds:g},"
            f"asetpts=PTS-STARTPTS[a{i}]"
        )
    labels = "".join(f"[a{i}]" for i in range(len(tempos)))
    gain = f",volume={plan.voice_gain_db:.2f}dB" if plan.voice_gain_db else ""
    gain += f",{_COMPRESSOR}" if plan.normalise else ""
    voice = "voice" if music_input is not None else "mix"
    chains.append(f"{labels}concat=n={len(tempos)}:v=0:a=1{gain}[{voice}]")
    if music_input is not None:
        fade_out = VIDEO_SECONDS - FADE_OUT_SECONDS
        chains += [
            "[voice]asplit=2[speech][key]",
            f"[{music_input}:a:0]aresample={rate},aformat=sample_fmts=fltp:channel_layouts=mono,"
            f"apad=whole_dur={VIDEO_SECONDS:g},atrim=duration={VIDEO_SECONDS:g},"
            f"volume={plan.music_gain_db:.2f}dB,afade=t=in:d={FADE_IN_SECONDS:g},"
            f"afade=t=out:st={fade_out:g}:d={FADE_OUT_SECONDS:g}[bed]",
            f"[bed][key]{_DUCK}[ducked]",
            "[speech][ducked]amix=inputs=2:normalize=0:duration=first[mix]",
        ]
    if not plan.normalise:
        chains.append(f"[mix]anull[{out_label}]")
    else:
        chains.append(f"[mix]volume={plan.mix_gain_db:.2f}dB,{_LIMITER},aresample={rate}"
                      f"[{out_label}]")
    return ";".join(chains)


def audio_output_args(rate: int) -> list[str]:
    # The fast AAC coder takes ~0.5 s instead of ~0.9 s for 50 s; speech does not need more.
    return ["-c:a", "aac", "-aac_coder", "fast", "-b:a", f"{AUDIO_KBPS}k", "-ar", str(rate),
            "-ac", "1"]


def plan_sound(
    narrations: Sequence[Path],
    tempos: Sequence[float],
    rate: int,
    *,
    music: Path | None,
    target_lufs: float | None,
) -> SoundPlan:
    """Measure what needs measuring (audio only, under a second) and decide the gains."""
    inputs = voice_inputs(narrations)
    music_input = None
    voice_gain = music_gain = 0.0
    if music is not None or target_lufs is not None:
        voice = sound_graph(0, tempos, rate, music_input=None, plan=SoundPlan(), out_label="m")
        voice_lufs = _integrated(inputs, voice)
        voice_gain = 0.0 if target_lufs is None else _gain(target_lufs, voice_lufs)
    if music is not None:
        bed = f"[0:a:0]atrim=duration={VIDEO_SECONDS:g}[m]"
        bed_lufs = _integrated(["-i", str(music)], bed)
        reference = voice_lufs if target_lufs is None else target_lufs
        music_gain = _gain(reference - BED_UNDER_VOICE_LU, bed_lufs)
        inputs += ["-i", str(music)]
        music_input = len(narrations)
    if target_lufs is None:
        return SoundPlan(voice_gain, music_gain)
    plan = SoundPlan(voice_gain, music_gain, normalise=True)
    # The first pass measures the mix; the next ones make up what the limiter took. The limiter
    # gives back only part of each added dB (a third, on espeak's peaky speech), so after the
    # first step the gain moves by the secant through the last two measurements.
    previous: tuple[float, float] | None = None
    for _ in range(_LEVEL_PASSES):
        graph = sound_graph(0, tempos, rate, music_input=music_input, plan=plan, out_label="m")
        measured = _integrated(inputs, graph)
        correction = _gain(target_lufs, measured)
        if abs(correction) < _LEVEL_TOLERANCE_LU:
            break
        slope = 1.0
        if previous is not None and plan.mix_gain_db != previous[0]:
            slope = (measured - previous[1]) / (plan.mix_gain_db - previous[0])
            slope = min(1.0, max(0.2, slope))
        previous = (plan.mix_gain_db, measured)
        step = max(-12.0, min(12.0, correction / slope))
        plan = SoundPlan(voice_gain, music_gain, True, round(plan.mix_gain_db + step, 2))
    return plan


def _gain(target: float, measured: float) -> float:
    """Gain in dB from `measured` to `target`; none for silence, bounded for near-silence."""
    if measured <= _SILENT_LUFS:
        return 0.0
    return max(-30.0, min(30.0, target - measured))


def _integrated(inputs: list[str], graph: str) -> float:
    """Integrated loudness (LUFS) of the graph's [m] output, from an audio-only run."""
    stderr = _run_for_log([*inputs, "-filter_complex", f"{graph};[m]ebur128[out]",
                           "-map", "[out]", "-f", "null", "-"])
    return parse_ebur128(stderr)["I"]


def _run_for_log(args: list[str]) -> str:
    """Run ffmpeg for what its filters log (at info level) and return its stderr."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostats", "-nostdin", "-y", *args]
    proc = run_stoppable(cmd)
    if proc.returncode != 0:
        raise FFmpegError(f"measuring the loudness failed: {stderr_tail(proc.stderr)}")
    return proc.stderr


def _number(value: str) -> float:
    return _SILENT_LUFS if value.strip() in {"-inf", "inf", "nan"} else float(value)


_SUMMARY_FIELD = re.compile(r"^\s*(I|LRA|Peak|Threshold):\s+(-?[\d.]+|-inf)\s", re.MULTILINE)


def parse_ebur128(stderr: str) -> dict[str, float]:
    """I (LUFS), LRA (LU) and true Peak (dBTP, with peak=true) from ebur128's summary."""
    summary = stderr[stderr.rfind("Summary:") :]
    if "Summary:" not in stderr:
        raise FFmpegError("measuring the loudness failed: ebur128 printed no summary")
    fields: dict[str, float] = {}
    for name, value in _SUMMARY_FIELD.findall(summary):
        fields.setdefault(name, _number(value))  # the first Threshold is the integrated one
    return fields


def measure_loudness(media: Path) -> dict[str, float]:
    """EBU R128 loudness of a file's audio: I (LUFS), LRA (LU), Peak (true peak, dBTP)."""
    stderr = _run_for_log(["-i", str(media), "-vn", "-filter_complex", "ebur128=peak=true",
                           "-f", "null", "-"])
    return parse_ebur128(stderr)
