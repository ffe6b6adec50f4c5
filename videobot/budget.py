"""Budgets that hold: a stage whose estimate would take a job, or a person's day, past its
limit is not started, and the person is told what it would cost and what is left."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from videobot.costs import stage_estimate
from videobot.db.models import VideoJob
from videobot.decisions import Decision
from videobot.formats import SCENE_COUNT, VideoFormat
from videobot.motion import job_motion
from videobot.settings import Settings


@dataclass(frozen=True)
class Shortfall:
    """Work that the budget cannot pay: its estimate, what is left, and of which limit."""

    what: str  # the stage, as the pipeline names it
    cost: float
    left: float
    limit: float
    scope: Literal["job", "day"]

    @property
    def text(self) -> str:
        """In plain English, for logs, the terminal and the Prefect UI."""
        of = (f"this video's ${self.limit:.2f} budget" if self.scope == "job"
              else f"today's ${self.limit:.2f} budget")
        return (f"over budget: the {self.what} would cost about ${self.cost:.2f}, and "
                f"${max(self.left, 0.0):.2f} is left of {of}")


class Spending(Protocol):
    """What the budget reads: the ledger's recorded costs (the job store has these)."""

    def spent_today(self, user_id: str) -> float: ...


def shortfall(
    settings: Settings, spending: Spending, job: VideoJob, what: str, cost: float
) -> Shortfall | None:
    """Why work costing `cost` may not start for `job`, or None when the budgets cover it."""
    if cost <= 0:
        return None
    limits: list[tuple[Literal["job", "day"], float, float]] = []
    if settings.max_cost_per_job is not None:
        limits.append(("job", settings.max_cost_per_job, job.cost_usd or 0.0))
    if settings.max_cost_per_user_day is not None:
        limits.append(("day", settings.max_cost_per_user_day, spending.spent_today(job.user_id)))
    short = [
        Shortfall(what, round(cost, 4), round(limit - spent, 4), limit, scope)
        for scope, limit, spent in limits
        if spent + cost > limit + 1e-9
    ]
    return min(short, key=lambda s: s.left) if short else None


def day_spent_up(settings: Settings, spending: Spending, user_id: str) -> float | None:
    """The person's daily budget when nothing of it is left (no job may start), else None."""
    limit = settings.max_cost_per_user_day
    if limit is not None and spending.spent_today(user_id) >= limit - 1e-9:
        return limit
    return None


def work_estimate(settings: Settings, job: VideoJob, stage: str, scenes: int = SCENE_COUNT,
                  characters: int | None = None) -> float:
    """What `stage` costs for `job` (its format, motion model and script length)."""
    motion = job_motion(settings, job.motion_model, job.motion_seconds)
    if characters is None:
        characters = sum(len(p or "") for p in (job.script_intro, job.script_main,
                                                job.script_outro)) or 1_000
    return stage_estimate(settings, stage, scenes=scenes, fmt=VideoFormat(job.format),
                          motion=motion, characters=characters)


# What approving each gate starts, in order: paid before the next gate is reached.
APPROVAL_STARTS = {
    "script": ("segments", "images"),
    "images": ("motion", "clips"),
    "clips": ("narration",),
}


def decision_estimate(
    settings: Settings, job: VideoJob, stage: str, decision: Decision
) -> tuple[str, float]:
    """What a decision at a gate starts, and its estimate."""
    if decision.action == "approve":
        starts = APPROVAL_STARTS.get(stage, ())
        return " and ".join(starts), sum(work_estimate(settings, job, s) for s in starts)
    if decision.action == "regenerate":
        return "script", work_estimate(settings, job, "script")
    if stage in ("images", "clips") and decision.action in ("redo", "edit"):
        scenes = len(decision.scene_indexes())
        return stage, work_estimate(settings, job, stage, scenes=scenes)
    return stage, 0.0


def decision_shortfall(
    settings: Settings, spending: Spending, job: VideoJob, stage: str, decision: Decision
) -> Shortfall | None:
    """Why a decision's work may not start, or None (no budget set, or it is covered)."""
    if settings.max_cost_per_job is None and settings.max_cost_per_user_day is None:
        return None
    what, cost = decision_estimate(settings, job, stage, decision)
    return shortfall(settings, spending, job, what, cost)
