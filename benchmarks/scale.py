"""Jobs per minute on one and on two workers, and how soon a run lost with its worker runs again.

Run: .venv/bin/python benchmarks/scale.py [--jobs 1,5,10] [--job-cap 5] [--runway-cap 10]
         [--image-seconds 8] [--clip-seconds 30] [--speech-seconds 3] [--deaths 3]
         [--lost-run-seconds 45]

Everything runs on 127.0.0.1, as tests/test_workers.py starts it: videobot's Prefect server and
the app database on PostgreSQL, media in an S3-compatible bucket (moto's server), and
`videobot worker` processes on the `videobot` process pool, deployed from prefect.yaml. The
providers are fakes of fixed latency: Runway (tests/fakes/runway_server.py, through the real
SDK) makes the pictures, clips and narrations, each task taking --image-seconds,
--clip-seconds or --speech-seconds; the script is the offline writer's. Captions and music
are off, so the assembly joins the clips without re-encoding. The default latencies are of the
order Runway's take for a picture, a 5-second clip and a narration, so that the caps, not this
machine, bound the batch. With latencies of a second or so (--image-seconds 1 --clip-seconds 3
--speech-seconds 1) a job is bound by CPU time instead (about 33 CPU seconds a job on the whole
pool, 20 of them in the flow-run process and its ffmpeg runs), and on a 2-core machine five
jobs at once take about three times as long as one: the `cores` column then shows every core
busy. A running Runway task is polled every second (5 s in production, for
renders of a minute or so).

For each number of workers (1, then 2) and each N in --jobs, N auto-approved jobs are
submitted at once; the time runs from the first submission to the last delivery.

  jobs/min  N / that time;
  ideal     N / the shortest time the caps allow: the larger of
              waves x T1   (ceil(N / job cap) waves of one job's time alone, T1, measured as
                            the N = 1 row of the same worker count), and
              N x S / C    (S: one job's Runway task-seconds, 10 x image + 10 x clip + 3 x
                            speech; C: the Runway cap);
  ratio     jobs/min / ideal (1.00 is the ideal; the target is at least 0.80);
  cpu s/job CPU seconds the whole pool (servers, workers, flow runs, ffmpeg) used per job;
  cores     those CPU seconds over the batch's time: how many cores the pool kept busy.
Under each row, where the batch's time went as the fake Runway saw it: the head before its
first task, the span from then to the last task's end with the share of the cap's slots that
ran tasks, and the tail after it (the assembly and the delivery).

Then, --deaths times: one job is submitted to two workers; once its clip tasks run, the
worker running it is killed with every process under it (kill -9, a lost machine); printed is
the time from the kill until the run is Running on the other worker (target: at most 60 s),
and the job's end with the number of clip tasks Runway made for it (ten: none paid twice). The
kill comes once all ten clip tasks are recorded in the write-ahead journal.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from uuid import UUID

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from orchestration.liveness import BEAT_SECONDS  # noqa: E402
from tests.helpers import wait_for  # noqa: E402
from tests.pool import Pool, making_clips, pool_services, running_on  # noqa: E402
from videobot.settings import LOST_RUN_SECONDS  # noqa: E402


def cpu_seconds() -> float:
    """CPU time used so far by this process and every process under it (the servers, the
    workers, and through the workers the flow runs and their ffmpeg runs once reaped)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0, [os.getpid()]
    while todo:
        pid = todo.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        todo += [int(k) for k in kids]
    return total / tick


def _ended(pool: Pool, jobs: list[UUID]) -> bool:
    return all(pool.store.job(j).status in ("delivered", "failed") for j in jobs)


def batch(pool: Pool, n: int, label: str, cap: int) -> tuple[float, float, str]:
    """Seconds from submitting `n` jobs at once to the last one ending, the CPU seconds the
    whole pool used meanwhile, and where the time went on Runway (`runway_use`)."""
    started, cpu = time.monotonic(), cpu_seconds()
    jobs = [pool.submit(f"{label} {i}")[0] for i in range(n)]
    wait_for(lambda: _ended(pool, jobs), timeout=60 * 30, what=f"{n} jobs")
    ended, cpu = time.monotonic(), cpu_seconds() - cpu
    failed = [j for j in jobs if pool.store.job(j).status != "delivered"]
    if failed:
        print(f"  ({len(failed)} of {n} jobs failed: {pool.store.job(failed[0]).error})")
    return ended - started, cpu, runway_use(pool, started, ended, cap)


def runway_use(pool: Pool, started: float, ended: float, cap: int) -> str:
    """The batch's time split by what the fake Runway saw (its clock is this process's):
    head, submission to the first task; span, the first task's start to the last one's end,
    with the share of the cap's task-seconds spent running tasks (the rest is slots held
    while a finished task waits for its poll and download, or slots standing idle); tail,
    the last task's end to the last delivery."""
    tasks = [t for t in pool.runway.created() if started <= t.started <= ended]
    if not tasks:
        return "no Runway task"
    first = min(t.started for t in tasks)
    last = max(t.started + t.run_seconds for t in tasks)
    busy = sum(t.run_seconds for t in tasks) / (cap * (last - first))
    return (f"head {first - started:.1f} s, span {last - first:.1f} s ({busy:.0%} of the "
            f"cap running tasks), tail {ended - last:.1f} s")


