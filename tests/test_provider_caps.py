"""Per-provider caps: held by the Prefect server, honoured by a whole video, never optional."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from contextvars import copy_context
from pathlib import Path

import pytest

from orchestration.runs import api_client
from tasks.limits import LimitMissing, ensure_limits, paid_call, provider_limit
from tests.fakes.runway_kit import build_kit
from tests.fakes.runway_server import FakeRunway
from tests.fakes.runway_tasks import FakeTask
from tests.helpers import new_job, wait_for
from videobot.formats import VideoFormat
from videobot.providers.base import Usage
from videobot.settings import get_settings

REPO = Path(__file__).resolve().parents[1]


def most_at_once(tasks: list[FakeTask]) -> int:
    """The most Runway tasks that were running on the server at the same instant."""
    edges = sorted(
        (moment, delta)
        for task in tasks
        for moment, delta in ((task.started, 1), (task.started + task.run_seconds, -1))
    )
    busy = peak = 0
    for _, delta in edges:
        busy += delta
        peak = max(peak, busy)
    return peak


def test_a_video_never_runs_more_runway_tasks_than_the_cap(prefect_server: str) -> None:
    """RUNWAY_CONCURRENCY=2: ten images and ten clips, never more than two tasks at once, and
    two at once most of the time (the cap is a cap, not a queue of one)."""
    with FakeRunway() as runway:
        runway.task_seconds = {"image": 0.6, "video": 0.6}
        env = {
            **os.environ,
            "PREFECT_API_URL": prefect_server,
            "SCRIPT_PROVIDER": "offline",
            "IMAGE_PROVIDER": "runway",
            "VIDEO_PROVIDER": "runway",
            "TTS_PROVIDER": "offline",
            "RUNWAY_API_KEY": FakeRunway.API_KEY,
            "RUNWAYML_BASE_URL": runway.url,
            "RUNWAY_POLL_SECONDS": "0.05",
            "RUNWAY_CONCURRENCY": "2",
        }
        done = subprocess.run(
            [sys.executable, "-m", "cli", "make", "Why the sea is salty", "--auto-approve"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        for kind in ("image", "video"):
            tasks = runway.created(kind)
            assert len(tasks) == 10
            assert most_at_once(tasks) == 2, f"{kind} tasks at once"


def test_a_missing_provider_limit_is_an_error_not_unlimited(prefect_server: str) -> None:
    """With the `provider-runway` limit deleted on the server, a Runway call is refused before
    it is made (and nothing is written to the ledger)."""
    job_id = new_job("Why the sky is blue")
    made: list[str] = []

    def call() -> tuple[str, Usage]:
        made.append("called")
        return "done", Usage("runway", "gen4_image", 1, "images", 0.08)

    with api_client() as client:
        client.delete_global_concurrency_limit_by_name(provider_limit("runway"))
    try:
        with pytest.raises(LimitMissing, match="provider-runway"):
            paid_call(job_id, stage="images", segment=0, provider="runway", call=call)
        assert made == []
    finally:
        ensure_limits(get_settings())
    assert paid_call(job_id, stage="images", segment=0, provider="runway", call=call) == "done"
    assert made == ["called"]


def test_a_cancelled_job_makes_no_new_provider_call(prefect_server: str) -> None:
    """Once the job is cancelled, a call not yet started is not made and not recorded: the
    mapped scenes still queued for a slot stop instead of paying."""
    from tasks.limits import JobEnded
    from tasks.runtime import runtime

    job_id = new_job("Why leaves turn red")
    runtime().store.update_job(job_id, status="cancelled")
    made: list[str] = []

    def call() -> tuple[str, Usage]:
        made.append("called")
        return "done", Usage("runway", "gen4_image", 1, "images", 0.08)

    with pytest.raises(JobEnded):
        paid_call(job_id, stage="images", segment=0, provider="runway", call=call)
    assert made == [] and runtime().store.calls(job_id) == []


def test_a_runway_call_gives_its_slot_back_while_its_output_downloads(
    prefect_server: str, tmp_path: Path
) -> None:
    """RUNWAY_CONCURRENCY=1: once the first picture's task has ended on Runway, the second
    call takes the slot and is done while the first one's download still hangs, but not
    before Runway has finished the first task; both calls are in the ledger."""
    from tasks.runtime import runtime

    job_id = new_job("Why the sea is salty")
    with FakeRunway() as runway, ExitStack() as stack:
        kit = build_kit(runway, tmp_path / "data", stack)
        runway.fail("/outputs/*", delay=20, times=1)  # the first download hangs

        def picture(scene: int) -> Callable[[], Path]:
            out = tmp_path / f"scene-{scene}.png"

            def call() -> tuple[Path, Usage]:
                usage = kit.images.make_image("A salt flat", "", scene, VideoFormat.LANDSCAPE,
                                              out)
                return out, usage

            return lambda: paid_call(job_id, stage="images", segment=scene, provider="runway",
                                     call=call)

        with api_client() as client:
            client.upsert_global_concurrency_limit_by_name(provider_limit("runway"), 1)
        try:
            with ThreadPoolExecutor(2) as pool:
                first = pool.submit(copy_context().run, picture(0))  # the API URL too
                wait_for(lambda: runway.calls("GET", "/outputs/"), timeout=30,
                         what="the first picture's download")
                second = pool.submit(copy_context().run, picture(1))
                assert second.result(timeout=15).exists()
                assert not first.done(), "the first download still hangs"
                runway.end_delays()
                assert first.result(timeout=30).exists()
        finally:
            ensure_limits(get_settings())
        # The second task was asked for only once Runway had finished the first.
        seen = [f"{r.method} {r.path.split('/')[2]}" for r in runway.calls(path_prefix="/v1/")]
        assert seen == ["POST text_to_image", "GET tasks"] * 2
    assert runtime().store.call_counts(job_id) == {"images": 2}
