"""Resume latency at the approval gates, and the memory of runs waiting at them, when served.

Run: .venv/bin/python benchmarks/gates.py [--jobs 4] [--waiting 20] [--prefect-db postgres]

Starts videobot's Prefect server in a temporary PREFECT_HOME, on SQLite (the default, as on one
machine) or on a fresh PostgreSQL database at TEST_POSTGRES_URL's server (dropped after), a
temporary DATA_DIR and `python -m deployments.serve` (PREFECT_RUNNER_POLL_FREQUENCY=1), all
with the offline providers.

Latency: each of --jobs jobs (one after another) is approved at its script, images and clips
gates. Measured from `resume_flow_run` returning (this process's clock) to the start_time of
the next stage's first task run, read from the Prefect API: `plan-segments` after the script
gate (and `image-scene-01` for reference), `write-motion` after images, `narration-*` after
clips. start_time is stamped by the flow process when the task starts, so the API's delay in
showing it does not count. The breakdown comes from the flow run's state history:
  poll     resume returned -> Pending     (the runner noticing the Resuming run)
  submit   Pending -> Submitting          (the runner preparing the process)
  process  Submitting -> Running          (spawning Python, importing the flow, engine start)
  engine   Running -> first task run      (flow start, first job-slot acquisition)
  replay   first task -> next stage's     (recorded steps replayed, a job slot taken for each)

Memory: --waiting jobs are started (five at a time) and left suspended at the script gate;
then the serving process's VmRSS (/proc/<pid>/status) and the RSS summed over its process group
(also sampled every 0.2 s for the whole run, for its peak).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="videobot-gates-"))
# Before anything reads settings: a private data dir, app database and quiet Prefect.
os.environ["DATA_DIR"] = str(TMP / "data")
os.environ.pop("DATABASE_URL", None)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ["VIDEOBOT_NO_PROMPT"] = "1"

from prefect import get_client  # noqa: E402
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId  # noqa: E402
from prefect.client.schemas.sorting import TaskRunSort  # noqa: E402
from prefect.deployments import run_deployment  # noqa: E402
from prefect.settings import PREFECT_API_URL, temporary_settings  # noqa: E402

from tasks.runtime import runtime  # noqa: E402
from tests.helpers import new_job, paused_at, wait_for  # noqa: E402
from tests.serving import PrefectServer, Server, prefect_database, resume  # noqa: E402
from videobot.decisions import Decision  # noqa: E402

NEXT_TASK = {"script": "plan-segments", "images": "write-motion", "clips": "narration-"}
STEPS = ("poll", "submit", "process", "engine", "replay")


def rss_kb(pid: int) -> int:
    """VmRSS of one process in kB (0 once it has gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)


