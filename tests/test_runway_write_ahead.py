"""What a run's process leaves when it dies or stops mid-call: Runway tasks written ahead are
taken up by the next attempt or cancelled, not paid again; an OpenAI request is not waited for."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from uuid import UUID

import pytest
from prefect.deployments import run_deployment
from pydantic import SecretStr

from orchestration.runs import api_client, cancel_run
from tasks.runtime import runtime
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.runway_kit import FakeTime, still
from tests.fakes.runway_server import FakeRunway
from tests.helpers import new_job, wait_for, written_ahead_or_fetched
from tests.serving import Server
from tests.test_flow import ONE_VIDEO_CALLS
from tests.test_flow_providers import OPENAI_KEY
from videobot.formats import VideoFormat
from videobot.providers.runway_api import RunwayAnimator, build_download_client, build_runway_client
from videobot.settings import Settings
from videobot.stopping import ProcessStopping


@pytest.fixture
def runway() -> Iterator[FakeRunway]:
    with FakeRunway() as server:
        yield server


def _animator(runway: FakeRunway, data_dir: Path, stack: ExitStack) -> RunwayAnimator:
    settings = Settings(runwayml_api_secret=SecretStr(FakeRunway.API_KEY),
                        runwayml_base_url=runway.url, data_dir=data_dir)
    client = stack.enter_context(build_runway_client(settings))
    downloads = stack.enter_context(build_download_client(settings))
    time = FakeTime()
    return RunwayAnimator(client, downloads, settings, sleep=time.sleep, clock=time.clock,
                          journal=runtime().store)


def test_a_task_left_open_is_adopted(runway: FakeRunway, tmp_path: Path) -> None:
    """A clip whose task an earlier process started (and recorded) is made from that task:
    Runway sees one task, and the record stays until the clip is kept in the media store."""
    store = runtime().store
    out = tmp_path / "clips" / "scene-01-r1.mp4"
    image = still(tmp_path / "still.png", VideoFormat.LANDSCAPE)
    with ExitStack() as stack:
        animator = _animator(runway, tmp_path / "data", stack)
        left = animator.client.image_to_video.create(
            model="gen4_turbo", prompt_image="https://example.com/a.png", ratio="1280:720",
            duration=5,
        ).id
        store.record_task(str(out), "runway", left)
        usage = animator.animate(image, "slow zoom", 5, VideoFormat.LANDSCAPE, out)
    assert out.is_file()
    assert [t.id for t in runway.created("video")] == [left]
    assert usage.request_id == left and usage.attempts == 0
    assert store.open_task(str(out)) == left


def test_a_new_task_is_recorded_until_its_output_is_kept(
    runway: FakeRunway, tmp_path: Path
) -> None:
    """Without a task left open, one is created; its record exists while it runs and after,
    until the caller keeps the output (`Scratch.store` closes it)."""
    store = runtime().store
    out = tmp_path / "clips" / "scene-02-r1.mp4"
    image = still(tmp_path / "still.png", VideoFormat.LANDSCAPE)
    seen: list[str | None] = []
    with ExitStack() as stack:
        animator = _animator(runway, tmp_path / "data", stack)
        original = animator.tasks.sleep

        def sleep_and_look(seconds: float) -> None:  # the runner sleeps between its polls
            seen.append(store.open_task(str(out)))
            original(seconds)

        animator.tasks.sleep = sleep_and_look
        animator.animate(image, "pan left", 5, VideoFormat.LANDSCAPE, out)
    created = [t.id for t in runway.created("video")]
    assert len(created) == 1 and seen and set(seen) == {created[0]}
    assert store.open_task(str(out)) == created[0]


def test_a_clip_lost_before_it_was_kept_is_fetched_again_from_its_task(
    runway: FakeRunway, tmp_path: Path
) -> None:
    """The task ended and its clip was downloaded, but the process died before the clip was
    stored (the file went with its machine): the next attempt takes the same task up and
    downloads its output again. Runway made one task, not two."""
    out = tmp_path / "clips" / "scene-03-r1.mp4"
    image = still(tmp_path / "still.png", VideoFormat.LANDSCAPE)
    with ExitStack() as stack:
        animator = _animator(runway, tmp_path / "data", stack)
        first = animator.animate(image, "tilt up", 5, VideoFormat.LANDSCAPE, out)
        out.unlink()
        again = animator.animate(image, "tilt up", 5, VideoFormat.LANDSCAPE, out)
    assert out.is_file()
    assert [t.id for t in runway.created("video")] == [first.request_id]
    assert again.request_id == first.request_id and again.attempts == 0


def test_a_wait_ended_by_a_stopping_process_leaves_its_task_running_and_recorded(
    runway: FakeRunway, tmp_path: Path
) -> None:
    """The process is told to stop while its clip renders: the wait ends (ProcessStopping)
    with the task neither cancelled nor forgotten, its record left for the cancellation hook
    (a cancelled run) or the run's next attempt (any other stop)."""
    store = runtime().store
    out = tmp_path / "clips" / "scene-04-r1.mp4"
    image = still(tmp_path / "still.png", VideoFormat.LANDSCAPE)

    def stopping(seconds: float) -> None:
        raise ProcessStopping("the process is stopping")

    with ExitStack() as stack:
        animator = _animator(runway, tmp_path / "data", stack)
        animator.tasks.sleep = stopping
        with pytest.raises(ProcessStopping):
            animator.animate(image, "pan right", 5, VideoFormat.LANDSCAPE, out)
    [task] = runway.created("video")
    assert not task.cancelled and runway.calls("DELETE") == []
    assert store.open_task(str(out)) == task.id


@pytest.fixture(scope="module")
def openai_images() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=OPENAI_KEY) as fake:
        yield fake


