"""The bot under load: how fast a button press resumes a run, and 50 people writing at once.

Run: .venv/bin/python benchmarks/bot.py [--presses 20] [--people 50] [--prefect-db postgres]

Starts videobot's Prefect server (SQLite by default, or a fresh PostgreSQL database at
TEST_POSTGRES_URL's server, dropped after; temporary PREFECT_HOME), a fake Telegram Bot API on
127.0.0.1, `python -m deployments.serve` and `python -m bot` (long polling), all with the
offline providers and a temporary DATA_DIR.

Resume latency: --presses people each send a prompt; once every run is suspended at its script
gate, each gate's Cancel button is pressed (cancel takes the same path as any decision:
ownership and gate checks, the claim on the approval row, the resume; and the resumed run
ends at once instead of making images). The first half is pressed one at a time, each once the
run resumed before has ended ("quiet"); the second half 0.3 s apart, while the runs resumed
before start their processes on the same two cores ("busy"). Three clocks:
  bot       the bot's own log: callback handler entered -> the run resumed
  outside   the fake Telegram: update handed to getUpdates -> answerCallbackQuery received
            (includes the long-poll hand-over, the dispatch and the answer itself)
  prefect   the bot's own log: the part of `bot` spent resuming (the gate service's exchange
            with Prefect: the run's pause read, the resume)

Burst: the serving process is stopped (runs stay queued on the server: this measures the bot,
not video making), then --people people each send /start, a prompt and a second prompt at the
same moment, and the first five send four more prompts (six requests that count against the
limit of five a minute: the sixth must be refused; /start, /help and other read-only commands
do not count). Checked: every message answered, one job per person, the second prompts refused,
exactly five rate-limit refusals.

Queue move: the burst's jobs stay queued; one person cancels, and the time until each status
message behind theirs shows its place one higher is measured from the cancel's reply (the bot
tells a queue's front first, 20 messages a second).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="videobot-bot-bench-"))
# Before anything reads settings: a private data dir, app database and quiet Prefect.
os.environ["DATA_DIR"] = str(TMP / "data")
os.environ.pop("DATABASE_URL", None)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"

from prefect import get_client  # noqa: E402
from prefect.settings import PREFECT_API_URL, temporary_settings  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from tasks.runtime import runtime  # noqa: E402
from tests.bot_fixtures import BotProcess, telegram_env  # noqa: E402
from tests.fakes.telegram_server import FakeTelegram  # noqa: E402
from tests.helpers import paused_at, wait_for  # noqa: E402
from tests.serving import PrefectServer, Server, prefect_database  # noqa: E402
from videobot.db.models import VideoJob  # noqa: E402

DECISION_LOG = re.compile(r"Decision cancel at script-1 for job \w+: done=True in ([\d.]+) ms")
# The gate service's part of it: the exchange with Prefect (read the pause, resume).
RESUME_LOG = re.compile(r"Resume ([\d.]+) ms")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def describe(name: str, values: list[float]) -> str:
    return (
        f"{name:8s} n={len(values)}  p50 {percentile(values, 0.5):6.1f} ms  "
        f"p95 {percentile(values, 0.95):6.1f} ms  max {max(values):6.1f} ms"
    )


def jobs_of(user: int) -> list[VideoJob]:
    with runtime().store.db.session() as s:
        return list(s.scalars(select(VideoJob).where(VideoJob.user_id == f"tg:{user}")))


def measure_presses(tg: FakeTelegram, bot: BotProcess, count: int) -> None:
    people = list(range(10_001, 10_001 + count))
    started = time.monotonic()
    for user in people:
        tg.write(user, f"How lighthouses work, part {user}")
    gates = {}
    for user in people:
        gates[user] = tg.wait_for_message(
            user, lambda m: bool(m.reply_markup) and "Script" in m.text, timeout=600
        )
        wait_for(paused_at(jobs_of(user)[0].id, "script", 1), timeout=120, what="suspension")
    print(f"{count} runs suspended at the script gate after {time.monotonic() - started:.0f} s")
    # Quiet: each press once the previous cancelled run has ended. Busy: 0.3 s apart, while
    # the runs resumed before are still starting their processes (two cores, shared).
    half = len(people) // 2
    results: dict[str, tuple[list[float], list[float], list[float]]] = {}
    for label, group in (("quiet", people[:half]), ("busy", people[half:])):
        inside_before = len(DECISION_LOG.findall(bot.output()))
        resumes_before = len(RESUME_LOG.findall(bot.output()))
        outside = []
        for user in group:
            callback = tg.press(user, gates[user], gates[user].button("Cancel"))
            answer = tg.wait_for_answer(callback, timeout=60)
            assert answer["text"] == "✖️ Cancelled.", answer
            outside.append((answer["at"] - tg.delivered[tg.pressed[callback]]) * 1000)
            if label == "quiet":
                wait_for(
                    lambda u=user: run_ended(jobs_of(u)[0].flow_run_id),
                    timeout=120,
                    what="the cancelled run to end",
                )
            else:
                time.sleep(0.3)
        # Every decision's line, the slowest included (a fixed wait would leave those out).
        def all_logged(wanted: int = inside_before + len(group)) -> bool:
            return len(DECISION_LOG.findall(bot.output())) >= wanted

        wait_for(all_logged, timeout=120, what="every decision in the bot's log")
        inside = [float(ms) for ms in DECISION_LOG.findall(bot.output())[inside_before:]]
        resumes = [float(ms) for ms in RESUME_LOG.findall(bot.output())[resumes_before:]]
        results[label] = (inside, outside, resumes)
    print("callback update -> the run resumed:")
    for label, (inside, outside, resumes) in results.items():
        print(f"  {label}: " + describe("bot", inside))
        print(f"  {label}: " + describe("outside", outside))
        print(f"  {label}: " + describe("prefect", resumes))
        print(f"  {label}: each (bot, ms): " + " ".join(f"{ms:.0f}" for ms in inside))


def run_ended(flow_run_id: object) -> bool:
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state  # type: ignore[arg-type]
    return bool(state and state.is_final())


def measure_burst(tg: FakeTelegram, people_count: int) -> None:
    people = list(range(20_001, 20_001 + people_count))
    noisy = people[:5]
    expected = {user: 3 + (4 if user in noisy else 0) for user in people}
    started = time.monotonic()
    for user in people:
        tg.write(user, "/start")
        tg.write(user, f"Why the sky is blue, asks {user}")
        tg.write(user, "And another one")
        for _ in range(4 if user in noisy else 0):
            tg.write(user, "And one more")

    def replies(user: int) -> list[str]:
        return [m.text for m in tg.chat_messages(user) if not m.text.startswith("🎬")]

    wait_for(
        lambda: all(len(replies(u)) >= expected[u] for u in people),
        timeout=300,
        what="every message answered",
    )
    elapsed = time.monotonic() - started
    time.sleep(2)  # anything answered twice would show up now
    answers = {u: replies(u) for u in people}
    lost = [u for u in people if len(answers[u]) != expected[u]]

    def count(user: int, text: str) -> int:
        return sum(1 for answer in answers[user] if text in answer)

    accepted = [u for u in people if count(u, "Got it!") == 1 and len(jobs_of(u)) == 1]
    quiet = [u for u in people if u not in noisy]
    refused = [u for u in quiet if count(u, "already have a video") == 1]
    # Messages sent at once are handled concurrently: which of a noisy person's six requests
    # is the one refused is not fixed, but exactly one is.
    limited = [u for u in noisy if count(u, "Please wait") == 1]
    nobody_else_limited = all(count(u, "Please wait") == 0 for u in quiet)
    with runtime().store.db.session() as s:
        burst_jobs = s.scalar(
            select(func.count()).select_from(VideoJob).where(VideoJob.user_id.like("tg:2%"))
        )
    print(
        f"{people_count} people, {sum(expected.values())} messages at once: all answered in "
        f"{elapsed:.1f} s"
    )
    print(
        f"  every message answered once: {people_count - len(lost)}/{people_count} people"
        f"{' (not: ' + str(lost[:5]) + ')' if lost else ''}"
    )
    print(
        f"  jobs created {burst_jobs}, one per person: {len(accepted)}/{people_count}; "
        f"second prompt refused (one job at a time): {len(refused)}/{len(quiet)}"
    )
    print(
        f"  six requests in a minute, one refused: {len(limited)}/{len(noisy)}; "
        f"nobody else refused: {nobody_else_limited}"
    )


def measure_queue_move(tg: FakeTelegram, people_count: int) -> None:
    """The burst's jobs wait in the queue (nothing serves them); one person cancels, and every
    status message behind theirs should move up one place."""
    people = list(range(20_001, 20_001 + people_count))
    place = re.compile(r"Position in the queue: (\d+)")

    def shown(user: int) -> int | None:
        for message in tg.chat_messages(user):
            if message.text.startswith("🎬") and (found := place.search(message.text)):
                return int(found.group(1))
        return None

    leaving = people[5]  # the first five have used their requests for the minute
    places = {user: shown(user) for user in people}
    gone = places.pop(leaving)
    assert gone is not None, "the cancelling person's job is queued"
    behind = {user: was for user, was in places.items() if was is not None and was > gone}
    tg.write(leaving, "/cancel")
    tg.wait_for_message(leaving, lambda m: "is cancelled" in m.text, timeout=60)
    cancelled_at = time.monotonic()
    moved: dict[int, float] = {}
    while len(moved) < len(behind) and time.monotonic() < cancelled_at + 60:
        for user, was in behind.items():
            if user not in moved and shown(user) == was - 1:
                moved[user] = time.monotonic() - cancelled_at
        time.sleep(0.05)
    ahead_kept = all(shown(user) == was for user, was in places.items() if was and was < gone)
    print(
        f"queue moves up one place behind place {gone}: {len(moved)}/{len(behind)} status "
        f"messages edited, those ahead unchanged: {ahead_kept}"
    )
    if moved:
        print("  " + describe("edited after the cancel", [v * 1000 for v in moved.values()]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presses", type=int, default=20, help="gate presses to time")
    parser.add_argument("--people", type=int, default=50, help="people writing at once")
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
    bot: BotProcess | None = None
    try:
        url = prefect.start()
        with FakeTelegram() as tg, temporary_settings({PREFECT_API_URL: url}):
            env = {**telegram_env(tg), "MAX_CONCURRENT_JOBS": "5"}
            server = Server(url, env=env)
            server.start()
            bot = BotProcess(url, env, TMP / "bot.log").start()
            measure_presses(tg, bot, args.presses)
            server.kill()
            measure_burst(tg, args.people)
            measure_queue_move(tg, args.people)
            bot.stop()  # before the fake Bot API goes away
    finally:
        if bot is not None:
            bot.stop()
        if server is not None:
            server.kill()
        prefect.stop()
        if not args.keep:
            shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