def group_pids(pgid: int) -> list[int]:
    """Every live process whose process group is `pgid` (/proc/<pid>/stat, field 5)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) == pgid:
                found.append(int(stat.parent.name))
    return found


def group_rss_kb(pgid: int) -> int:
    return sum(rss_kb(pid) for pid in group_pids(pgid))


class PeakSampler(threading.Thread):
    """The largest process-group RSS and process count seen, sampled every 0.2 s."""

    def __init__(self, pgid: int) -> None:
        super().__init__(daemon=True)
        self.pgid, self.peak_kb, self.peak_procs, self.stop = pgid, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.peak_kb = max(self.peak_kb, group_rss_kb(self.pgid))
            self.peak_procs = max(self.peak_procs, len(group_pids(self.pgid)))


def _task_runs(run_id: object) -> list:  # type: ignore[type-arg]
    with get_client(sync_client=True) as client:
        return client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )


def _first_start(run_id: object, prefix: str, after: datetime) -> datetime | None:
    starts = [
        r.start_time
        for r in _task_runs(run_id)
        if r.name.startswith(prefix) and r.start_time and r.start_time > after
    ]
    return min(starts) if starts else None


def _breakdown(run_id: object, resumed: datetime, task_start: datetime) -> dict[str, float]:
    with get_client(sync_client=True) as client:
        states = sorted(client.read_flow_run_states(run_id), key=lambda s: s.timestamp)
    last_resuming = max(i for i, s in enumerate(states) if s.name == "Resuming")
    after = states[last_resuming:]

    def at(name: str) -> datetime:
        return next(s.timestamp for s in after if s.name == name)

    first_task = _first_start(run_id, "", resumed) or task_start
    marks = [resumed, at("Pending"), at("Submitting"), at("Running"), first_task, task_start]
    spans = zip(STEPS, pairwise(marks), strict=True)
    return {step: (b - a).total_seconds() for step, (a, b) in spans}


def _resume_once(server: Server, job_id: UUID, stage: str) -> dict[str, float | str]:
    """Approve the job at `stage` once it waits there with no process (as a person answers:
    after reading the gate's message); time until the next stage starts."""
    prefix = NEXT_TASK[stage]
    wait_for(paused_at(job_id, stage, 1), timeout=300, what=f"the {stage} gate")
    paused = time.monotonic()
    # The runner takes a resumed run up only once the process that suspended it has exited
    # (until then the run counts as being submitted), so an answer within that second would
    # wait for the exit too; how long the exit takes is reported on its own.
    wait_for(lambda: server.children() == [], timeout=60, what="the run's process to exit")
    exited = time.monotonic() - paused
    run_id = runtime().store.job(job_id).flow_run_id
    called = time.monotonic()
    resume(run_id, Decision.make("approve", "benchmark"))
    resumed, call_s = datetime.now(UTC), time.monotonic() - called
    start = wait_for(
        lambda: _first_start(run_id, prefix, resumed),
        timeout=300,
        what=f"{prefix} after the {stage} gate",
    )
    record: dict[str, float | str] = {
        "gate": stage,
        "call": call_s,
        "exit": exited,
        "latency": (start - resumed).total_seconds(),
        **_breakdown(run_id, resumed, start),
    }
    if stage == "script":
        image = wait_for(
            lambda: _first_start(run_id, "image-scene", resumed),
            timeout=300,
            what="the first image task",
        )
        record["to_image"] = (image - resumed).total_seconds()
    return record


def measure_latency(server: Server, jobs: int) -> list[dict[str, float | str]]:
    """Approve `jobs` jobs at each gate, one job at a time; one record per resume."""
    store = runtime().store
    records: list[dict[str, float | str]] = []
    for n in range(jobs):
        job_id = new_job(f"How lighthouses work, take {n + 1}")
        run_deployment("make-video/make-video", parameters={"job_id": str(job_id)}, timeout=0)
        for stage in NEXT_TASK:
            record = {"job": n + 1, **_resume_once(server, job_id, stage)}
            parts = ", ".join(f"{key} {float(record[key]):.2f}" for key in ("call", *STEPS))
            print(f"  job {n + 1} {stage:7} latency {record['latency']:5.2f} s  ({parts})")
            records.append(record)
        wait_for(
            lambda job_id=job_id: store.job(job_id).status == "delivered",
            timeout=300,
            what="delivery",
        )
    return records


def report_latency(records: list[dict[str, float | str]]) -> None:
    latencies = sorted(float(r["latency"]) for r in records)
    p95 = latencies[round(0.95 * (len(latencies) - 1))]  # nearest rank
    print(
        f"\nresume -> next stage's first task, {len(latencies)} resumes: "
        f"p50 {statistics.median(latencies):.2f} s, p95 {p95:.2f} s, "
        f"max {max(latencies):.2f} s (target: p50 <= 2 s, p95 <= 3 s)"
    )
    to_image = [float(r["to_image"]) for r in records if "to_image" in r]
    print(
        f"script gate -> first image-scene task: p50 {statistics.median(to_image):.2f} s "
        f"over {len(to_image)}"
    )
    print(
        "where it goes (median s): "
        + ", ".join(
            f"{step} {statistics.median(float(r[step]) for r in records):.2f}" for step in STEPS
        )
        + f"; resume call itself {statistics.median(float(r['call']) for r in records):.2f}"
    )
    exits = sorted(float(r["exit"]) for r in records)
    print(f"a suspended run's process exits (gate shown -> no process): "
          f"p50 {statistics.median(exits):.2f} s, max {max(exits):.2f} s")
    for gate in NEXT_TASK:
        mine = [float(r["latency"]) for r in records if r["gate"] == gate]
        print(f"  after the {gate:7} gate: p50 {statistics.median(mine):.2f} s over {len(mine)}")


def measure_waiting(server: Server, count: int) -> None:
    """Leave `count` runs suspended at the script gate; print the serving side's memory."""
    assert server.proc is not None
    pid = server.proc.pid
    jobs = []
    for batch in range(0, count, 5):
        for i in range(batch, min(batch + 5, count)):
            jobs.append(new_job(f"Why the sea is salty, {i + 1}"))
            run_deployment("make-video/make-video", parameters={"job_id": str(jobs[-1])}, timeout=0)
        for job_id in jobs:
            wait_for(paused_at(job_id, "script", 1), timeout=300, what="the script gate")
    wait_for(lambda: server.children() == [], timeout=60, what="the run processes to exit")
    with get_client(sync_client=True) as client:
        names = [client.read_flow_run(runtime().store.job(j).flow_run_id).state_name for j in jobs]
    pids = group_pids(pid)
    states = ", ".join(f"{names.count(n)} {n}" for n in sorted(set(map(str, names))))
    print(f"\n{len(jobs)} runs waiting at the script gate ({states})")
    print(
        f"serving process RSS {rss_kb(pid) / 1024:.0f} MB (target < 400 MB); process group: "
        f"{len(pids)} processes, {group_rss_kb(pid) / 1024:.0f} MB RSS in all "
        f"(target: no process per waiting run)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=4, help="jobs for latency (3 resumes each)")
    parser.add_argument("--waiting", type=int, default=20, help="runs left waiting at a gate")
    parser.add_argument("--prefect-db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print(
        f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start, Prefect on "
        f"{args.prefect_db}, temporary dir {TMP}"
    )
    with prefect_database(args.prefect_db, TMP) as database_url:
        run(args, database_url)


def run(args: argparse.Namespace, database_url: str) -> None:
    prefect = PrefectServer(database_url, TMP / "prefect-home", TMP / "prefect-server.log")
    server: Server | None = None
    try:
        t = time.monotonic()
        url = prefect.start()
        print(f"prefect server up in {time.monotonic() - t:.1f} s at {url}")
        with temporary_settings({PREFECT_API_URL: url}):
            server = Server(url)
            t = time.monotonic()
            server.start()
            assert server.proc is not None
            pid = server.proc.pid
            idle = rss_kb(pid) / 1024
            print(
                f"serving in {time.monotonic() - t:.1f} s; idle serving process RSS {idle:.0f} MB"
            )
            sampler = PeakSampler(pid)
            sampler.start()
            records = measure_latency(server, args.jobs)
            report_latency(records)
            print(f"serving process RSS after {args.jobs} videos {rss_kb(pid) / 1024:.0f} MB")
            measure_waiting(server, args.waiting)
            sampler.stop.set()
            print(
                f"peak over the whole run, process group: {sampler.peak_kb / 1024:.0f} MB RSS, "
                f"{sampler.peak_procs} processes (runs working at once have one each)"
            )
    finally:
        if server is not None:
            server.kill()
        prefect.stop()
        if not args.keep:
            shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
