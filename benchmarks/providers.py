"""Image and clip stage wall times of one whole video under a Runway concurrency cap C.

Run: .venv/bin/python benchmarks/providers.py [--caps 1,2,5,10] [--image-seconds 2]
         [--clip-seconds 5] [--poll-seconds 0.05] [--prefect-database postgresql+asyncpg://...]

Each run is `videobot make ... --auto-approve` in its own subprocess, against fake servers on
127.0.0.1 driven by the real SDKs (tests/fakes): Runway for the images and clips, whose tasks
take --image-seconds / --clip-seconds of wall time on the server, and OpenAI, without latency,
for the script, the narration and the transcription. No faults are injected. One Prefect
server (videobot's, as `videobot up` runs it: slot waits capped at 0.5 s, its own writes
batched, a write refused for a conflict carried out again inside; a temporary SQLite
database, or --prefect-database) serves every run; each sets RUNWAY_CONCURRENCY=C, which
`videobot make` writes into the `provider-runway` global concurrency limit at start-up. That
limit is deleted before each run, so the slot statistics Prefect keeps on it (average
occupancy, denied slots) do not carry from one C to the next.

Columns, per stage:
  ledger   first call start (provider_calls.created_at - latency_ms: the row is written when
           the call returns) to the last call's created_at; the number compared with ideal;
  prefect  first task run start to last task run end (Prefect's task-run times): adds the
           wait for a slot before the first call, the slot release after the last, and the
           tasks' own bookkeeping;
  ideal    the stage's waves x the task latency: ceil(10 / C) for the clips; for the images
           1 + ceil(9 / C), since the first scene is drawn first and is a reference of the
           other nine (one look across the scenes);
  call     median latency of one call (task latency + polling granularity + download);
  slot use sum of call latencies / (C x ledger time): 1.00 means no slot ever stood idle;
  refused  tries of the whole video's requests the database refused (its log's count).
On a SQLite-backed Prefect server a burst of task runs (nine scenes starting at once) makes
writes meet: a slot request reads, then writes, and a write committed in between makes
Prefect's app refuse it with 503 ("database is locked"). `prefect server start` hands that to
the client, which asks again only 2 s later (benchmarks/prefect_writes.py); videobot's server
carries it out again within milliseconds (orchestration/prefect_server.py). On PostgreSQL none
are refused. Compare with --prefect-database.
Last, the paid calls of one video by stage, and of one more made from a voice note (a
`--voice` ogg made with ffmpeg, STT_PROVIDER=openai), which adds one transcription.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from tests.fakes.runway_server import FakeRunway  # noqa: E402
from tests.fakes.runway_tasks import mp4, png  # noqa: E402
from tests.serving import PrefectServer  # noqa: E402
from videobot.db.engine import Database  # noqa: E402
from videobot.db.models import ProviderCall  # noqa: E402
from videobot.db.store import JobStore  # noqa: E402
from videobot.media.ffmpeg import run_ffmpeg  # noqa: E402

OPENAI_KEY = "sk-bench-" + "x" * 24
SCENES = 10
PROMPT = "How volcanoes work"
ONE_VIDEO = {"script": 1, "segments": 1, "images": 10, "motion": 1, "clips": 10, "narration": 3}
VOICE_VIDEO = {"intake": 1, **ONE_VIDEO}
STAGE_NAMES = {"intake": "transcription", "segments": "segment plan", "motion": "motion plan"}
TASK_PREFIX = {"images": "image-", "clips": "clip-"}  # task run names: image-scene-03-r1
RETRYABLE = b"Encountered retryable exception in request"  # the server's log line for a 503


@dataclass
class Bench:
    prefect_url: str
    server_log: Path
    openai: FakeOpenAI
    runway: FakeRunway
    store: JobStore
    data_dir: Path
    poll_seconds: float
    show_calls: bool = False


@dataclass
class StageTime:
    ledger: float
    prefect: float
    median_call: float
    slot_use: float


def make_video(bench: Bench, cap: int, *args: str) -> tuple[UUID, float]:
    """One `videobot make --auto-approve` in a subprocess; returns the job id and its time."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDIA_ROOT")},
        "DATA_DIR": str(bench.data_dir),
        # Flow results go with the rest of the scratch data, not into ~/.prefect.
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(bench.data_dir / "prefect-results"),
        "PREFECT_API_URL": bench.prefect_url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING", "VIDEOBOT_NO_PROMPT": "1",
        "SCRIPT_PROVIDER": "openai", "TTS_PROVIDER": "openai", "STT_PROVIDER": "openai",
        "IMAGE_PROVIDER": "runway", "VIDEO_PROVIDER": "runway",
        "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": bench.openai.base_url,
        "RUNWAY_API_KEY": FakeRunway.API_KEY, "RUNWAYML_BASE_URL": bench.runway.url,
        "RUNWAY_CONCURRENCY": str(cap), "RUNWAY_POLL_SECONDS": str(bench.poll_seconds),
        # No faults are injected; should one happen anyway, its retry costs no real time.
        "PROVIDER_BACKOFF_SECONDS": "0.01", "PROVIDER_BACKOFF_MAX_SECONDS": "0.05",
    }
    _reset_runway_limit()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "cli", "make", *args, "--format", "16:9",
         "--auto-approve"], cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"videobot make failed (C={cap}):\n{done.stdout[-2000:]}"
                         f"\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("Job "))
    return UUID(line.split()[1]), seconds


