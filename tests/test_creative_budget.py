"""Budgets that hold, and the motion model's price: pure rules, the ledger's day total, and
the texts a person reads when a stage is not started."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.deciding import refusal_text
from videobot.budget import day_spent_up, decision_estimate, decision_shortfall, shortfall
from videobot.costs import gate_note
from videobot.db.engine import Database
from videobot.db.models import ProviderCall, VideoJob, utcnow
from videobot.db.store import JobStore
from videobot.decisions import Decision, refusal
from videobot.motion import choose_motion, job_motion, motion_models, parse_motion
from videobot.providers.base import Usage
from videobot.settings import Settings

RUNWAY = {"image_provider": "runway", "video_provider": "runway",
          "runwayml_api_secret": "key_test"}


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


class _Spent:
    """What a person spent today, as the ledger would say."""

    def __init__(self, usd: float) -> None:
        self.usd = usd

    def spent_today(self, user_id: str) -> float:
        return self.usd


def _job(cost: float = 0.0, motion: str | None = None) -> VideoJob:
    return VideoJob(user_id="tg:1", prompt="p", language="en", format="16:9", cost_usd=cost,
                    motion_model=motion, script_intro="i", script_main="m", script_outro="o")


def test_runway_offers_its_priced_models_with_their_lengths() -> None:
    """The clip models are the priced ones the SDK's image_to_video takes, with its lengths;
    a model the SDK does not know is not offered."""
    settings = _settings(**RUNWAY, runway_video_prices={"gen4_turbo": 5, "gen4.5": 12,
                                                        "veo3.1_fast": 10, "no_such": 1})
    offered = motion_models(settings)
    assert list(offered) == ["gen4_turbo", "gen4.5", "veo3.1_fast"]
    assert offered["veo3.1_fast"] == (4, 6, 8) and offered["gen4.5"] == tuple(range(2, 11))
    veo = choose_motion(settings, "veo3.1_fast")
    assert (veo.seconds, veo.clip_usd) == (6, pytest.approx(0.60))
    with pytest.raises(ValueError, match="4, 6, 8"):
        choose_motion(settings, "veo3.1_fast", 5)
    assert parse_motion("veo3.1_fast:8") == ("veo3.1_fast", 8)
    assert job_motion(settings, "no_such", None).model == "gen4_turbo", "falls back to default"
    assert motion_models(_settings()) == {"ffmpeg-motion": (5,)}


def test_the_images_gate_estimate_follows_the_chosen_model() -> None:
    """Approving images is estimated with the job's clip model and length."""
    settings = _settings(**RUNWAY)
    assert "$2.50" in (gate_note(settings, "images", 10) or "")
    veo = choose_motion(settings, "veo3.1_fast")
    note = gate_note(settings, "images", 10, veo) or ""
    assert "veo3.1_fast" in note and "$6.00" in note
    assert decision_estimate(settings, _job(motion="veo3.1_fast"), "images",
                             Decision.make("approve", "t")) == ("motion and clips",
                                                                pytest.approx(6.0))


def test_approving_the_clips_names_the_narrations_estimate() -> None:
    """The clips gate's form says what approving starts and what the narration costs."""
    from videobot.costs import approving_starts

    text = approving_starts(_settings(**RUNWAY, tts_provider="runway"), "clips")
    assert text.startswith("records the narration and assembles the final video (estimated $")
    assert text != approving_starts(_settings(**RUNWAY, tts_provider="offline"), "clips")


def test_a_decision_past_a_budget_is_refused_with_cost_and_what_is_left() -> None:
    """The smaller of what the job and the day have left decides; a covered decision or no
    budget passes; a redo of two images costs two pictures."""
    settings = _settings(**RUNWAY, max_cost_per_job=3.0, max_cost_per_user_day=10.0)
    job = _job(cost=0.80)
    approve = Decision.make("approve", "t")
    short = decision_shortfall(settings, _Spent(2.0), job, "images", approve)
    assert short is not None and (short.scope, short.cost, short.left) == ("job", 2.5, 2.2)
    assert decision_shortfall(settings, _Spent(8.5), _job(), "images", approve).scope == "day"
    redo = Decision.make("redo", "t", scenes=[2, 7])
    assert decision_estimate(settings, job, "images", redo) == ("images", pytest.approx(0.10))
    assert decision_shortfall(settings, _Spent(0), job, "images", redo) is None
    assert decision_shortfall(_settings(**RUNWAY), _Spent(99), job, "images", approve) is None

    refused = refusal("images", approve, language="en", unready=[], over_budget=short)
    assert refused is not None and refused.code == "over_budget"
    assert "the motion and clips would cost about $2.50" in refused.text
    assert "$2.20 is left of this video's $3.00 budget" in refused.text
    told = refusal_text("ru", refused)
    assert "$2.50" in told and "$2.20" in told and "бюджета этого видео ($3.00)" in told


def test_nothing_is_short_when_the_work_is_free() -> None:
    """Offline work costs nothing, so no budget stops it."""
    settings = _settings(max_cost_per_job=0.01)
    assert shortfall(settings, _Spent(5), _job(cost=5), "clips", 0.0) is None


def test_the_day_total_counts_the_persons_jobs_since_midnight(database_url: str) -> None:
    """The ledger's costs of a person's jobs made today count; yesterday's and another
    person's do not; a spent day refuses new jobs."""
    db = Database(database_url)
    db.migrate()
    store = JobStore(db)
    mine = [store.create_job(user_id="tg:5", prompt="a", language="en", fmt="16:9")
            for _ in range(2)]
    other = store.create_job(user_id="tg:6", prompt="b", language="en", fmt="16:9")
    for job, usd in ((mine[0], 1.25), (mine[1], 0.5), (other, 4.0), (mine[0], 9.0)):
        store.record_call(job.id, stage="images", segment=0, provider="runway",
                          usage=Usage("runway", "gen4_image", 5, "credits", usd), latency_ms=1)
    with db.session() as s:  # the last call of 9.00 was made yesterday
        last = max(c.id for c in store.calls(mine[0].id))
        s.execute(update(ProviderCall).where(ProviderCall.id == last)
                  .values(created_at=utcnow() - timedelta(days=1)))
    assert store.spent_today("tg:5") == pytest.approx(1.75)
    assert day_spent_up(_settings(max_cost_per_user_day=1.75), store, "tg:5") == 1.75
    assert day_spent_up(_settings(max_cost_per_user_day=2.0), store, "tg:5") is None
    db.dispose()
