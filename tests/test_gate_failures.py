"""A scene whose provider refuses for good is shown at its gate; the person fixes it there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.commands import main
from tasks.runtime import runtime
from tests.fakes.runway_server import DAILY_CAP_BODY, FakeRunway
from tests.helpers import paused_at, wait_for

REPO = Path(__file__).resolve().parents[1]


def test_safety_refusal_and_daily_cap_wait_at_the_gate(
    prefect_server: str, runway: FakeRunway, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused image and a daily-capped clip each wait at their gate with the reason."""
    env = {
        **os.environ, "PREFECT_API_URL": prefect_server, "VIDEOBOT_NO_PROMPT": "1",
        "IMAGE_PROVIDER": "runway", "VIDEO_PROVIDER": "runway",
        "RUNWAYML_API_SECRET": FakeRunway.API_KEY, "RUNWAYML_BASE_URL": runway.url,
        "PROVIDER_BACKOFF_SECONDS": "0.01", "RUNWAY_POLL_SECONDS": "0.05",
    }
    runway.script_task(status="FAILED", failure_code="SAFETY.INPUT.TEXT")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "make", "How storms form"], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        job_line = wait_for(lambda: proc.stdout.readline(), what="the job line")
        store = runtime().store
        job_id = store.find_job(job_line.split()[1]).id
        short = str(job_id)[:8]
        wait_for(paused_at(job_id, "script", 1), what="the script gate")
        assert main(["approve", short, "--stage", "script"]) == 0

        wait_for(paused_at(job_id, "images", 1), what="the images gate")
        failed = [s for s in store.segments(job_id) if s.image_status == "failed"]
        assert len(failed) == 1 and "safety" in (failed[0].error or "").lower()
        scene = failed[0].index + 1
        assert len(runway.created("image")) == 10, "a safety refusal is not retried"
        capsys.readouterr()
        assert main(["approve", short, "--stage", "images"]) == 2
        assert f"scene(s) {scene} have no image yet" in capsys.readouterr().err
        assert main(["approve", short, "--stage", "images", "--edit", str(scene),
                     "--text", "A calm sky over a field"]) == 0
        wait_for(paused_at(job_id, "images", 2), what="the images gate, round 2")
        assert store.segments(job_id)[scene - 1].image_status == "ready"
        redone = runway.created("image")[-1].body
        assert redone["promptText"].startswith("A calm sky over a field")
        if scene != 1:  # scene 1's picture anchors the look of a redone scene
            assert redone.get("referenceImages"), "the first scene is offered as a reference"

        runway.fail("/v1/image_to_video", status=429, body=DAILY_CAP_BODY)
        assert main(["approve", short, "--stage", "images"]) == 0
        wait_for(paused_at(job_id, "clips", 1), what="the clips gate")
        capped = [s for s in store.segments(job_id) if s.video_status == "failed"]
        assert len(capped) == 1 and "daily" in (capped[0].error or "").lower()
        assert len(runway.calls("POST", "/v1/image_to_video")) == 10, "a daily cap is not retried"
        assert main(["approve", short, "--stage", "clips", "--redo", str(capped[0].index + 1)]) == 0
        wait_for(paused_at(job_id, "clips", 2), what="the clips gate, round 2")
        assert main(["approve", short, "--stage", "clips"]) == 0
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    output = proc.stdout.read()
    assert "FAILED:" in output
    assert store.job(job_id).status == "delivered"
