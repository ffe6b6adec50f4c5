"""What a person reads about failed scenes and stages: one line, the provider's words once."""

from __future__ import annotations

import uuid

import pytest

from cli.run_log import run_page
from videobot.db.models import VideoJob, VideoSegment
from videobot.ledger import short_reason
from videobot.messages import media_text, scene_span, stage_failure_text
from videobot.providers.base import ProviderError

REFUSED = "OpenAI refused access (403): Your organization must be verified"


def _segments(errors: dict[int, str], kind: str = "images") -> list[VideoSegment]:
    """Ten scenes; those in `errors` (1-based) failed with that reason, the rest are ready."""
    field = "image_status" if kind == "images" else "video_status"
    return [
        VideoSegment(
            index=i, section=0, text="t", image_prompt=f"prompt {i + 1}", motion_prompt="pan",
            image_path=f"/media/scene-{i + 1}.png", video_path=f"/media/scene-{i + 1}.mp4",
            **{field: "failed" if i + 1 in errors else "ready"}, error=errors.get(i + 1),
        )
        for i in range(10)
    ]


def test_ten_identical_reasons_are_told_once() -> None:
    """Ten scenes refused for the same reason give one line with that reason once."""
    text = stage_failure_text("images", _segments({n: REFUSED for n in range(1, 11)}))
    assert text == f"the images stage failed for all 10 scenes: {REFUSED}"


def test_distinct_reasons_name_their_scenes() -> None:
    """Each distinct reason comes once, after the scenes it stopped, in ranges."""
    errors = {n: REFUSED for n in (1, 2, 3, 4, 6)} | {n: "Runway is busy" for n in (5, 7, 8)}
    text = stage_failure_text("clips", _segments(errors, "clips"))
    assert text == (
        f"the clips stage failed for 8 of 10 scenes: scenes 1–4, 6: {REFUSED}; "
        "scenes 5, 7–8: Runway is busy"
    )
    assert "\n" not in text


def test_some_scenes_with_one_reason() -> None:
    """Some scenes failed for one reason: the line names those scenes."""
    text = stage_failure_text("images", _segments({3: REFUSED, 7: REFUSED}))
    assert text == f"the images stage failed for scenes 3, 7: {REFUSED}"
    assert scene_span([9]) == "scene 9"


def test_gate_text_says_how_to_go_on_when_nothing_worked() -> None:
    """The gate for ten failed images lists every reason and the ways forward, no approve."""
    text = media_text("images", _segments({n: REFUSED for n in range(1, 11)}), None, 1)
    assert text.count(f"FAILED: {REFUSED}") == 10
    assert "contact sheet" not in text
    assert "No scene has an image: redo (r 1-10), edit a scene's prompt (e 1 <new prompt>)" in text
    partial = media_text("clips", _segments({2: "x", 3: "x", 9: "y"}, "clips"), None, 2)
    assert "Scenes 2–3, 9 have no clip: redo (r 2-3,9), edit a scene's motion (e 2" in partial


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError("a contact sheet needs at least one image"),
         "a contact sheet needs at least one image"),
        (FileNotFoundError(2, "No such file or directory", "/srv/videobot/data/j/speech.wav"),
         "[Errno 2] No such file or directory: 'speech.wav'"),
        (RuntimeError("see https://platform.openai.com/settings/organization/general"),
         "see https://platform.openai.com/settings/organization/general"),
        (ProviderError(f"{REFUSED}\n  now", permanent=True), f"{REFUSED} now"),
        (KeyError(), "an unexpected error (the run's log has the details)"),
    ],
)
def test_short_reason_has_no_class_names_or_directories(
    error: BaseException, expected: str
) -> None:
    """A reason is the message in one line: no exception class, no directory, URLs kept."""
    assert short_reason(error) == expected


def test_run_page_follows_the_api_the_run_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's UI link: PREFECT_UI_URL when set, else the API URL without /api; for a
    temporary server, the address `prefect server start` serves."""
    run_id = uuid.uuid4()
    job = VideoJob(flow_run_id=run_id, prefect_api_url="http://10.0.0.5:4300/api")
    assert run_page(job, temporary_server=False) == f"http://10.0.0.5:4300/runs/flow-run/{run_id}"
    assert run_page(job, temporary_server=True) == f"http://127.0.0.1:4200/runs/flow-run/{run_id}"
    assert run_page(VideoJob(flow_run_id=None), temporary_server=False) is None
    from prefect.settings import PREFECT_UI_URL, temporary_settings

    with temporary_settings({PREFECT_UI_URL: "https://prefect.example.org"}):
        assert run_page(job, temporary_server=False) == (
            f"https://prefect.example.org/runs/flow-run/{run_id}"
        )