@pytest.fixture(scope="module")
def runway_served(
    prefect_server: str, openai_images: FakeOpenAI
) -> Iterator[tuple[FakeRunway, Server]]:
    """The deployments served with OpenAI drawing the pictures and Runway animating the clips
    (fakes on 127.0.0.1)."""
    with FakeRunway() as fake:
        server = Server(prefect_server, env={
            "IMAGE_PROVIDER": "openai", "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_BASE_URL": openai_images.base_url,
            "VIDEO_PROVIDER": "runway", "RUNWAY_API_KEY": FakeRunway.API_KEY,
            "RUNWAYML_BASE_URL": fake.url, "RUNWAY_POLL_SECONDS": "0.2",
            "RUNWAY_CONCURRENCY": "20",
        })
        server.start()
        try:
            yield fake, server
        finally:
            server.kill()


def _clips_in_flight(fake: FakeRunway, task_seconds: float, prompt: str) -> UUID:
    """A job whose ten clip tasks all run on Runway now (each for `task_seconds`)."""
    fake.task_seconds = {"video": task_seconds}
    before = len(fake.created("video"))
    job_id = new_job(prompt)
    run_deployment("make-video/make-video",
                   parameters={"job_id": str(job_id), "auto_approve": True}, timeout=0)
    wait_for(lambda: len(fake.created("video")) == before + 10, timeout=240,
             what="ten clip tasks on Runway")
    # Written ahead: a task Runway made whose id the process had no time to record is a
    # create whose answer was lost (the ledger counts it as possibly paid).
    job_dir = str(runtime().media.job_dir(job_id))
    mine = fake.created("video")[before:]
    wait_for(lambda: written_ahead_or_fetched(runtime().store.open_tasks(job_dir), fake, mine),
             timeout=60, what="the ten tasks written ahead")
    return job_id


def _cancel_as_the_chat_does(job_id: UUID) -> None:
    """`/cancel`: the run is cancelled, then the job. The run must have ended Cancelled by its
    process and its runner, not been set so by cancel_run's fallback after 20 s: a process
    that waited on (a Runway render, an OpenAI answer) would end only when Prefect killed it
    after its 30 s grace, and the runner runs the cancellation hook only then."""
    store = runtime().store
    run_id = store.job(job_id).flow_run_id
    assert run_id is not None
    cancel_run(run_id, reason="cancelled in the chat")
    store.update_job(job_id, status="cancelled", stage="cancelled")
    with api_client() as client:
        final = client.read_flow_run(run_id).state
    assert final.type.value == "CANCELLED"
    assert final.message != "cancelled in the chat", "the run had to be set Cancelled"


def test_a_run_killed_mid_clips_pays_for_ten_runway_tasks(
    runway_served: tuple[FakeRunway, Server],
) -> None:
    """kill -9 of the flow-run process while ten 8-second Runway clips run: the crashed run
    is retried, takes up the ten tasks it had started, and the job is delivered with exactly
    ten clip tasks created on Runway and ten clips in the ledger."""
    fake, server = runway_served
    store = runtime().store
    before = len(fake.created("video"))
    job_id = _clips_in_flight(fake, 8.0, "How coral reefs grow")
    for pid in server.run_processes(store.job(job_id).flow_run_id):
        os.kill(int(pid), signal.SIGKILL)
    wait_for(lambda: store.job(job_id).status == "delivered", timeout=300,
             what="delivery after the crash")
    assert len(fake.created("video")) == before + 10
    assert store.call_counts(job_id) == ONE_VIDEO_CALLS
    # Every record is crossed off once its clip is in the media store.
    assert store.open_tasks(str(runtime().media.job_dir(job_id))) == []


def test_cancel_mid_clips_deletes_the_runway_tasks(
    runway_served: tuple[FakeRunway, Server],
) -> None:
    """Cancelling the run (as /cancel does) while ten 60-second clips run: the run's process
    stops at once and the run ends Cancelled, and all ten tasks are cancelled on Runway; none
    is in the ledger and none is left open."""
    fake, _ = runway_served
    store = runtime().store
    job_id = _clips_in_flight(fake, 60.0, "How octopuses change colour")
    _cancel_as_the_chat_does(job_id)
    mine = fake.created("video")[-10:]
    wait_for(lambda: all(t.cancelled for t in mine), timeout=60, what="the tasks cancelled")
    assert store.open_tasks(str(runtime().media.job_dir(job_id))) == []
    assert "clips" not in store.call_counts(job_id)


def test_cancel_while_a_picture_is_drawn_does_not_wait_for_it(
    runway_served: tuple[FakeRunway, Server], openai_images: FakeOpenAI,
) -> None:
    """Cancelling while OpenAI draws the first picture (an answer minutes away): the run's
    process does not wait for it, the run ends Cancelled through its runner, and the request
    is in the ledger as possibly paid, since OpenAI may bill it."""
    store = runtime().store
    asked = len(openai_images.requests_to("images/generations"))
    openai_images.delay("images/generations", 600)
    job_id = new_job("How snowflakes form")
    run_deployment("make-video/make-video",
                   parameters={"job_id": str(job_id), "auto_approve": True}, timeout=0)
    wait_for(lambda: len(openai_images.requests_to("images/generations")) > asked,
             timeout=240, what="the first picture asked for")
    _cancel_as_the_chat_does(job_id)
    wait_for(lambda: [c.outcome for c in store.calls(job_id, "images")] == ["possibly_paid"],
             timeout=60, what="the picture asked for in the ledger as possibly paid",
             explain=lambda: str([c.outcome for c in store.calls(job_id, "images")]))
    assert len(openai_images.requests_to("images/generations")) == asked + 1
