"""The whole pipeline with the OpenAI and Runway providers, through their real SDKs, against
fake servers on 127.0.0.1 that fail 30% of requests transiently."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest

from tasks.runtime import runtime
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.runway_server import FakeRunway
from tests.test_flow import ONE_VIDEO_CALLS
from videobot.formats import VideoFormat, frame_size
from videobot.media import audio_rms, probe

REPO = Path(__file__).resolve().parents[1]
OPENAI_KEY = "sk-test-" + "x" * 24


Fakes = tuple[FakeOpenAI, FakeRunway]


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    with FakeOpenAI(fault_rate=0.3, seed=3, api_key=OPENAI_KEY) as openai, FakeRunway() as runway:
        runway.fault_rate = 0.3
        runway.seed(5)
        yield openai, runway


def _make(prefect_server: str, fakes: Fakes, *args: str) -> str:
    openai, runway = fakes
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_server,
        "SCRIPT_PROVIDER": "openai", "IMAGE_PROVIDER": "runway", "VIDEO_PROVIDER": "runway",
        "TTS_PROVIDER": "openai", "STT_PROVIDER": "openai",
        # A model outside the dated table of shutdowns, so the run never depends on the date.
        "OPENAI_TTS_MODEL": "speech-model-under-test",
        "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": openai.base_url,
        "RUNWAY_API_KEY": FakeRunway.API_KEY, "RUNWAYML_BASE_URL": runway.url,
        # 30% faults and the most attempts the settings allow, so that a request failing
        # every attempt is rare enough (0.3^10: 6 in a million; at 8 it was 66, and a video
        # makes about a hundred requests), and no real waiting.
        "PROVIDER_ATTEMPTS": "10", "PROVIDER_BACKOFF_SECONDS": "0.01",
        "PROVIDER_BACKOFF_MAX_SECONDS": "0.05", "RUNWAY_POLL_SECONDS": "0.05",
    }
    done = subprocess.run(
        [sys.executable, "-m", "cli", "make", *args, "--auto-approve"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert OPENAI_KEY not in done.stdout + done.stderr
    assert FakeRunway.API_KEY not in done.stdout + done.stderr
    return done.stdout


def _job_id(output: str) -> str:
    line = next(x for x in output.splitlines() if x.startswith("Job "))
    return line.split()[1]


@pytest.fixture(scope="module")
def spoken_video(
    prefect_server: str, fakes: Fakes, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """One video made from an ogg voice note in 9:16, every provider flaky: what
    `videobot make` printed."""
    openai, _ = fakes
    openai.transcript = "How do bees make honey?"
    openai.transcript_language = "en"
    voice = tmp_path_factory.mktemp("voice") / "note.ogg"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
         "sine=frequency=300:duration=3", "-c:a", "libopus", str(voice)], check=True,
    )
    return _make(prefect_server, fakes, "--voice", str(voice), "--format", "9:16")


def test_flaky_providers_still_make_the_video_and_pay_once_per_artefact(
    spoken_video: str, fakes: Fakes
) -> None:
    """With 30% of requests failing, the video is made; the ledger has one success each."""
    store = runtime().store
    job = store.find_job(_job_id(spoken_video))
    assert job.status == "delivered"

    final = Path(runtime().files.locate(job.final_path or ""))
    info = probe(final)
    assert info.duration == pytest.approx(50.0, abs=0.1)
    size = frame_size(VideoFormat.PORTRAIT, runtime().settings.video_scale)
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (*size, "h264", "aac")
    assert min(audio_rms(final, [(1, 10), (16, 28), (36, 45)])) > 0.01

    ok = [c for c in store.calls(job.id) if c.outcome == "ok"]
    assert Counter(c.stage for c in ok) == {**ONE_VIDEO_CALLS, "intake": 1}
    for stage in ("images", "clips"):
        assert sorted(c.segment for c in ok if c.stage == stage) == list(range(10))
    assert {c.provider for c in ok} == {"openai", "runway"}
    assert all(c.request_id for c in ok)
    assert job.cost_usd == pytest.approx(sum(c.cost_usd for c in ok)) and job.cost_usd > 0

    openai, runway = fakes
    assert any(r.fault for r in openai.requests), "faults were injected"
    assert any(r.status >= 500 or r.status == 429 for r in runway.requests)
    assert openai.requests_to("audio/speech")[0].json["model"] == "speech-model-under-test"


def test_voice_prompt_is_transcribed_into_the_script(spoken_video: str, fakes: Fakes) -> None:
    """An ogg voice note is transcribed once; its text is what the script is written from."""
    openai, _ = fakes
    assert "You said: “How do bees make honey?”" in spoken_video
    job = runtime().store.find_job(_job_id(spoken_video))
    assert (job.prompt, job.language, job.prompt_kind) == ("How do bees make honey?", "en", "voice")
    uploads = openai.requests_to("audio/transcriptions")
    assert uploads and all(r.files["file"].filename.endswith(".ogg") for r in uploads)
    first_script_request = next(
        r for r in openai.requests_to("responses") if r.status == 200
    )
    assert "How do bees make honey?" in str(first_script_request.json)
