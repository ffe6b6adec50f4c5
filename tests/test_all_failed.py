"""A stage where every scene failed is still a gate; with auto-approve it is one clear line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.commands import main
from orchestration.runs import api_client
from tasks.runtime import runtime
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.runway_server import FakeRunway
from tests.helpers import paused_at, wait_for

REPO = Path(__file__).resolve().parents[1]
OPENAI_KEY = "sk-test-" + "y" * 24
VERIFY = (
    "Your organization must be verified to use the model `gpt-image-2`. Please go to: "
    "https://platform.openai.com/settings/organization/general and click on Verify Organization."
)
# An exception's class where a person reads: "ValueError:", "ProviderError:", "Traceback".
CLASS_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception)\b:|Traceback")


@pytest.fixture
def openai() -> Iterator[FakeOpenAI]:
    """A fake OpenAI that refuses every image with the organisation-verification 403."""
    with FakeOpenAI(api_key=OPENAI_KEY) as fake:
        fake.fail("images/generations", 403, message=VERIFY, times=1000)
        yield fake


def _env(prefect_server: str, openai: FakeOpenAI, runway: FakeRunway, **extra: str) -> dict:
    return {
        **os.environ, "PREFECT_API_URL": prefect_server, "VIDEOBOT_NO_PROMPT": "1",
        "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": openai.base_url,
        "RUNWAYML_API_SECRET": FakeRunway.API_KEY, "RUNWAYML_BASE_URL": runway.url,
        "PROVIDER_BACKOFF_SECONDS": "0.01", "RUNWAY_POLL_SECONDS": "0.05", **extra,
    }


def _refuse_every_clip(runway: FakeRunway) -> None:
    for _ in range(10):
        runway.script_task(status="FAILED", failure_code="SAFETY.INPUT.IMAGE")


def _job_id(output: str) -> str:
    return next(x for x in output.splitlines() if x.startswith("Job ")).split()[1]


def test_all_images_and_all_clips_failed_wait_at_their_gates(
    prefect_server: str, openai: FakeOpenAI, runway: FakeRunway,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ten refused images, then ten refused clips: each stage waits at its gate with every
    scene's reason and no contact sheet; approving is refused, a redo of all ten works, and
    cancel ends the job."""
    env = _env(prefect_server, openai, runway, IMAGE_PROVIDER="openai", VIDEO_PROVIDER="runway")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "make", "How storms form"], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))
    reader.start()
    try:
        job_line = wait_for(lambda: next((x for x in lines if x.startswith("Job ")), None),
                            what="the job line")
        store, media, files = runtime().store, runtime().media, runtime().files
        job_id = store.find_job(job_line.split()[1]).id
        short = str(job_id)[:8]
        wait_for(paused_at(job_id, "script", 1), what="the script gate")
        assert main(["approve", short, "--stage", "script"]) == 0

        wait_for(paused_at(job_id, "images", 1), what="the images gate with no image")
        segments = store.segments(job_id)
        assert [s.image_status for s in segments] == ["failed"] * 10
        assert all("403" in (s.error or "") for s in segments), [s.error for s in segments]
        assert not files.exists(media.contact_sheet(job_id, "images", 1).as_posix())
        refused = [c for c in store.calls(job_id) if c.stage == "images"]
        assert len(refused) == 10 and all(c.error for c in refused)
        capsys.readouterr()
        assert main(["approve", short, "--stage", "images"]) == 2
        assert "have no image yet" in capsys.readouterr().err

        openai.clear()  # the organisation is verified now
        assert main(["approve", short, "--stage", "images", "--redo", "1-10"]) == 0
        wait_for(paused_at(job_id, "images", 2), what="the images gate, round 2")
        assert [s.image_status for s in store.segments(job_id)] == ["ready"] * 10
        assert files.exists(media.contact_sheet(job_id, "images", 2).as_posix())

        _refuse_every_clip(runway)
        assert main(["approve", short, "--stage", "images"]) == 0
        wait_for(paused_at(job_id, "clips", 1), what="the clips gate with no clip")
        segments = store.segments(job_id)
        assert [s.video_status for s in segments] == ["failed"] * 10
        assert all("content filter" in (s.error or "") for s in segments)
        assert not files.exists(media.contact_sheet(job_id, "clips", 1).as_posix())
        assert main(["approve", short, "--stage", "clips", "--cancel"]) == 0
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(10)
    output = "".join(lines)
    assert store.job(job_id).status == "cancelled"
    assert output.count("FAILED: OpenAI refused access (403)") == 10
    assert "No scene has an image: redo (r 1-10)" in output
    assert "No scene has a clip: redo (r 1-10)" in output
    assert not CLASS_NAME.search(output), output


