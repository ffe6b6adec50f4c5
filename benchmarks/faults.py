"""Crash and fault runs: videos made while providers fail and flow-run processes are killed.

Run: .venv/bin/python benchmarks/faults.py [--videos 3] [--kills 3] [--fault-rate 0.3]
         [--late-answers 1] [--clip-seconds 4] [--seed 7]

N videos are made one after the other, each a `make-video` run (auto-approved) of the served
deployments (`python -m deployments.serve`) on a Prefect server of its own, against fake
OpenAI and Runway servers on 127.0.0.1 driven by the real SDKs (tests/fakes): the script,
scene plan, motion prompts, images and narration from OpenAI, the clips from Runway (tasks
lasting --clip-seconds). --fault-rate of all provider requests answer 500, 502, 503 or 429;
in each video --late-answers Runway creates and OpenAI images are answered only after the
client gave up (the provider does the work and bills it). K kill -9s of the flow-run process
land at random moments, spread over the videos; the crashed run is scheduled again by the
deployment's automation and carries on.

Printed:
  completed   videos delivered / N;
  paid        provider-side paid calls (OpenAI requests answered 200, Runway tasks created)
              per artefact (a script part, scene plan or motion plan, image, clip or
              narration the ledger has): target exactly 1.00;
  ledger      rows that say paid (ok, lost) and possibly paid (an answer lost, a call a dead
              process had in flight);
  discrepancies  per video and stage, paid calls the ledger does not account for (more than
              its paid and possibly paid rows) plus rows that claim a payment the provider
              did not bill: target 0.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from tests.fakes.runway_server import FakeRunway  # noqa: E402
from tests.serving import PrefectServer, Server, prefect_database  # noqa: E402
from videobot.db.engine import Database  # noqa: E402
from videobot.db.store import JobStore  # noqa: E402

OPENAI_KEY = "sk-bench-" + "x" * 24
TEXT_STAGES = ("script", "segments", "motion")
# Where each stage's paid calls are billed: an OpenAI endpoint or a kind of Runway task.
OPENAI_ENDPOINTS = {"responses": "text", "chat/completions": "text",
                    "images/generations": "images", "audio/speech": "narration"}
RUNWAY_KINDS = {"image": "images", "video": "clips", "speech": "narration"}
LATE_SECONDS = 8.0


@dataclass
class Video:
    job_id: UUID
    status: str = ""
    kills: int = 0
    seconds: float = 0.0
    billed: Counter[str] = field(default_factory=Counter)
    paid_rows: Counter[str] = field(default_factory=Counter)
    possibly_rows: Counter[str] = field(default_factory=Counter)
    artefacts: int = 0

    def discrepancies(self) -> int:
        stages = set(self.billed) | set(self.paid_rows) | set(self.possibly_rows)
        off = 0
        for stage in stages:
            billed, paid = self.billed[stage], self.paid_rows[stage]
            off += max(0, paid - billed) + max(0, billed - paid - self.possibly_rows[stage])
        return off


def billed_by_provider(openai: FakeOpenAI, runway: FakeRunway) -> Counter[str]:
    """Paid calls so far, by the ledger's stage names (text stages together as `text`)."""
    billed: Counter[str] = Counter()
    for request in openai.requests:
        if request.status == 200 and request.endpoint in OPENAI_ENDPOINTS:
            billed[OPENAI_ENDPOINTS[request.endpoint]] += 1
    for task in runway.created():
        billed[RUNWAY_KINDS[task.kind]] += 1
    return billed


def settled(openai: FakeOpenAI) -> bool:
    """Every request the fake received has been answered (a late answer comes after the
    client gave up on it)."""
    return all(r.status is not None or r.fault == "drop" for r in openai.requests)


