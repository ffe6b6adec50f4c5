"""A whole `videobot make` with Runway drawing and animating (its fake on 127.0.0.1): the
person's photo and the first scene reach every picture with the style sheet, a first scene
the provider refuses leaves the others drawn after the photo, and a clip stage the money
cannot pay is not started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest
from PIL import Image
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import TaskRun, TaskRunResult

from orchestration.runs import api_client
from tasks.runtime import runtime
from tests.fakes.runway_server import FakeRunway
from tests.helpers import wait_for

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
        budget = {"MAX_COST_PER_JOB": "1.00"} if stop == "job budget" else {}
        done = _make(prefect_server, runway, photo, "--motion", "veo3.1_fast", **budget)
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
    # The nine were given the first scene's task run itself, not its picture once the flow had
    # it: Prefect links each to it as an input, and starts each the moment it is done.
    # Prefect's server records task runs from their events, a moment after the process ends.
    runs = wait_for(lambda: _image_runs(job.flow_run_id), timeout=60,
                    what="the ten image task runs recorded")
    assert all(_inputs(runs[f"image-scene-{n:02d}-r1"], "look") == [runs["image-scene-01-r1"].id]
               for n in range(2, 11))


def test_a_first_scene_the_provider_refuses_leaves_the_others_drawn_after_the_photo(
    prefect_server: str, tmp_path: Path
) -> None:
    """Runway refuses the first scene's picture: the other nine, which were waiting for it, are
    drawn after the photo alone, once each; with --auto-approve the job then stops at the
    images in one line naming scene 1 and the reason."""
    photo = tmp_path / "me.png"
    Image.new("RGB", (640, 480), (40, 90, 160)).save(photo, format="PNG")
    with FakeRunway() as runway:
        runway.script_task(status="FAILED", failure_code="SAFETY.INPUT.TEXT")
        done = _make(prefect_server, runway, photo)
        images = runway.calls("POST", "/v1/text_to_image")
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert len(images) == 10
    tags = [[ref["tag"] for ref in r.body.get("referenceImages", [])] for r in images]
    assert tags == [["photo"]] * 10
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("videobot: the images stage failed for scene 1: "), last_line
    job_line = next(x for x in done.stdout.splitlines() if x.startswith("Job "))
    job = runtime().store.find_job(job_line.split()[1])
    segments = runtime().store.segments(job.id)
    assert [s.image_status for s in segments] == ["failed"] + ["ready"] * 9
    calls = [c for c in runtime().store.calls(job.id) if c.stage == "images"]
    assert sorted((c.segment, c.outcome) for c in calls) == [(0, "error")] + [
        (n, "ok") for n in range(1, 10)
    ]


def _make(prefect_server: str, runway: FakeRunway, photo: Path, *args: str,
          **env: str) -> subprocess.CompletedProcess[str]:
    """`videobot make --auto-approve` with Runway drawing and animating after `photo`."""
    return subprocess.run(
        [sys.executable, "-m", "cli", "make", "How tides work", "--reference", str(photo),
         *args, "--auto-approve"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={
            **os.environ, "PREFECT_API_URL": prefect_server,
            "IMAGE_PROVIDER": "runway", "VIDEO_PROVIDER": "runway",
            "RUNWAY_API_KEY": FakeRunway.API_KEY, "RUNWAYML_BASE_URL": runway.url,
            "RUNWAY_POLL_SECONDS": "0.05", "PROVIDER_BACKOFF_SECONDS": "0.01", **env,
        },
    )


def _image_runs(flow_run_id: UUID | None) -> dict[str, TaskRun] | None:
    """The run's ten image task runs by name, once the server has recorded them all."""
    with api_client() as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    images = {run.name: run for run in runs if run.name.startswith("image-")}
    return images if len(images) == 10 else None


def _inputs(run: TaskRun, parameter: str) -> list[UUID]:
    """The task runs Prefect links to `run` as the source of `parameter`."""
    return [i.id for i in run.task_inputs.get(parameter, []) if isinstance(i, TaskRunResult)]