@pytest.mark.parametrize("stage", ["images", "clips"])
def test_auto_approve_with_every_scene_failed_is_one_line(
    stage: str, prefect_server: str, openai: FakeOpenAI, runway: FakeRunway
) -> None:
    """With --auto-approve, a stage where every scene failed ends the job with exit code 1 and
    one line naming the stage and the provider's reason once; tracebacks stay in the run's
    Prefect log, whose UI link is printed."""
    if stage == "images":
        env = _env(prefect_server, openai, runway, IMAGE_PROVIDER="openai")
    else:
        env = _env(prefect_server, openai, runway, VIDEO_PROVIDER="runway")
        _refuse_every_clip(runway)
    done = subprocess.run(
        [sys.executable, "-m", "cli", "make", "How storms form", "--auto-approve"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    store = runtime().store
    job = store.find_job(_job_id(done.stdout))
    reasons = {s.error for s in store.segments(job.id)}
    assert len(reasons) == 1 and None not in reasons, reasons
    (reason,) = reasons
    expected = f"videobot: the {stage} stage failed for all 10 scenes: {reason}"
    assert done.stderr.strip().splitlines()[-1] == expected
    everything = done.stdout + done.stderr
    assert [x for x in everything.splitlines() if reason in x] == [expected]
    assert not CLASS_NAME.search(everything), everything
    assert OPENAI_KEY not in everything
    assert job.status == "failed" and job.error == expected.removeprefix("videobot: ")
    page = f"{prefect_server.removesuffix('/api')}/runs/flow-run/{job.flow_run_id}"
    assert f"Prefect flow run: {job.flow_run_name} · " in done.stdout
    assert f"log: {page}" in done.stdout
    wait_for(lambda: _run_log_has(job.flow_run_id, reason), what="the reason in the run's log")
    wait_for(lambda: _run_log_has(job.flow_run_id, "Traceback"), what="the run's traceback")


def _run_log_has(flow_run_id: object, text: str) -> bool:
    """The run's log in the Prefect API has `text`."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with api_client() as client:
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]))
        )
    return any(text in log.message for log in logs)


def test_a_submitted_run_fails_in_the_same_one_line(
    prefect_server: str, openai: FakeOpenAI, runway: FakeRunway
) -> None:
    """`make` submitting to a running stack tells the same one line, exit code 1 and the log
    link as a local run, with no traceback."""
    from tests.serving import Server
    from videobot.settings import get_settings

    env = _env(prefect_server, openai, runway, IMAGE_PROVIDER="openai")
    served = Server(prefect_server, env=env)
    stack = get_settings().data_dir / "stack.json"  # what `videobot up` writes while it runs
    try:
        served.start()
        stack.parent.mkdir(parents=True, exist_ok=True)
        stack.write_text(f'{{"pid": {os.getpid()}, "api_url": "{prefect_server}"}}')
        done = subprocess.run(
            [sys.executable, "-m", "cli", "make", "How storms form", "--auto-approve"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )
    finally:
        stack.unlink(missing_ok=True)
        served.kill()
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Submitted as flow run" in done.stdout
    job = runtime().store.find_job(_job_id(done.stdout))
    (reason,) = {s.error for s in runtime().store.segments(job.id)}
    expected = f"videobot: the images stage failed for all 10 scenes: {reason}"
    assert done.stderr.strip().splitlines() == [expected]
    page = f"{prefect_server.removesuffix('/api')}/runs/flow-run/{job.flow_run_id}"
    assert f"log: {page}" in done.stdout
    assert not CLASS_NAME.search(done.stdout + done.stderr), done.stdout + done.stderr
