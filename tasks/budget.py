"""Checks made before a paid stage starts: the budgets, and what Runway's account can pay."""

from __future__ import annotations

from uuid import UUID

from prefect import get_run_logger, task

from tasks.runtime import ONCE, runtime
from videobot.budget import shortfall, work_estimate
from videobot.formats import SCENE_COUNT
from videobot.motion import job_motion


class NotAffordable(Exception):
    """A stage that the budgets (or the provider's account) cannot pay; the message is the one
    line the person reads."""


def ensure_affordable(job_id: UUID, stage: str, scenes: int = SCENE_COUNT) -> None:
    """Raise NotAffordable when `stage` (for `scenes`) would take the job or its person past
    a budget: the stage is not started, and the reason says its cost and what is left."""
    rt = runtime()
    settings = rt.settings
    if settings.max_cost_per_job is None and settings.max_cost_per_user_day is None:
        return
    job = rt.store.job(job_id)
    cost = work_estimate(settings, job, stage, scenes)
    short = shortfall(settings, rt.store, job, stage, cost)
    if short is not None:
        get_run_logger().warning("Job %s not started at %s: %s", job_id, stage, short.text)
        raise NotAffordable(short.text)


@task(name="runway-credits", **ONCE)
def ensure_runway_credits(job_id: UUID, scenes: int) -> None:
    """Before Runway animates `scenes` clips: the organisation's credit balance must pay them
    (GET /v1/organization), or the stage is not started."""
    rt = runtime()
    animator = rt.providers.animator
    balance_of = getattr(animator, "credit_balance", None)
    if animator.name != "runway" or balance_of is None or not scenes:
        return
    job = rt.store.job(job_id)
    motion = job_motion(rt.settings, job.motion_model, job.motion_seconds)
    prices = rt.settings.runway_video_prices
    need = prices.get(motion.model, rt.settings.runway_video_credits_per_second)
    need *= motion.seconds * scenes
    balance = int(balance_of())
    get_run_logger().info("Runway credit balance %d; the clips need about %.0f", balance, need)
    if balance < need:
        raise NotAffordable(
            f"Runway has no credit for the clips: {scenes} clips with {motion.model} need about "
            f"{need:.0f} credits and the organisation has {balance}; add credits, then retry"
        )