def wait_for(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def make_video(store: JobStore, served: Server, openai: FakeOpenAI, runway: FakeRunway,
               prompt: str, kills: int, late: int, rng: random.Random) -> Video:
    from prefect.deployments import run_deployment

    for _ in range(late):
        runway.fail("/v1/image_to_video", delay=LATE_SECONDS)
        openai.delay("images/generations", LATE_SECONDS)
    before = billed_by_provider(openai, runway)
    started = time.monotonic()
    job_id = store.create_job(user_id="bench", prompt=prompt, language="en", fmt="16:9").id
    run_deployment("make-video/make-video", timeout=0,
                   parameters={"job_id": str(job_id), "auto_approve": True})
    video = Video(job_id)
    finished = ("delivered", "failed", "cancelled", "expired")
    killed: set[str] = set()
    for _ in range(kills):
        # A random moment of the run: some seconds after a process of it started.
        pids = wait_for(lambda: [p for p in served.children() if p not in killed]
                        or store.job(job_id).status in finished, 300, "the run's process")
        if pids is True:
            break
        time.sleep(rng.uniform(1.0, 30.0))
        for pid in pids:
            try:
                os.kill(int(pid), 9)
                killed.add(pid)
            except ProcessLookupError:
                continue
        if store.job(job_id).status in finished:
            break
        video.kills += 1
    wait_for(lambda: store.job(job_id).status in finished, 900, "the video to end")
    video.seconds = time.monotonic() - started
    wait_for(lambda: settled(openai), 60, "the late answers")
    video.status = store.job(job_id).status
    video.billed = billed_by_provider(openai, runway) - before
    for call in store.calls(job_id):
        stage = "text" if call.stage in TEXT_STAGES else call.stage
        if call.outcome in ("ok", "lost"):
            video.paid_rows[stage] += 1
        elif call.outcome == "possibly_paid":
            video.possibly_rows[stage] += 1
    made = {(c.stage, c.segment, (c.details or {}).get("part"))
            for c in store.calls(job_id) if c.outcome == "ok"}
    video.artefacts = len(made)
    return video


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=3)
    parser.add_argument("--kills", type=int, default=3, help="in all, spread over the videos")
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--late-answers", type=int, default=1, help="per video and provider")
    parser.add_argument("--clip-seconds", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    per_video = Counter(rng.randrange(args.videos) for _ in range(args.kills))

    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (tempfile.TemporaryDirectory(prefix="videobot-faults-") as folder,
          prefect_database("sqlite", Path(folder)) as database,
          FakeOpenAI(fault_rate=args.fault_rate, seed=args.seed) as openai,
          FakeRunway() as runway):
        data = Path(folder) / "data"
        runway.fault_rate = args.fault_rate
        runway.seed(args.seed)
        runway.task_seconds = {"video": args.clip_seconds}
        prefect = PrefectServer(database, Path(folder) / "prefect", Path(folder) / "server.log")
        url = prefect.start()
        served = Server(url, env={
            "DATA_DIR": str(data), "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(data / "prefect-results"),
            "SCRIPT_PROVIDER": "openai", "IMAGE_PROVIDER": "openai", "TTS_PROVIDER": "openai",
            "VIDEO_PROVIDER": "runway", "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_BASE_URL": openai.base_url, "RUNWAY_API_KEY": FakeRunway.API_KEY,
            "RUNWAYML_BASE_URL": runway.url, "RUNWAY_POLL_SECONDS": "0.3",
            "RUNWAY_CONCURRENCY": "10", "OPENAI_CONCURRENCY": "10",
            # Enough attempts that 30% faults rarely fail a call for good; short waits.
            "PROVIDER_ATTEMPTS": "8", "PROVIDER_BACKOFF_SECONDS": "0.05",
            "PROVIDER_BACKOFF_MAX_SECONDS": "0.3", "PROVIDER_READ_TIMEOUT_SECONDS": "5",
            "PROVIDER_QUICK_READ_TIMEOUT_SECONDS": "3",
        })
        os.environ["DATA_DIR"] = str(data)
        try:
            with temporary_settings({PREFECT_API_URL: url}):
                served.start()
                store = JobStore(Database(f"sqlite:///{data / 'videobot.db'}"))
                print(f"{args.videos} videos, {args.fault_rate:.0%} of provider requests "
                      f"failing, {args.late_answers} late answer(s) per video and provider, "
                      f"{args.kills} kill -9s of the flow-run process; {os.cpu_count()} CPUs",
                      flush=True)
                videos = []
                for number in range(args.videos):
                    video = make_video(store, served, openai, runway,
                                       f"How volcanoes work, part {number + 1}",
                                       per_video[number], args.late_answers, rng)
                    videos.append(video)
                    print(f"  video {number + 1}: {video.status} in {video.seconds:.0f} s, "
                          f"{video.kills} kills; billed {dict(sorted(video.billed.items()))}; "
                          f"ledger paid {dict(sorted(video.paid_rows.items()))}, possibly "
                          f"paid {dict(sorted(video.possibly_rows.items()))}; "
                          f"{video.discrepancies()} discrepancies", flush=True)
        finally:
            served.kill()
            prefect.stop()
    report(videos)


def report(videos: list[Video]) -> None:
    done = sum(v.status == "delivered" for v in videos)
    billed = sum(sum(v.billed.values()) for v in videos)
    artefacts = sum(v.artefacts for v in videos)
    paid = sum(sum(v.paid_rows.values()) for v in videos)
    possibly = sum(sum(v.possibly_rows.values()) for v in videos)
    print(f"\ncompleted      {done}/{len(videos)}")
    print(f"kills          {sum(v.kills for v in videos)}")
    print(f"paid calls     {billed} for {artefacts} artefacts: "
          f"{billed / max(artefacts, 1):.2f} per artefact (target 1.00)")
    print(f"ledger         {paid} rows paid, {possibly} possibly paid")
    print(f"discrepancies  {sum(v.discrepancies() for v in videos)} (target 0)")


if __name__ == "__main__":
    main()
