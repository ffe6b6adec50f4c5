"""Every paid call written ahead: the ledger counts what a provider may have billed, crashes
and lost answers included, on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.runway_kit import FakeTime, still
from tests.fakes.runway_server import FakeRunway
from tests.helpers import wait_for
from tests.test_openai_providers import settings_for
from videobot.db.intent_records import CallSite
from videobot.db.store import JobStore
from videobot.formats import VideoFormat
from videobot.ledger import adopt, metered, settle_abandoned
from videobot.providers.base import Usage
from videobot.providers.openai_api import OpenAIImageMaker
from videobot.providers.runway_api import RunwayAnimator, build_download_client, build_runway_client
from videobot.settings import Settings

CLIP = Usage("runway", "gen4_turbo", 25, "credits", 0.25, "task-1")


def _job(store: JobStore) -> uuid.UUID:
    return store.create_job(user_id="u1", prompt="How tides work", language="en", fmt="16:9").id


def _price(stage: str, provider: str, part: str | None) -> Usage:
    return CLIP


def _outcomes(store: JobStore, job_id: uuid.UUID) -> list[str]:
    return sorted(c.outcome for c in store.calls(job_id))


def test_a_call_is_written_ahead_then_settled_with_its_row(store: JobStore) -> None:
    """While the call runs its intent is open; once it returns, the intent is settled in the
    same write as its one ledger row, which names the intent and its round."""
    job_id = _job(store)
    site = CallSite(job_id, "clips", 3, "runway", round=2)
    seen: list[object] = []

    def call() -> tuple[None, Usage]:
        seen.append(store.open_intent(site))
        return None, CLIP

    metered(store, job_id, stage="clips", segment=3, provider="runway", call=call, round_=2)
    assert seen and seen[0] is not None
    assert store.open_intent(site) is None
    [row] = store.calls(job_id)
    assert (row.outcome, row.segment, row.cost_usd) == ("ok", 3, 0.25)
    assert row.details == {"intent": seen[0].key, "round": 2}  # type: ignore[attr-defined]


def test_a_call_cut_short_by_a_crash_and_paid_again_is_possibly_paid(store: JobStore) -> None:
    """An intent a dead process left open, made again by a provider with nothing to take up:
    the ledger has the call and the cut-short try (possibly paid, at the call's price)."""
    job_id = _job(store)
    store.begin_intent(CallSite(job_id, "script", None, "openai"))  # the process that died
    metered(store, job_id, stage="script", segment=None, provider="openai",
            call=lambda: ("script", Usage("openai", "gpt", 900, "tokens", 0.002)))
    assert _outcomes(store, job_id) == ["ok", "possibly_paid"]
    assert store.job(job_id).cost_usd == pytest.approx(0.004)
    assert store.open_intents(job_id) == []


def test_an_output_left_on_disk_is_adopted_with_its_row(store: JobStore) -> None:
    """A call that wrote its file just before its process died gets its one ledger row, at
    the expected price, when the replay keeps the file; a second look writes nothing."""
    job_id = _job(store)
    store.begin_intent(CallSite(job_id, "images", 9, "runway", round=1))
    assert adopt(store, job_id, stage="images", segment=9, expected=_price)
    assert not adopt(store, job_id, stage="images", segment=9, expected=_price)
    [row] = store.calls(job_id)
    assert (row.outcome, row.segment, row.cost_usd) == ("ok", 9, 0.25)
    assert row.details is not None and row.details["adopted"] is True


def test_a_lost_answer_noted_before_a_crash_outlives_the_process(store: JobStore) -> None:
    """A request whose answer never came is counted on the intent at once: the process that
    noted it dies, the replay adopts the output it left, and the ledger still has both."""
    job_id = _job(store)
    key, _ = store.begin_intent(CallSite(job_id, "images", 4, "openai", round=1))
    store.note_on_intent(key, "unanswered")  # then the process died
    assert adopt(store, job_id, stage="images", segment=4, expected=_price)
    assert _outcomes(store, job_id) == ["ok", "possibly_paid"]


def test_calls_in_flight_when_the_job_ended_are_possibly_paid(store: JobStore) -> None:
    """Calls still open when their job ended (cancelled, failed for good) are settled as
    possibly paid, one row each, and counted in the job's cost."""
    job_id = _job(store)
    for scene in (0, 1):
        store.begin_intent(CallSite(job_id, "clips", scene, "runway"))
    assert settle_abandoned(store, job_id, _price) == 2
    assert _outcomes(store, job_id) == ["possibly_paid", "possibly_paid"]
    assert store.job(job_id).cost_usd == pytest.approx(0.5)


@pytest.fixture
def runway() -> Iterator[FakeRunway]:
    with FakeRunway() as server:
        yield server


def _animator(runway: FakeRunway, store: JobStore, stack: ExitStack, tmp_path: Path,
              **overrides: object) -> RunwayAnimator:
    settings = Settings(runwayml_api_secret=SecretStr(FakeRunway.API_KEY),
                        runwayml_base_url=runway.url, data_dir=tmp_path / "data",
                        **overrides)  # type: ignore[arg-type]
    client = stack.enter_context(build_runway_client(settings))
    downloads = stack.enter_context(build_download_client(settings))
    time = FakeTime()
    return RunwayAnimator(client, downloads, settings, sleep=time.sleep, clock=time.clock,
                          journal=store)


def _clip(store: JobStore, job_id: uuid.UUID, animator: RunwayAnimator, tmp_path: Path) -> None:
    image = still(tmp_path / "still.png", VideoFormat.LANDSCAPE)
    out = tmp_path / "clips" / "scene-01-r1.mp4"
    out.parent.mkdir(parents=True, exist_ok=True)
    metered(store, job_id, stage="clips", segment=0, provider="runway", round_=1,
            call=lambda: (None, animator.animate(image, "pan", 5, VideoFormat.LANDSCAPE, out)))


def test_a_runway_task_taken_up_after_a_crash_is_one_paid_call(
    store: JobStore, runway: FakeRunway, tmp_path: Path
) -> None:
    """The dead process wrote its intent and its Runway task: the replay polls that task, and
    Runway and the ledger both show one clip."""
    job_id = _job(store)
    with ExitStack() as stack:
        animator = _animator(runway, store, stack, tmp_path)
        store.begin_intent(CallSite(job_id, "clips", 0, "runway", round=1))
        left = animator.client.image_to_video.create(
            model="gen4_turbo", prompt_image="https://example.com/a.png", ratio="1280:720",
            duration=5,
        ).id
        store.record_task(str(tmp_path / "clips" / "scene-01-r1.mp4"), "runway", left)
        _clip(store, job_id, animator, tmp_path)
    assert [t.id for t in runway.created("video")] == [left]
    assert _outcomes(store, job_id) == ["ok"]


def test_a_runway_task_found_gone_is_recorded_lost(
    store: JobStore, runway: FakeRunway, tmp_path: Path
) -> None:
    """A task the dead process started that Runway no longer has was paid for and cannot be
    taken up: a new one makes the clip, and the ledger keeps the lost one beside it."""
    job_id = _job(store)
    with ExitStack() as stack:
        animator = _animator(runway, store, stack, tmp_path)
        store.begin_intent(CallSite(job_id, "clips", 0, "runway", round=1))
        store.record_task(str(tmp_path / "clips" / "scene-01-r1.mp4"), "runway", "gone-task")
        _clip(store, job_id, animator, tmp_path)
    assert len(runway.created("video")) == 1
    assert _outcomes(store, job_id) == ["lost", "ok"]


def test_a_runway_create_answered_after_the_timeout_is_possibly_paid(
    store: JobStore, runway: FakeRunway, tmp_path: Path
) -> None:
    """Runway answers a create after the client gave up; Runway lists no tasks, so the create
    is sent again: two tasks on Runway, and the ledger shows the clip and the possibly paid
    create, each at a clip's price."""
    job_id = _job(store)
    runway.fail("/v1/image_to_video", delay=2.5)
    with ExitStack() as stack:
        animator = _animator(runway, store, stack, tmp_path,
                             provider_quick_read_timeout_seconds=1.0)
        _clip(store, job_id, animator, tmp_path)
    # The late answer comes after the retry's; the task it made is then on Runway.
    wait_for(lambda: len(runway.created("video")) == 2, timeout=10, what="the late create")
    assert _outcomes(store, job_id) == ["ok", "possibly_paid"]
    assert [c.cost_usd for c in store.calls(job_id)] == [0.25, 0.25]


def test_an_openai_image_answered_after_the_timeout_is_possibly_paid(
    store: JobStore, tmp_path: Path
) -> None:
    """OpenAI answers an image after the client gave up (and would bill it); the retry is
    answered too: two answered requests, and the ledger shows the image and a possibly paid
    request at an image's price."""
    job_id = _job(store)
    with FakeOpenAI() as fake:
        fake.delay("images/generations", 2.5)
        settings = settings_for(fake, provider_read_timeout_seconds=1.0)
        maker = OpenAIImageMaker(settings, sleep=lambda _: None)
        out = tmp_path / "scene.png"
        metered(store, job_id, stage="images", segment=0, provider="openai",
                call=lambda: (None, maker.make_image("a reef", "", 0, VideoFormat.SQUARE, out)))
        # The late answer comes after the retry's.
        wait_for(lambda: all(r.status == 200 for r in fake.requests_to("images/generations")),
                 timeout=10, what="the late answer")
        requests = fake.requests_to("images/generations")
    assert out.is_file()
    assert [r.status for r in requests] == [200, 200]
    assert _outcomes(store, job_id) == ["ok", "possibly_paid"]
    assert [c.cost_usd for c in store.calls(job_id)] == [0.04, 0.04]
