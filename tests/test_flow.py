"""The whole `make-video` flow with the offline providers, under a real Prefect server."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest

from flows.make_video import make_video
from orchestration.runs import api_client
from tasks.runtime import runtime
from tests.helpers import new_job
from videobot.formats import VideoFormat, frame_size
from videobot.media import audio_rms, measure_loudness, probe

ONE_VIDEO_CALLS = {"script": 1, "segments": 1, "images": 10, "motion": 1, "clips": 10,
                   "narration": 3}


@pytest.mark.parametrize(
    ("fmt", "prompt", "language", "size"),
    [
        ("16:9", "How volcanoes work", "en", (1280, 720)),
        ("9:16", "Почему небо голубое", "ru", (720, 1280)),
        ("1:1", "Why cats purr", "en", (960, 960)),
    ],
)
def test_offline_video_end_to_end(
    prefect_server: str, fmt: str, prompt: str, language: str, size: tuple[int, int]
) -> None:
    """Auto-approved, a prompt becomes a 50 s H.264/AAC MP4 with speech in every section."""
    store = runtime().store
    job_id = new_job(prompt, fmt, language)
    final = make_video(job_id, "terminal", True)
    path = Path(runtime().files.locate(final))  # the default store: a local folder

    info = probe(path)
    assert info.duration == pytest.approx(50.0, abs=0.1)
    assert (info.video_codec, info.audio_codec, info.pix_fmt) == ("h264", "aac", "yuv420p")
    assert (info.width, info.height) == frame_size(VideoFormat(fmt), runtime().settings.video_scale)
    assert frame_size(VideoFormat(fmt)) == size
    assert info.size_bytes <= 50 * 1024 * 1024
    intro, main, outro = audio_rms(path, [(0.5, 10.0), (15.5, 28.0), (35.5, 45.0)])
    assert min(intro, main, outro) > 0.01, "each section has narration"

    job = store.job(job_id)
    assert (job.status, job.stage, job.final_path) == ("delivered", "delivered", final)
    assert job.flow_run_name == f"video-{str(job_id)[:8]}"
    assert store.call_counts(job_id) == ONE_VIDEO_CALLS
    assert all(s.image_status == s.video_status == "ready" for s in store.segments(job_id))

    loudness = measure_loudness(path)
    assert loudness["I"] == pytest.approx(-14.0, abs=1.0) and loudness["Peak"] <= -1.0
    assert set(job.word_timings or {}) == {"intro", "main", "outro"}
    srt = Path(runtime().files.locate(job.captions_path or ""))
    assert srt.parent == path.parent and srt.name == "captions.srt"
    cues = srt.read_text(encoding="utf-8").strip().split("\n\n")
    spoken = " ".join(" ".join(cue.splitlines()[2:]) for cue in cues).split()
    script = store.script_of(job)
    assert script is not None and spoken == " ".join(script.parts()).split()


def test_captions_off_leaves_the_clips_copied(prefect_server: str) -> None:
    """A job whose person turned captions off gets no .srt and no text burned in."""
    store = runtime().store
    job_id = new_job("How tides work")
    store.update_job(job_id, captions=False)
    path = Path(runtime().files.locate(make_video(job_id, "terminal", True)))
    job = store.job(job_id)
    assert job.captions_path is None and not (path.parent / "captions.srt").exists()
    assert probe(path).duration == pytest.approx(50.0, abs=0.1)


@pytest.fixture(scope="module")
def delivered(prefect_server: str) -> tuple[UUID, str]:
    """One auto-approved job, delivered: its id and its video's key."""
    job_id = new_job("How snowflakes form")
    return job_id, make_video(job_id, "terminal", True)


def test_replaying_a_finished_job_calls_no_provider(delivered: tuple[UUID, str]) -> None:
    """Running the flow again for a delivered job returns its video with zero new calls."""
    store = runtime().store
    job_id, first = delivered
    calls_before = len(store.calls(job_id))
    again = make_video(job_id, "terminal", True)
    assert again == first
    assert len(store.calls(job_id)) == calls_before


def test_the_prefect_ui_shows_script_scenes_and_video(delivered: tuple[UUID, str]) -> None:
    """A finished run leaves artifacts, keyed by gate and round: the script, each media gate's
    contact sheet (a picture in the page) and scenes table, and the video link."""
    job_id, _ = delivered
    short = str(job_id)[:8]
    keys = [f"script-r1-{short}", f"images-r1-{short}", f"images-r1-scenes-{short}",
            f"clips-r1-{short}", f"clips-r1-scenes-{short}", f"video-{short}"]
    with api_client() as client:
        found = client.request("POST", "/artifacts/latest/filter", json={
            "artifacts": {"key": {"any_": keys}}, "limit": 10, "offset": 0,
        }).json()
    by_key = {a["key"]: a for a in found}
    assert set(by_key) == set(keys)
    assert "How snowflakes form" in by_key[f"script-r1-{short}"]["data"]
    assert by_key[f"video-{short}"]["data"].startswith("[")  # a markdown link to the file
    assert "data:image/jpeg;base64," in by_key[f"images-r1-{short}"]["data"]
    table = by_key[f"images-r1-scenes-{short}"]["data"]
    assert "image prompt" in table and "cost usd" in table
