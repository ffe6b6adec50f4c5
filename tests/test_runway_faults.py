"""Runway faults: what is retried, how long it waits, and what fails for good, through the
real `runwayml` SDK talking to a fake Runway server on 127.0.0.1.

Backoff and polling sleep on an injected clock; only the timeout test waits for real, for one
client timeout (0.5 s).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import runwayml
from pydantic import SecretStr

from tests.fakes.runway_kit import Kit, still
from tests.fakes.runway_server import DAILY_CAP_BODY, FakeRunway
from videobot.formats import VideoFormat
from videobot.media import probe
from videobot.providers.base import ProviderError
from videobot.providers.faults import Fault
from videobot.providers.runway_api import classify_runway_error, classify_task_failure


def test_server_error_then_success(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A 500 on creation is retried once by our layer only (SDK retries off): attempts 2."""
    runway.fail("/v1/text_to_image", status=500)
    k = kit()
    usage = k.images.make_image("a fox", "", 0, VideoFormat.SQUARE, tmp_path / "s.png")

    assert [c.status for c in runway.calls("POST")] == [500, 200]
    assert usage.attempts == 2 and len(runway.created()) == 1
    assert (tmp_path / "s.png").is_file()


def test_rate_limit_waits_for_retry_after(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A plain 429 is retried after the Retry-After it names."""
    runway.fail("/v1/text_to_image", status=429, headers={"Retry-After": "7"})
    k = kit()
    usage = k.images.make_image("a fox", "", 0, VideoFormat.LANDSCAPE, tmp_path / "s.png")

    assert k.time.sleeps[0] == 7.0
    assert usage.attempts == 2


def test_timeout_then_success(kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path) -> None:
    """A reply slower than the client timeout is retried as transient."""
    runway.fail("/v1/text_to_image", delay=2.0)
    usage = kit(provider_timeout_seconds=0.5).images.make_image(
        "a fox", "", 0, VideoFormat.LANDSCAPE, tmp_path / "s.png"
    )

    assert usage.attempts == 2
    assert len(runway.calls("POST")) == 2
    assert (tmp_path / "s.png").is_file()


def test_safety_failure_is_not_retried(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A task FAILED with SAFETY.* is a permanent 'safety' error after one task."""
    runway.script_task(status="FAILED", failure_code="SAFETY.INPUT.TEXT")
    with pytest.raises(ProviderError) as caught:
        kit().images.make_image("bad", "", 0, VideoFormat.LANDSCAPE, tmp_path / "s.png")

    assert (caught.value.kind, caught.value.permanent) == ("safety", True)
    assert "content filter" in caught.value.reason
    assert len(runway.created()) == 1
    assert not (tmp_path / "s.png").exists()


def test_internal_failure_makes_a_new_task(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A task FAILED with INTERNAL.* is retried with a new task."""
    runway.script_task(status="FAILED", failure_code="INTERNAL.BAD_OUTPUT.CODE01")
    fmt = VideoFormat.PORTRAIT
    usage = kit().animator.animate(still(tmp_path / "s.png", fmt), "sway", 5.0, fmt,
                                   tmp_path / "c.mp4")

    first, second = runway.created()
    assert usage.attempts == 2 and usage.request_id == second.id
    assert probe(tmp_path / "c.mp4").duration == 5.0


def test_cancelled_task_fails_at_once(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A CANCELLED task is a permanent error on the first poll that sees it, no spinning."""
    runway.script_task(status="CANCELLED")
    with pytest.raises(ProviderError, match="cancelled on Runway") as caught:
        kit().images.make_image("a fox", "", 0, VideoFormat.LANDSCAPE, tmp_path / "s.png")

    assert caught.value.permanent
    assert len(runway.calls("GET", "/v1/tasks/")) == 1
    assert len(runway.created()) == 1


def test_queued_task_is_polled_with_growing_delays_and_a_running_one_every_5_s(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A THROTTLED or PENDING task is polled at 5 s, growing to a 20 s cap; once it runs,
    every 5 s again, so its end is seen within 5 s."""
    runway.polls_to_finish = 4  # PENDING, then RUNNING for three polls
    runway.script_task(throttled_polls=5)
    k = kit(runway_poll_seconds=5.0)
    k.images.make_image("a fox", "", 0, VideoFormat.LANDSCAPE, tmp_path / "s.png")

    statuses = [c.status for c in runway.calls("GET", "/v1/tasks/")]
    assert len(statuses) == 5 + 4 + 1
    assert k.time.sleeps == [5.0, 7.5, 11.25, 16.875, 20.0, 20.0, 20.0, 5.0, 5.0, 5.0]


def test_task_queued_past_max_wait_is_cancelled(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A task still THROTTLED at the wait limit is deleted on Runway and fails as transient."""
    runway.script_task(throttled_polls=10**6)
    k = kit(runway_poll_seconds=5.0, runway_max_wait_seconds=60.0)
    with pytest.raises(ProviderError, match="queued for 60 s") as caught:
        k.images.make_image("a fox", "", 0, VideoFormat.LANDSCAPE, tmp_path / "s.png")

    assert (caught.value.kind, caught.value.permanent) == ("transient", False)
    (task,) = runway.created()
    assert [c.path for c in runway.calls("DELETE")] == [f"/v1/tasks/{task.id}"]
    assert task.cancelled and k.time.now == 60.0


def test_daily_cap_stops_after_one_request(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A 429 saying the daily limit is reached is a 'daily_cap' error, not retried."""
    runway.fail("/v1/image_to_video", status=429, body=DAILY_CAP_BODY,
                headers={"Retry-After": "3600"})
    fmt = VideoFormat.LANDSCAPE
    k = kit()
    with pytest.raises(ProviderError) as caught:
        k.animator.animate(still(tmp_path / "s.png", fmt), "sway", 5.0, fmt, tmp_path / "c.mp4")

    assert caught.value.kind == "daily_cap"
    assert len(runway.requests) == 1 and k.time.sleeps == []


def test_bad_key_is_permanent_and_not_repeated(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A rejected key fails at once, and the error never contains the key."""
    secret = "key_" + "f" * 128
    with pytest.raises(ProviderError) as caught:
        kit(runwayml_api_secret=SecretStr(secret)).images.make_image(
            "a fox", "", 0, VideoFormat.LANDSCAPE, tmp_path / "s.png"
        )

    assert caught.value.permanent and "RUNWAYML_API_SECRET" in caught.value.reason
    assert secret not in str(caught.value) and len(runway.requests) == 1


def test_poll_and_download_faults_do_not_make_new_tasks(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """A failed poll or download is retried on the same task, never paid twice."""
    runway.fail("/v1/tasks/*", status=502)
    runway.fail("/outputs/*", status=503)
    usage = kit().images.make_image("a fox", "", 0, VideoFormat.LANDSCAPE, tmp_path / "s.png")

    assert usage.attempts == 1 and len(runway.created()) == 1
    assert [c.status for c in runway.calls("GET", "/outputs/")] == [503, 200]


def test_thirty_percent_faults_still_deliver(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """With 30 % of requests failing, every image and clip arrives, one task each."""
    runway.fault_rate = 0.3
    runway.seed(11)
    k = kit(provider_attempts=6)
    fmt = VideoFormat.LANDSCAPE
    for n in range(4):
        k.images.make_image(f"scene {n}", "", n, fmt, tmp_path / f"s{n}.png")
    for n in range(2):
        k.animator.animate(tmp_path / f"s{n}.png", "drift", 5.0, fmt, tmp_path / f"c{n}.mp4")

    assert len(runway.created()) == 6
    assert sum(r.status >= 429 for r in runway.requests) >= 3
    assert all(probe(tmp_path / f"c{n}.mp4").duration == 5.0 for n in range(2))


@pytest.mark.parametrize(
    ("code", "fault"),
    [
        ("SAFETY.INPUT.TEXT", Fault.SAFETY),
        ("SAFETY.OUTPUT.VIDEO", Fault.SAFETY),
        ("INPUT_PREPROCESSING.SAFETY.TEXT", Fault.SAFETY),
        ("INTERNAL.BAD_OUTPUT.CODE01", Fault.TRANSIENT),
        ("INPUT_PREPROCESSING.INTERNAL", Fault.TRANSIENT),
        ("ASSET.INVALID", Fault.PERMANENT),
        (None, Fault.PERMANENT),
    ],
)
def test_task_failure_codes(code: str | None, fault: Fault) -> None:
    """Failure codes: SAFETY refuses, INTERNAL is worth another task, the rest is permanent."""
    assert classify_task_failure(code, "x").fault is fault


@pytest.mark.parametrize(
    ("status", "fault"),
    [(400, Fault.PERMANENT), (401, Fault.PERMANENT), (403, Fault.PERMANENT),
     (404, Fault.PERMANENT), (422, Fault.PERMANENT), (408, Fault.TRANSIENT),
     (409, Fault.TRANSIENT), (429, Fault.TRANSIENT), (500, Fault.TRANSIENT),
     (503, Fault.TRANSIENT)],
)
def test_http_status_classes(status: int, fault: Fault) -> None:
    """HTTP statuses map to transient or permanent as Runway's error table says."""
    request = httpx.Request("POST", "https://api.dev.runwayml.com/v1/text_to_image")
    response = httpx.Response(status, request=request, headers={"retry-after-ms": "1500"})
    exc = runwayml.APIStatusError("x", response=response, body={"error": "No."})
    found = classify_runway_error(exc)
    assert found.fault is fault
    if fault is Fault.TRANSIENT:
        assert found.retry_after == 1.5


def test_a_task_whose_polls_keep_failing_is_cancelled(
    kit: Callable[..., Kit], runway: FakeRunway, tmp_path: Path
) -> None:
    """Polls that fail past every attempt give the scene up, and its task is cancelled on
    Runway instead of left running (and charging) for an output no one fetches."""
    runway.fail("/v1/tasks/*", status=502, times=100, method="GET")
    with pytest.raises(ProviderError):
        kit(provider_attempts=2).images.make_image(
            "a fox", "", 0, VideoFormat.LANDSCAPE, tmp_path / "s.png"
        )
    created = runway.created()
    assert created and all(t.cancelled for t in created)
    assert [c.status for c in runway.calls("DELETE", "/v1/tasks/")] == [204] * len(created)
