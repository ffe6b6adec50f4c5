"""`videobot up`: the Prefect server, the served deployments (and the bot), in one command."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from orchestration.prefect_server import healthy, server_command, server_environment
from videobot.settings import Settings

SLOT_WAIT_SETTING = "PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS"
SLOT_WAIT_SECONDS = "0.5"
LEASE_STORAGE_SETTING = "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE"
FILE_LEASES = "prefect.server.concurrency.lease_storage.filesystem"
REPOSSESSOR_SETTING = "PREFECT_SERVER_SERVICES_REPOSSESSOR_LOOP_SECONDS"
REPOSSESSOR_SECONDS = "5"  # expired leases are looked for every 5 s
# Prefect's server writes each task-run state change in a transaction of its own (batch size
# 1) and persists events 20 at a time. On SQLite, one writer at a time, those writes meet the
# slot requests of the tasks they record: a slot request reads, then writes, and a write
# committed in between makes it fail with "database is locked" (503), which Prefect's client
# asks again only 2 s later (tests/test_prefect_server.py). With fewer, larger writes, fewer
# slot requests are refused (benchmarks/providers.py counts them). Task runs show in the UI
# up to a second later.
WRITE_BATCHES = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "50",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "1000",
}

DEFAULT_PORT = 4200


def stack_file(settings: Settings) -> Path:
    return settings.data_dir / "stack.json"


def running_stack_api(settings: Settings) -> str | None:
    """The API of a `videobot up` that is running now, if any."""
    try:
        state = json.loads(stack_file(settings).read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    url = str(state["api_url"])
    return url if healthy(url) else None


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def run_stack(settings: Settings, port: int = DEFAULT_PORT) -> int:
    """Start everything, print where it is, and stop it all cleanly on Ctrl-C."""
    if running_stack_api(settings):
        print("videobot: the stack is already up", file=sys.stderr)
        return 2
    if not _free(port):
        print(f"videobot: port {port} is taken (use --port)", file=sys.stderr)
        return 2
    # Ctrl-C and a plain `kill` both stop everything (a background start may ignore SIGINT).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    api_url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    # A call denied a provider slot sleeps for the server's Retry-After (by default up to
    # 30 s) while the slot may free within a second: the server's cap on it is kept short.
    env.setdefault(SLOT_WAIT_SETTING, SLOT_WAIT_SECONDS)
    # Slot leases on disk (in PREFECT_HOME) outlive a server restart, so a holder that died
    # meanwhile still frees its slot when its lease expires; in memory (Prefect's default)
    # they are lost with the server and the slots stay taken for good. On disk, not in
    # Redis (prefect-redis): leases belong to the Prefect server, and videobot runs one
    # (workers on other machines ask it for slots), whose own disk outlives its restarts;
    # Redis lease storage is for several server replicas sharing their leases.
    env.setdefault(LEASE_STORAGE_SETTING, FILE_LEASES)
    env.setdefault(REPOSSESSOR_SETTING, REPOSSESSOR_SECONDS)
    for name, value in WRITE_BATCHES.items():
        env.setdefault(name, value)
    database = database_shown(env)
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        procs.append(
            (
                "prefect server",
                # `prefect server start`'s app, refused SQLite writes carried out again inside.
                subprocess.Popen(server_command(port), env=server_environment(env),
                                 start_new_session=True),
            )
        )
        deadline = time.monotonic() + 90
        while not healthy(api_url):
            if time.monotonic() > deadline or procs[0][1].poll() is not None:
                print("videobot: the Prefect server did not start", file=sys.stderr)
                return 1
            time.sleep(0.5)
        procs.append(
            (
                "deployments",
                subprocess.Popen(
                    # Every job slot of this server is held by a run these deployments start.
                    [sys.executable, "-m", "deployments.serve", "--reconcile-slots"],
                    env=env,
                    start_new_session=True,
                ),
            )
        )
        # Announce (and let `videobot make` submit) only once the deployments exist.
        served = f"{api_url}/deployments/name/make-video/make-video"
        while not healthy(served, path=""):
            if time.monotonic() > deadline + 60 or procs[-1][1].poll() is not None:
                print("videobot: the deployments were not served", file=sys.stderr)
                return 1
            time.sleep(0.5)
        if settings.telegram_bot_token is not None:
            # The bot triggers the served deployment, so it starts once that exists.
            procs.append((BOT, _start_bot(env)))
        stack_file(settings).parent.mkdir(parents=True, exist_ok=True)
        stack_file(settings).write_text(json.dumps({"pid": os.getpid(), "api_url": api_url}))
        print(
            f"videobot is up. Prefect UI: http://127.0.0.1:{port} · database: {database}\n"
            "`videobot make` now submits to the make-video deployment. Ctrl-C stops it all.",
            flush=True,
        )
        dead = _supervise(procs, env)
        print(f"videobot: {dead} stopped; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nvideobot: stopping…", flush=True)
        return 0
    finally:
        stack_file(settings).unlink(missing_ok=True)
        for _, proc in reversed(procs):
            _stop(proc)


BOT = "telegram bot"
BOT_BACKOFF_SECONDS = (2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


def _supervise(procs: list[tuple[str, subprocess.Popen[bytes]]], env: dict[str, str]) -> str:
    """Watch the processes until the Prefect server or the deployments stop; returns which.

    The bot fails alone: a Telegram Bot API it cannot reach (or a bad token) stops the bot,
    not the server and the deployments, whose terminal jobs carry on. It is started again
    after a growing pause; one that exits with a configuration error (2) stays off."""
    failures, restart_at = 0, 0.0
    while True:
        for i, (name, proc) in enumerate(procs):
            code = proc.poll()
            if code is None:
                continue
            if name != BOT:
                return name
            if code == 2:
                print("videobot: the telegram bot is off until its settings are fixed",
                      file=sys.stderr, flush=True)
                procs.pop(i)
                break
            if restart_at == 0.0:
                pause = BOT_BACKOFF_SECONDS[min(failures, len(BOT_BACKOFF_SECONDS) - 1)]
                restart_at = time.monotonic() + pause
                print(f"videobot: the telegram bot stopped; starting it again in {pause:.0f} s",
                      file=sys.stderr, flush=True)
            elif time.monotonic() >= restart_at:
                failures, restart_at = failures + 1, 0.0
                procs[i] = (BOT, _start_bot(env))
        time.sleep(0.5)


def _start_bot(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bot"], env=env, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT the process group, then SIGKILL it if it has not stopped within 15 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    except ProcessLookupError:
        pass


def database_shown(env: dict[str, str]) -> str:
    """Where the Prefect server keeps its runs, as `up` announces it, without a password."""
    url = env.get("PREFECT_API_DATABASE_CONNECTION_URL")
    if url:
        return make_url(url).render_as_string(hide_password=True)
    return f"SQLite in {env.get('PREFECT_HOME') or '~/.prefect'}"
