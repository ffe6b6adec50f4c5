"""What the chat shows: gate messages, their buttons and the status line, in the person's
language. Pure functions; the bot and the flow's Telegram channel both use them."""

from __future__ import annotations

from collections.abc import Sequence

from videobot.callbacks import (
    FULL_MASK,
    PART_CODES,
    GateButton,
    job_key,
    mask_arg,
    mask_scenes,
)
from videobot.db.models import JobStatus, VideoJob, VideoSegment
from videobot.failure_notes import STEPS, scene_failure_text
from videobot.formats import SCENE_COUNT, SECTIONS
from videobot.i18n import tr
from videobot.script import Script
from videobot.style import StyleSheet

Keyboard = list[list[tuple[str, str]]]  # rows of (label, callback data)
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
BAR_WIDTH = 10


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """Telegram refuses longer texts; cut with an ellipsis rather than fail."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def script_message(
    lang: str, script: Script, attempt: int, heard: str | None, spoken_in: str | None = None
) -> str:
    """The script to approve; with `spoken_in` (the narration's language), a warning for each
    part too short for its section, so the person hears of the silence before approving."""
    parts = []
    if heard:
        parts.append(tr(lang, "script_heard", text=heard))
    parts.append(tr(lang, "script_header", attempt=attempt, title=script.title))
    start = 0.0
    for section in SECTIONS:
        end = start + section.seconds
        parts.append(
            tr(
                lang,
                "script_part",
                part=tr(lang, f"part_{section.name}"),
                start=f"{start:g}",
                end=f"{end:g}",
                text=getattr(script, section.name),
            )
        )
        start = end
    if script.style is not None:
        parts.append(tr(lang, "script_style", style=style_text(lang, script.style)))
    for name, silent in script.silent_parts(spoken_in) if spoken_in else []:
        section = next(s for s in SECTIONS if s.name == name)
        parts.append(tr(lang, "script_silent", part=tr(lang, f"part_{name}"),
                        silent=f"{silent:.0f}", seconds=f"{section.seconds:g}"))
    return clip("\n\n".join(parts))


def style_text(lang: str, style: StyleSheet) -> str:
    """The style sheet as lines of `Label: value`, the shape an edit is sent back in."""
    labels = {name: tr(lang, f"style_{name}") for name in ("medium", "palette", "lighting")}
    return "\n".join(style.lines(labels))


def made_in_round(
    segments: Sequence[VideoSegment], kind: str, attempt: int
) -> list[VideoSegment]:
    """The scenes whose picture (or clip) this round made: what a round shows again."""
    return [
        seg for seg in segments
        if (seg.image_status if kind == "images" else seg.video_status) == "ready"
        and (seg.image_round if kind == "images" else seg.video_round) == attempt
    ]


def media_message(
    lang: str,
    kind: str,
    segments: Sequence[VideoSegment],
    attempt: int,
    estimate: float | None,
    model: str | None = None,
) -> str:
    """The gate's text: the round, what it made again (after the first), failed scenes, and
    for images the clips' estimate with the clip model."""
    lines = [tr(lang, f"{kind}_gate", attempt=attempt)]
    made = [seg.index + 1 for seg in made_in_round(segments, kind, attempt)]
    if made and len(made) < len(segments):
        lines.append(tr(lang, "round_made", scenes=", ".join(map(str, made))))
    for seg in segments:
        status = seg.image_status if kind == "images" else seg.video_status
        if status != "ready":
            lines.append(scene_failure_text(lang, kind, seg.index + 1, seg.error))
    if estimate is not None:
        lines.append(tr(lang, "clip_estimate", scenes=len(segments), cost=f"{estimate:.2f}",
                        model=model or "-"))
    return clip("\n\n".join(lines))


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = round(width * done / total) if total else 0
    return "▓" * filled + "░" * (width - filled)


def stage_label(lang: str, job: VideoJob) -> str:
    if job.status in (
        JobStatus.QUEUED,
        JobStatus.WAITING,
        JobStatus.DELIVERED,
        JobStatus.CANCELLED,
        JobStatus.FAILED,
        JobStatus.EXPIRED,
    ):
        return tr(lang, f"stage_{job.status}")
    stage = job.stage.split("-")[0]
    return tr(lang, f"stage_{stage if stage in STEPS else 'script'}")


def status_message(
    lang: str, job: VideoJob, segments: Sequence[VideoSegment], queue_position: int | None
) -> str:
    """The job's one status message: what it does now, how far, where in the queue, the cost."""
    lines = [f"🎬 {job.title or clip(job.prompt, 80) or '…'} · {job_key(job.id)}"]
    label = stage_label(lang, job)
    if job.status == JobStatus.RUNNING and job.stage in ("images", "clips") and segments:
        field = "image_status" if job.stage == "images" else "video_status"
        done = sum(1 for seg in segments if getattr(seg, field) == "ready")
        total = max(len(segments), SCENE_COUNT)
        label += " " + tr(
            lang, "progress_count", done=done, total=total, bar=progress_bar(done, total)
        )
    lines.append(label)
    if queue_position:
        lines.append(tr(lang, "queue_position", position=queue_position))
    lines.append(tr(lang, "status_cost", cost=f"{job.cost_usd or 0.0:.2f}"))
    return "\n".join(lines)


# Keyboards --------------------------------------------------------------------------------


def _button(
    lang: str,
    key: str,
    job: object,
    stage: str,
    attempt: int,
    action: str,
    arg: str = "",
    **values: object,
) -> tuple[str, str]:
    data = GateButton(job_key(job), stage, attempt, action, arg).encode()  # type: ignore[arg-type]
    return tr(lang, key, **values), data


def gate_keyboard(lang: str, job: object, stage: str, attempt: int) -> Keyboard:
    """The gate's own buttons: script, images or clips."""
    b = _button
    if stage == "script":
        return [
            [b(lang, "btn_approve", job, stage, attempt, "approve")],
            [
                b(lang, "btn_regenerate", job, stage, attempt, "regenerate"),
                b(lang, "btn_edit", job, stage, attempt, "edit"),
            ],
            [b(lang, "btn_cancel", job, stage, attempt, "cancel")],
        ]
    middle = [b(lang, "btn_redo", job, stage, attempt, "redo", "0")]
    if stage == "images":
        middle.append(b(lang, "btn_edit", job, stage, attempt, "edit"))
    return [
        [b(lang, "btn_approve_all", job, stage, attempt, "approve")],
        middle,
        [b(lang, "btn_cancel", job, stage, attempt, "cancel")],
    ]


def redo_keyboard(lang: str, job: object, stage: str, attempt: int, mask: int) -> Keyboard:
    """Scene toggles carrying the selection they lead to, then confirm and back."""
    rows: Keyboard = []
    for first in (1, 6):
        row = []
        for n in range(first, first + 5):
            bit = 1 << (n - 1)
            label = f"☑ {n}" if mask & bit else str(n)
            data = GateButton(
                job_key(job), stage, attempt, "redo", mask_arg((mask ^ bit) & FULL_MASK)
            ).encode()
            row.append((label, data))
        rows.append(row)
    if mask:
        rows.append(
            [
                _button(
                    lang,
                    "btn_confirm_redo",
                    job,
                    stage,
                    attempt,
                    "confirm",
                    mask_arg(mask),
                    count=len(mask_scenes(mask)),
                )
            ]
        )
    rows.append([_button(lang, "btn_back", job, stage, attempt, "back")])
    return rows


def edit_keyboard(lang: str, job: object, stage: str, attempt: int) -> Keyboard:
    """Script: which part to rewrite. Images: which scene's prompt to change."""
    if stage == "script":
        row = [
            _button(lang, f"part_{part}", job, stage, attempt, "part", code)
            for part, code in PART_CODES.items()
        ]
        return [row, [_button(lang, "btn_back", job, stage, attempt, "back")]]
    rows: Keyboard = [
        [
            (str(n), GateButton(job_key(job), stage, attempt, "scene", str(n)).encode())
            for n in range(first, first + 5)
        ]
        for first in (1, 6)
    ]
    rows.append([_button(lang, "btn_back", job, stage, attempt, "back")])
    return rows


def inline_markup(keyboard: Keyboard) -> dict[str, object]:
    """The Bot API's InlineKeyboardMarkup as JSON."""
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row] for row in keyboard
        ]
    }