def _reset_runway_limit() -> None:
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    from tasks.limits import provider_limit

    with get_client(sync_client=True) as client, contextlib.suppress(ObjectNotFound):
        client.delete_global_concurrency_limit_by_name(provider_limit("runway"))


def stage_times(bench: Bench, job_id: UUID, stage: str, cap: int) -> StageTime:
    calls = [c for c in bench.store.calls(job_id, stage) if c.outcome == "ok"]
    starts = [c.created_at.timestamp() - c.latency_ms / 1000 for c in calls]
    ends = [c.created_at.timestamp() for c in calls]
    span = max(ends) - min(starts)
    latencies = [c.latency_ms / 1000 for c in calls]
    flow_run_id = bench.store.job(job_id).flow_run_id
    assert flow_run_id is not None
    return StageTime(
        ledger=span,
        prefect=_task_span(flow_run_id, TASK_PREFIX[stage]),
        median_call=statistics.median(latencies),
        slot_use=sum(latencies) / (min(cap, len(calls)) * span),
    )


def _task_span(flow_run_id: UUID, prefix: str) -> float:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.ID_DESC, limit=200,
        )
    spans = [(r.start_time, r.end_time) for r in runs if r.name.startswith(prefix)]
    starts = [s for s, e in spans if s and e]
    ends = [e for s, e in spans if s and e]
    if not starts:
        return math.nan
    return (max(ends) - min(starts)).total_seconds()


def call_times(calls: list[ProviderCall], tasks: dict[int, float]) -> str:
    """Each paid call in start order: its scene, when its task run started (Prefect's
    start_time), when the call started, and its latency; times after the stage's first call."""
    timed = sorted(((c.created_at.timestamp() - c.latency_ms / 1000, c.latency_ms / 1000, c)
                    for c in calls if c.outcome == "ok"), key=lambda t: t[0])
    first = timed[0][0] if timed else 0.0
    return " ".join(
        f"s{c.segment + 1}:{tasks.get(c.segment, math.nan) - first:.2f}/{start - first:.2f}"
        f"+{latency:.2f}" for start, latency, c in timed if c.segment is not None)


