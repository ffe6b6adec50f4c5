"""Text shown to people: built here, in pure functions, so every channel says the same thing."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from videobot.db.models import ProviderCall, VideoJob, VideoSegment
from videobot.script import Script

RULE = "─" * 60


def script_text(
    script: Script, attempt: int, heard: str | None = None, spoken_in: str | None = None
) -> str:
    """The script to approve; for a voice prompt, what was heard comes first; with `spoken_in`
    (the narration's language), a warning for each part that would leave its section silent."""
    silent = script.silent_parts(spoken_in) if spoken_in else []
    return "\n".join(
        [
            *([f"You said: “{heard}”"] if heard else []),
            RULE,
            f"Script (version {attempt}): {script.title}",
            RULE,
            f"INTRO (0-15 s)\n{script.intro}\n",
            f"MAIN (15-35 s)\n{script.main}\n",
            f"OUTRO (35-50 s)\n{script.outro}",
            *([f"\nSTYLE (every picture)\n{style_lines(script)}"] if script.style else []),
            RULE,
            *(f"Warning: the {part} is short; about {seconds:.0f} s of its section would be "
              "silent. Edit it to add words, or approve it as it is." for part, seconds in silent),
        ]
    )


def style_lines(script: Script) -> str:
    """The style sheet as `e style` takes it back: one `Label: value` a line."""
    assert script.style is not None
    return "\n".join(script.style.lines(
        {"medium": "Medium", "palette": "Palette", "lighting": "Lighting"}
    ))


def media_text(
    kind: str,
    segments: Sequence[VideoSegment],
    sheet: str | None,
    attempt: int,
    note: str | None = None,
    locate: Callable[[str], str] = str,
) -> str:
    """The list of scene files to review at the images or clips gate, failures first-class;
    `locate` turns a stored medium's key into where a person finds it."""
    lines = [RULE, f"{kind.capitalize()} (round {attempt}):"]
    for seg in segments:
        path = seg.image_path if kind == "images" else seg.video_path
        prompt = seg.image_prompt if kind == "images" else seg.motion_prompt
        if _ready(seg, kind):
            lines.append(f"  scene {seg.index + 1:2d}: {locate(path or '')}")
        else:
            lines.append(f"  scene {seg.index + 1:2d}: FAILED: {seg.error or 'not made'}")
            lines.append("            (edit its prompt or redo it)")
        lines.append(f"            {prompt}")
    if sheet:
        lines.append(f"  contact sheet: {sheet}")
    failed = [seg.index + 1 for seg in segments if not _ready(seg, kind)]
    if failed:
        lines.append(f"  {_ways_forward(kind, failed, len(segments))}")
    if note:
        lines.append(f"  {note}")
    lines.append(RULE)
    return "\n".join(lines)


def _ready(seg: VideoSegment, kind: str) -> bool:
    return (seg.image_status if kind == "images" else seg.video_status) == "ready"


def _ways_forward(kind: str, failed: list[int], total: int) -> str:
    """What the person can do at a gate where some scenes have no media."""
    noun, field = ("image", "prompt") if kind == "images" else ("clip", "motion")
    if len(failed) == total:
        which = f"No scene has {'an' if kind == 'images' else 'a'} {noun}"
    else:
        which = f"{scene_span(failed).capitalize()} {'has' if len(failed) == 1 else 'have'}"
        which += f" no {noun}"
    return (
        f"{which}: redo (r {_runs(failed)}), edit a scene's {field} (e {failed[0]} <new {field}>) "
        "or cancel (c); approving waits until every scene has one."
    )


def scene_span(numbers: Sequence[int]) -> str:
    """1-based scene numbers as a person reads them: "scene 3", "scenes 1–4, 7"."""
    count = len(set(numbers))
    return f"scene{'s' if count > 1 else ''} {_runs(numbers, '–', ', ')}"


def _runs(numbers: Sequence[int], dash: str = "-", comma: str = ",") -> str:
    """Consecutive numbers joined into ranges: "1-4,7" (what a redo at the prompt takes)."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return comma.join(str(r[0]) if len(r) == 1 else f"{r[0]}{dash}{r[-1]}" for r in runs)


def stage_failure_text(kind: str, segments: Sequence[VideoSegment], limit: int = 300) -> str:
    """One line for an images or clips stage that cannot be approved: the scenes that failed
    and the providers' reasons, each distinct reason once with the scenes it stopped."""
    failed = [seg for seg in segments if not _ready(seg, kind)]
    by_reason: dict[str, list[int]] = {}
    for seg in failed:
        reason = " ".join((seg.error or "not made").split())
        reason = reason if len(reason) <= limit else reason[: limit - 1] + "…"
        by_reason.setdefault(reason, []).append(seg.index + 1)
    total = len(segments)
    if len(by_reason) == 1:
        ((reason, numbers),) = by_reason.items()
        scope = f"all {total} scenes" if len(failed) == total else scene_span(numbers)
        return f"the {kind} stage failed for {scope}: {reason}"
    scope = f"all {total} scenes" if len(failed) == total else f"{len(failed)} of {total} scenes"
    detail = "; ".join(f"{scene_span(numbers)}: {r}" for r, numbers in by_reason.items())
    return f"the {kind} stage failed for {scope}: {detail}"


GATE_HELP = {
    "script": "[a]pprove · [r]egenerate with feedback · [e]dit a part (intro, main, outro, "
              "style) · [c]ancel",
    "images": "[a]pprove all · [r]edo scenes (e.g. r 3,5) · [e]dit a scene's prompt · [c]ancel",
    "clips": "[a]pprove all · [r]edo scenes (e.g. r 3,5) · [e]dit a scene's motion · [c]ancel",
}
# At an images or clips gate where some scene has no media yet, approving is refused.
GATE_HELP_UNREADY = {
    "images": "[r]edo scenes (e.g. r 1-10) · [e]dit a scene's prompt · [c]ancel",
    "clips": "[r]edo scenes (e.g. r 1-10) · [e]dit a scene's motion · [c]ancel",
}


def status_text(
    job: VideoJob,
    segments: Sequence[VideoSegment],
    calls: Sequence[ProviderCall],
    queue_position: int | None = None,
    locate: Callable[[str], str] = str,
) -> str:
    """What `videobot status` prints: stage, per-scene state and cost so far; `locate` says
    where a person finds a stored medium (a path or a URL)."""
    queued = f" · position {queue_position} in the queue" if queue_position else ""
    lines = [
        f"job      {job.id}",
        f"prompt   {job.prompt[:100]}",
        f"status   {job.status}{queued} · stage {job.stage}",
        f"format   {job.format} · language {job.language}"
        + (f" · clips {job.motion_model}" if job.motion_model else "")
        + (" · drawn after your photo" if job.reference_path else ""),
        f"run      {job.flow_run_name or '-'}",
        f"cost     ${job.cost_usd:.4f} over {len(calls)} provider calls",
    ]
    if job.error:
        lines.append(f"error    {job.error}")
    if job.final_path:
        lines.append(f"video    {locate(job.final_path)}")
    if segments:
        lines.append("scene  section  image            clip")
        for seg in segments:
            image = f"{seg.image_status} r{seg.image_round}" if seg.image_round else "-"
            clip = f"{seg.video_status} r{seg.video_round}" if seg.video_round else "-"
            section = ("intro", "main", "outro")[seg.section]
            lines.append(f"{seg.index + 1:5d}  {section:7s}  {image:15s}  {clip}")
    return "\n".join(lines)



def expiry_text(hours: float) -> str:
    """What the person reads when their video expired at a gate."""
    return (
        f"No decision arrived within {hours:g} hours, so this video has expired. "
        "Send your idea again to start a new one."
    )


RESUMED_AFTER_FAULT = (
    "The work stopped on a fault and carries on where it was; nothing already made is paid "
    "for again."
)
