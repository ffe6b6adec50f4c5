"""Artifacts that make the Prefect UI a window on a job: script, scenes, sheets, the video."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from uuid import UUID

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)

from tasks.runtime import runtime
from videobot.formats import SECTION_NAMES
from videobot.naming import short_id
from videobot.script import Script


def publish_script(job_id: UUID, script: Script, attempt: int) -> None:
    parts = "\n\n".join(f"**{name.upper()}**\n\n{script.part(name)}" for name in SECTION_NAMES)
    create_markdown_artifact(
        key=f"script-{short_id(job_id)}",
        markdown=f"# {script.title}\n\n_version {attempt}_\n\n{parts}",
        description="The script shown at the script gate",
    )


def publish_scenes(job_id: UUID, sheet: str | None = None) -> None:
    """A table of the ten scenes: prompts, state and what each scene cost so far."""
    store = runtime().store
    cost: dict[int, float] = defaultdict(float)
    for call in store.calls(job_id):
        if call.segment is not None:
            cost[call.segment] += call.cost_usd
    rows = [
        {
            "scene": s.index + 1,
            "section": SECTION_NAMES[s.section],
            "image prompt": s.image_prompt,
            "motion prompt": s.motion_prompt or "",
            "image": f"{s.image_status} r{s.image_round}",
            "clip": f"{s.video_status} r{s.video_round}",
            "error": s.error or "",
            "cost usd": round(cost[s.index], 4),
        }
        for s in store.segments(job_id)
    ]
    create_table_artifact(
        key=f"scenes-{short_id(job_id)}", table=rows, description="Scenes, state and cost"
    )
    if sheet:
        create_markdown_artifact(
            key=f"contact-sheet-{short_id(job_id)}",
            markdown=f"Contact sheet of the ten scenes: `{sheet}`",
            description="Where the contact sheet is",
        )


def publish_video(job_id: UUID, path: Path) -> None:
    job = runtime().store.job(job_id)
    create_link_artifact(
        key=f"video-{short_id(job_id)}",
        link=path.resolve().as_uri(),
        link_text=f"{job.title or 'video'} (${job.cost_usd:.2f})",
        description="The final video",
    )