def task_starts(bench: Bench, job_id: UUID, prefix: str) -> dict[int, float]:
    """When each scene's task run of the stage started (its last round), by scene index."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    flow_run_id = bench.store.job(job_id).flow_run_id
    assert flow_run_id is not None
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), limit=200)
    return {int(r.name.split("-")[2]) - 1: r.start_time.timestamp()  # image-scene-03-r1
            for r in sorted(runs, key=lambda r: r.name)
            if r.name.startswith(prefix) and r.start_time is not None}


def paid_calls(calls: list[ProviderCall]) -> Counter[str]:
    return Counter(c.stage for c in calls if c.outcome == "ok")


def calls_text(counts: Counter[str] | dict[str, int]) -> str:
    order = ["intake", *ONE_VIDEO]
    named = [f"{counts[s]} {STAGE_NAMES.get(s, s)}" for s in order if counts.get(s)]
    extra = [f"{n} {s}" for s, n in counts.items() if s not in order]
    return " + ".join(named + extra)


def ideal_waves(stage: str, cap: int) -> int:
    """Rounds of C calls a stage needs at best: the images wait for the first scene."""
    if stage == "images":
        return 1 + math.ceil((SCENES - 1) / cap)
    return math.ceil(SCENES / cap)


def run(bench: Bench, caps: list[int], latency: dict[str, float]) -> None:
    print(f"fake Runway task latency: images {latency['images']:g} s, clips "
          f"{latency['clips']:g} s; a running task polled every {bench.poll_seconds:g} s; "
          f"{os.cpu_count()} CPUs", flush=True)
    print(f"\n{'C':>3} {'stage':<7}{'ledger':>9}{'prefect':>9}{'ideal':>8}{'ratio':>7}"
          f"{'call':>8}{'slot use':>10}{'video':>9}{'refused':>9}", flush=True)
    counted: list[tuple[int, Counter[str], int]] = []
    for cap in caps:
        bench.runway.task_seconds = {"image": latency["images"], "video": latency["clips"]}
        since = bench.server_log.stat().st_size
        job_id, seconds = make_video(bench, cap, PROMPT)
        writes_refused = refused(bench.server_log, since)
        for stage in ("images", "clips"):
            t = stage_times(bench, job_id, stage, cap)
            ideal = ideal_waves(stage, cap) * latency[stage]
            video = f"{seconds:8.1f}s{writes_refused:9}" if stage == "images" else ""
            print(f"{cap:>3} {stage:<7}{t.ledger:8.2f}s{t.prefect:8.2f}s{ideal:7.1f}s"
                  f"{t.ledger / ideal:7.2f}{t.median_call:7.2f}s{t.slot_use:10.2f}{video}",
                  flush=True)
            if bench.show_calls:
                print("      " + call_times(bench.store.calls(job_id, stage),
                                            task_starts(bench, job_id, TASK_PREFIX[stage])),
                      flush=True)
        calls = bench.store.calls(job_id)
        counted.append((cap, paid_calls(calls), sum(c.outcome != "ok" for c in calls)))
    print("\n(ratio = ledger / ideal; target at most 1.20. video = the whole `videobot make`.)")

    print(f"\npaid calls, one video (target: {calls_text(ONE_VIDEO)}):")
    for cap, counts, failed in counted:
        verdict = "as targeted" if counts == Counter(ONE_VIDEO) else "DIFFERS"
        print(f"  C={cap:<3} {calls_text(counts)} - {verdict}; {failed} failed calls")

    bench.runway.task_seconds = {}  # the count does not depend on latency
    with tempfile.TemporaryDirectory(prefix="voice-") as folder:
        voice = Path(folder) / "note.ogg"
        run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=300:duration=3", "-c:a", "libopus",
                    str(voice)], what="making the voice note")
        job_id, _ = make_video(bench, max(caps), "--voice", str(voice))
    counts = paid_calls(bench.store.calls(job_id))
    verdict = "as targeted" if counts == Counter(VOICE_VIDEO) else "DIFFERS"
    print(f"paid calls, voice prompt (target: {calls_text(VOICE_VIDEO)}):\n"
          f"  {calls_text(counts)} - {verdict}")


@contextlib.contextmanager
def prefect_api(database: str | None, folder: Path) -> Iterator[PrefectServer]:
    """One Prefect server for the whole benchmark (run as `videobot up` runs it); its API URL
    is this process's too. It logs every try its database refuses as one that may be made
    again, so that they can be counted (`refused`)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = database or f"sqlite+aiosqlite:///{folder / 'prefect.db'}"
    server = PrefectServer(url, folder / "home", folder / "server.log")
    server.env.update(PREFECT_API_LOG_RETRYABLE_ERRORS="true", PREFECT_SERVER_LOGGING_LEVEL="ERROR")
    server.start(timeout=120)
    try:
        with temporary_settings({PREFECT_API_URL: server.url}):
            yield server
    finally:
        server.stop()


def refused(log: Path, since: int) -> int:
    """Tries the database refused ("database is locked") after byte `since` of the log."""
    with log.open("rb") as out:
        out.seek(since)
        return out.read().count(RETRYABLE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--caps", default="1,2,5,10", help="RUNWAY_CONCURRENCY values")
    parser.add_argument("--image-seconds", type=float, default=2.0)
    parser.add_argument("--clip-seconds", type=float, default=5.0)
    parser.add_argument("--poll-seconds", type=float, default=0.05,
                        help="RUNWAY_POLL_SECONDS (a running task's poll interval)")
    parser.add_argument("--prefect-database", metavar="URL",
                        help="an existing, empty database for the Prefect server, e.g. "
                        "postgresql+asyncpg://postgres@127.0.0.1/bench (default: temporary SQLite)")
    parser.add_argument("--calls", action="store_true",
                        help="print each image and clip call: scene:task start/call "
                        "start+latency, in seconds after the stage's first call")
    args = parser.parse_args()
    caps = [int(c) for c in args.caps.split(",")]
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    # The fake's media is made once per size on first download; make it now, not in a run.
    png((1280, 720))
    mp4((1280, 720), 5)
    with (
        tempfile.TemporaryDirectory(prefix="providers-bench-") as scratch,
        prefect_api(args.prefect_database, Path(scratch)) as server,
        FakeOpenAI(api_key=OPENAI_KEY) as openai,
        FakeRunway() as runway,
    ):
        data_dir = Path(scratch) / "data"
        data_dir.mkdir()
        db = Database(f"sqlite:///{data_dir / 'videobot.db'}")
        db.migrate()
        bench = Bench(server.url, server.log, openai, runway, JobStore(db), data_dir,
                      args.poll_seconds, args.calls)
        run(bench, caps, {"images": args.image_seconds, "clips": args.clip_seconds})


if __name__ == "__main__":
    main()
