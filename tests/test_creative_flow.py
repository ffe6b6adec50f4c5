"""A whole `videobot make` with Runway drawing and animating (its fake on 127.0.0.1): the
person's photo and the first scene reach every picture with the style sheet, and a clip stage
the money cannot pay is not started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tasks.runtime import runtime
from tests.fakes.runway_server import FakeRunway

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("stop", ["job budget", "runway credits"])
def test_a_clip_stage_the_money_cannot_pay_is_not_started(
    stop: str, prefect_server: str, tmp_path: Path
) -> None:
    """With `--reference` and `--motion veo3.1_fast`: scene 1 is drawn after the photo, the
    other nine after the photo and scene 1, each prompt with the style sheet; then the clips
    (10 × 6 s of veo3.1_fast, $6.00, 600 credits) pass the job's $1.00 budget, or Runway's
    balance of 100 credits, and stop the job with that reason before any clip is asked for."""
    photo = tmp_path / "me.jpg"
    Image.new("RGB", (800, 600), (180, 120, 60)).save(photo, format="JPEG")
    with FakeRunway() as runway:
        runway.credit_balance = 100 if stop == "runway credits" else 10_000
        env = {
            **os.environ, "PREFECT_API_URL": prefect_server,
            "IMAGE_PROVIDER": "runway", "VIDEO_PROVIDER": "runway",
            "RUNWAY_API_KEY": FakeRunway.API_KEY, "RUNWAYML_BASE_URL": runway.url,
            "RUNWAY_POLL_SECONDS": "0.05", "PROVIDER_BACKOFF_SECONDS": "0.01",
            **({"MAX_COST_PER_JOB": "1.00"} if stop == "job budget" else {}),
        }
        done = subprocess.run(
            [sys.executable, "-m", "cli", "make", "How tides work", "--reference", str(photo),
             "--motion", "veo3.1_fast", "--auto-approve"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )
        images = runway.calls("POST", "/v1/text_to_image")
        clips = runway.calls("POST", "/v1/image_to_video")
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    reason = (
        "over budget: the clips would cost about $6.00, and $0.50 is left of this video's "
        "$1.00 budget" if stop == "job budget" else
        "Runway has no credit for the clips: 10 clips with veo3.1_fast need about 600 "
        "credits and the organisation has 100"
    )
    assert reason in done.stderr
    assert clips == []

    assert len(images) == 10 and all(r.status == 200 for r in images)
    tags = [[ref["tag"] for ref in r.body.get("referenceImages", [])] for r in images]
    assert tags[0] == ["photo"] and tags[1:] == [["photo", "look"]] * 9
    assert all("palette:" in r.body["promptText"] for r in images)

    job_line = next(x for x in done.stdout.splitlines() if x.startswith("Job "))
    job = runtime().store.find_job(job_line.split()[1])
    assert (job.status, job.stage, job.motion_model) == ("failed", "clips", "veo3.1_fast")
    assert reason in (job.error or "")
    assert Path(job.reference_path or "").parent.name == str(job.id)
