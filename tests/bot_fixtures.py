"""The bot's test stack: the fake Telegram (and OpenAI) servers, the served deployments, and a
real `python -m bot` process, all on 127.0.0.1 against the session's Prefect server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import func, select

from orchestration.runs import api_client
from tasks.runtime import runtime
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram
from tests.helpers import wait_for
from tests.serving import Server
from videobot.db.models import Approval, VideoJob

REPO = Path(__file__).resolve().parents[1]
OPENAI_KEY = "sk-test-" + "b" * 24


def telegram_env(tg: FakeTelegram, openai: FakeOpenAI | None = None) -> dict[str, str]:
    """What the bot and the flow processes need to reach the fakes."""
    env = {"TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.url}
    if openai is not None:  # voice notes are transcribed by the fake OpenAI
        env |= {
            "STT_PROVIDER": "openai",
            "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_BASE_URL": openai.base_url,
        }
    return env


class BotProcess:
    """`python -m bot` in its own process group; its output kept in a log file."""

    def __init__(self, api_url: str, env: Mapping[str, str], log: Path) -> None:
        self.env = {**os.environ, "PREFECT_API_URL": api_url, **env}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready: str = "videobot bot:") -> BotProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                cwd=REPO,
                env=self.env,
                start_new_session=True,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(lambda: self._alive() and ready in self.output(), timeout=60, what="the bot")
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _alive(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"the bot exited ({self.proc.returncode}):\n{self.output()[-3000:]}"
            )
        return True

    def stop(self) -> int | None:
        """SIGTERM, as a service manager would; SIGKILL if it does not stop within 20 s."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            return None


@dataclass
class Stack:
    tg: FakeTelegram
    openai: FakeOpenAI
    server: Server
    bot: BotProcess


def running_stack(
    prefect_server: str, tmp_path_factory: pytest.TempPathFactory, **extra_env: str
) -> Iterator[Stack]:
    """Fakes, served deployments and the bot process; a test module's fixture yields from it."""
    with FakeTelegram() as tg, FakeOpenAI(api_key=OPENAI_KEY) as openai:
        env = {**telegram_env(tg, openai), **extra_env}
        server = Server(prefect_server, env=env)
        server.start()
        bot = BotProcess(prefect_server, env, tmp_path_factory.mktemp("bot") / "bot.log")
        try:
            bot.start()
            yield Stack(tg, openai, server, bot)
        finally:
            bot.stop()
            server.kill()


# Watching the database and Prefect from outside ------------------------------------------------


def job_rows() -> tuple[int, int]:
    """How many jobs and approval rows exist."""
    with runtime().store.db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(VideoJob)) or 0,
            s.scalar(select(func.count()).select_from(Approval)) or 0,
        )


def approvals_of(job_id: UUID) -> list[tuple[str, int, str | None]]:
    return [(a.stage, a.attempt, a.decision) for a in runtime().store.approvals(job_id)]


def run_state(job_id: UUID) -> str | None:
    run_id = runtime().store.job(job_id).flow_run_id
    if run_id is None:
        return None
    with api_client() as client:
        state = client.read_flow_run(run_id).state
    return state.name if state else None


def only_job_of(user: int) -> VideoJob:
    with runtime().store.db.session() as s:
        jobs = list(s.scalars(select(VideoJob).where(VideoJob.user_id == f"tg:{user}")))
    assert len(jobs) == 1, f"person {user} has {len(jobs)} jobs"
    return jobs[0]
