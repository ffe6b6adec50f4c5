"""Artifacts that make the Prefect UI a window on a job, enough to judge a gate there: the
script and its style sheet, each media round's contact sheet (a picture in the page, not a
server path) with the estimate of what approving starts, the scenes, and the video.

Each artifact's key and description name the stage and the round, so the rounds of a gate
(and of a rerun, whose rounds carry on the numbers) stay apart.
"""

from __future__ import annotations

import base64
import io
import os
from collections import defaultdict
from pathlib import Path
from uuid import UUID

from PIL import Image
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)

from tasks.runtime import runtime
from videobot.formats import SECTION_NAMES
from videobot.naming import short_id
from videobot.script import Script

# The contact sheet as the page shows it: wide enough to judge ten frames, small enough to
# travel inside the artifact (about 100 kB as JPEG).
SHEET_WIDTH = 1280
STYLE_LABELS = {"medium": "Medium", "palette": "Palette", "lighting": "Lighting"}


def publish_script(job_id: UUID, script: Script, attempt: int) -> None:
    parts = "\n\n".join(f"**{name.upper()}**\n\n{script.part(name)}" for name in SECTION_NAMES)
    style = ""
    if script.style is not None:
        rows = "\n".join(f"- {line}" for line in script.style.lines(STYLE_LABELS))
        style = f"\n\n**STYLE** (edit with part `style`)\n\n{rows}"
    create_markdown_artifact(
        key=f"script-r{attempt}-{short_id(job_id)}",
        markdown=f"# {script.title}\n\n_version {attempt}_\n\n{parts}{style}",
        description=f"Script gate, round {attempt}: the script and its style sheet",
    )


def sheet_data_uri(sheet: Path, width: int = SHEET_WIDTH) -> str:
    """The contact sheet as a JPEG data URI, scaled to `width` at most."""
    with Image.open(sheet) as opened:
        image = opened.convert("RGB")
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def publish_gate(job_id: UUID, kind: str, attempt: int, sheet: str | None,
                 note: str | None) -> None:
    """What to judge at an images or clips gate: the contact sheet in the page, the round's
    scenes and the estimate of what approving starts; then the scenes table."""
    short = short_id(job_id)
    segments = runtime().store.segments(job_id)
    status = "image_status" if kind == "images" else "video_status"
    failed = [s.index + 1 for s in segments if getattr(s, status) != "ready"]
    lines = [f"# {kind.capitalize()} gate, round {attempt}"]
    rt = runtime()
    if sheet and rt.files.exists(sheet):
        with rt.scratch() as scratch:
            picture = sheet_data_uri(scratch.fetch(sheet))
        lines.append(f"![Contact sheet of the ten scenes, round {attempt}]({picture})")
    else:
        lines.append("_No scene has media to show._")
    if failed:
        edited = "prompt" if kind == "images" else "motion"
        lines.append(f"**Scenes without media:** {', '.join(map(str, failed))} "
                     f"(redo them or edit their {edited}).")
    if note:
        lines.append(f"**Estimate:** {note}")
    create_markdown_artifact(
        key=f"{kind}-r{attempt}-{short}",
        markdown="\n\n".join(lines),
        description=f"{kind.capitalize()} gate, round {attempt}: contact sheet and estimate",
    )
    publish_scenes(job_id, kind, attempt)


def publish_scenes(job_id: UUID, kind: str, attempt: int) -> None:
    """The ten scenes at a gate round: state, error and cost first, then the prompts."""
    store = runtime().store
    cost: dict[int, float] = defaultdict(float)
    for call in store.calls(job_id):
        if call.segment is not None:
            cost[call.segment] += call.cost_usd
    rows = []
    for s in store.segments(job_id):
        status, made = ((s.image_status, s.image_round) if kind == "images"
                        else (s.video_status, s.video_round))
        rows.append({
            "scene": s.index + 1,
            "state": f"{status} (round {made})" if made else status,
            "error": s.error or "",
            "cost usd": round(cost[s.index], 4),
            "section": SECTION_NAMES[s.section],
            "image": f"{s.image_status} r{s.image_round}",
            "clip": f"{s.video_status} r{s.video_round}",
            "image prompt": s.image_prompt,
            "motion prompt": s.motion_prompt or "",
        })
    create_table_artifact(
        key=f"{kind}-r{attempt}-scenes-{short_id(job_id)}", table=rows,
        description=f"{kind.capitalize()} gate, round {attempt}: scenes, state, error and cost",
    )


def publish_video(job_id: UUID, path: Path) -> None:
    """A link to the final video: a file URI, or the bucket's s3:// URL."""
    rt = runtime()
    job = rt.store.job(job_id)
    where = rt.files.locate(str(path))
    create_link_artifact(
        key=f"video-{short_id(job_id)}",
        link=Path(where).as_uri() if os.path.isabs(where) else where,
        link_text=f"{job.title or 'video'} (${job.cost_usd:.2f})",
        description="The final video",
    )