def _moments(pool: Pool, run: UUID, since: float) -> str:
    """When the lost run was scheduled again and running (its states), in seconds after
    the kill (`since`, a wall-clock time)."""
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: pool.api_url}), get_client(sync_client=True) as c:
        states = c.read_flow_run_states(run)
    seen: dict[str, float] = {}
    for state in states:
        at = state.timestamp.timestamp() - since
        if at > 0 and state.name not in seen:
            seen[state.name] = at
    return ", ".join(f"{name} +{at:.1f} s" for name, at in seen.items())


def death(pool: Pool, label: str) -> tuple[float, str]:
    """Kill the worker running a job mid-clips; seconds until its run runs on the other one."""
    made_before = len(pool.runway.created("video"))
    job, run = pool.submit(label)
    _, pid = wait_for(lambda: making_clips(pool, {job: run}), timeout=600, what="clips")
    killed = next(w for w in pool.workers if w.owns(pid))
    survivor = next(w for w in pool.workers if w is not killed)
    killed_at, wall = time.monotonic(), time.time()
    killed.kill_machine()
    wait_for(lambda: running_on(pool, run, survivor), timeout=600, what="the run again")
    back = time.monotonic() - killed_at
    print(f"  after the kill: {_moments(pool, run, wall)}", flush=True)
    wait_for(lambda: _ended(pool, [job]), timeout=600, what="the job")
    pool.workers.remove(killed)
    tasks = len(pool.runway.created("video")) - made_before
    return back, f"{pool.store.job(job).status}, {tasks} clip tasks made on Runway"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", default="1,5,10")
    parser.add_argument("--job-cap", type=int, default=5)
    parser.add_argument("--runway-cap", type=int, default=10)
    parser.add_argument("--image-seconds", type=float, default=8.0)
    parser.add_argument("--clip-seconds", type=float, default=30.0)
    parser.add_argument("--speech-seconds", type=float, default=3.0)
    parser.add_argument("--deaths", type=int, default=3)
    parser.add_argument("--lost-run-seconds", default=str(LOST_RUN_SECONDS))
    args = parser.parse_args()
    counts = [int(n) for n in args.jobs.split(",") if n]
    task_seconds = 10 * args.image_seconds + 10 * args.clip_seconds + 3 * args.speech_seconds
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"

    with (
        tempfile.TemporaryDirectory(prefix="scale-bench-") as folder,
        pool_services(
            Path(folder), MAX_CONCURRENT_JOBS=str(args.job_cap),
            RUNWAY_CONCURRENCY=str(args.runway_cap), IMAGE_PROVIDER="runway",
            TTS_PROVIDER="runway", CAPTIONS="false", LOST_RUN_SECONDS=args.lost_run_seconds,
            RUNWAY_POLL_SECONDS="1",
        ) as pool,
    ):
        pool.runway.task_seconds = {"image": args.image_seconds, "video": args.clip_seconds,
                                    "speech": args.speech_seconds}
        print(f"job cap {args.job_cap}, Runway cap {args.runway_cap}, one job's Runway work "
              f"{task_seconds:g} task-seconds, {os.cpu_count()} cores", flush=True)
        pool.add_worker("worker-1")
        pool.deploy()
        print(f"{'workers':>7} {'N':>3} {'seconds':>8} {'jobs/min':>9} {'ideal':>7} {'ratio':>6} "
              f"{'cpu s/job':>9} {'cores':>6}", flush=True)
        for workers in (1, 2):
            if workers == 2:
                pool.add_worker("worker-2")
            alone = None
            for n in counts:
                elapsed, cpu, use = batch(pool, n, f"How things scale {workers}-{n}",
                                          args.runway_cap)
                alone = elapsed if n == 1 else alone
                t1 = alone or elapsed
                ideal = max(math.ceil(n / args.job_cap) * t1, n * task_seconds / args.runway_cap)
                rate, best = n / elapsed * 60, n / ideal * 60
                print(f"{workers:>7} {n:>3} {elapsed:>8.1f} {rate:>9.2f} {best:>7.2f} "
                      f"{rate / best:>6.2f} {cpu / n:>9.1f} {cpu / elapsed:>6.2f}", flush=True)
                print(f"{'':>11}Runway: {use}", flush=True)

        pool.runway.task_seconds = {**pool.runway.task_seconds, "video": 8.0}
        backs = []
        for trial in range(args.deaths):
            back, outcome = death(pool, f"How machines fail {trial}")
            backs.append(back)
            print(f"worker death {trial + 1}: run again on the other worker after {back:.1f} s; "
                  f"job {outcome}", flush=True)
            pool.add_worker(f"worker-{trial + 3}")
        if backs:
            print(f"death -> running again: median {statistics.median(backs):.1f} s, "
                  f"max {max(backs):.1f} s (lost after {args.lost_run_seconds} s without a "
                  f"beat; beats every {BEAT_SECONDS} s)")


if __name__ == "__main__":
    main()
