"""Text shown to people: built here, in pure functions, so every channel says the same thing."""

from __future__ import annotations

from collections.abc import Sequence

from videobot.db.models import ProviderCall, VideoJob, VideoSegment
from videobot.script import Script

RULE = "─" * 60


def script_text(script: Script, attempt: int, heard: str | None = None) -> str:
    """The script to approve; for a voice prompt, what was heard comes first."""
    return "\n".join(
        [
            *([f"You said: “{heard}”"] if heard else []),
            RULE,
            f"Script (version {attempt}): {script.title}",
            RULE,
            f"INTRO (0-15 s)\n{script.intro}\n",
            f"MAIN (15-35 s)\n{script.main}\n",
            f"OUTRO (35-50 s)\n{script.outro}",
            RULE,
        ]
    )


def media_text(
    kind: str,
    segments: Sequence[VideoSegment],
    sheet: str | None,
    attempt: int,
    note: str | None = None,
) -> str:
    """The list of scene files to review at the images or clips gate, failures first-class."""
    lines = [RULE, f"{kind.capitalize()} (round {attempt}):"]
    for seg in segments:
        ready = (seg.image_status if kind == "images" else seg.video_status) == "ready"
        path = seg.image_path if kind == "images" else seg.video_path
        prompt = seg.image_prompt if kind == "images" else seg.motion_prompt
        if ready:
            lines.append(f"  scene {seg.index + 1:2d}: {path}")
        else:
            lines.append(f"  scene {seg.index + 1:2d}: FAILED: {seg.error or 'not made'}")
            lines.append("            (edit its prompt or redo it)")
        lines.append(f"            {prompt}")
    if sheet:
        lines.append(f"  contact sheet: {sheet}")
    if note:
        lines.append(f"  {note}")
    lines.append(RULE)
    return "\n".join(lines)


GATE_HELP = {
    "script": "[a]pprove · [r]egenerate with feedback · [e]dit a part · [c]ancel",
    "images": "[a]pprove all · [r]edo scenes (e.g. r 3,5) · [e]dit a scene's prompt · [c]ancel",
    "clips": "[a]pprove all · [r]edo scenes (e.g. r 3,5) · [e]dit a scene's motion · [c]ancel",
}


def status_text(
    job: VideoJob,
    segments: Sequence[VideoSegment],
    calls: Sequence[ProviderCall],
    queue_position: int | None = None,
) -> str:
    """What `videobot status` prints: stage, per-scene state and cost so far."""
    queued = f" · position {queue_position} in the queue" if queue_position else ""
    lines = [
        f"job      {job.id}",
        f"prompt   {job.prompt[:100]}",
        f"status   {job.status}{queued} · stage {job.stage}",
        f"format   {job.format} · language {job.language}",
        f"run      {job.flow_run_name or '-'}",
        f"cost     ${job.cost_usd:.4f} over {len(calls)} provider calls",
    ]
    if job.error:
        lines.append(f"error    {job.error}")
    if job.final_path:
        lines.append(f"video    {job.final_path}")
    if segments:
        lines.append("scene  section  image            clip")
        for seg in segments:
            image = f"{seg.image_status} r{seg.image_round}" if seg.image_round else "-"
            clip = f"{seg.video_status} r{seg.video_round}" if seg.video_round else "-"
            section = ("intro", "main", "outro")[seg.section]
            lines.append(f"{seg.index + 1:5d}  {section:7s}  {image:15s}  {clip}")
    return "\n".join(lines)
